package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/tixgate/tixgate/sim"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

func runSim(ctx context.Context, e *env, cl *cmdline) error {
	out := cl.String("out", "sim-report", "folder for report.html, report.md and result.json")
	speed := cl.Float64("speed", 0, "scenario seconds per second, 1 to 10000 (default: the scenario's)")
	tickets := cl.Int("tickets", 0, "tickets sold, 1 to 1000000 (default: the scenario's), to run a smaller venue")
	pos, err := cl.parseN(1, "one scenario FILE (YAML or TOML), e.g. testdata/scenarios/theatre.yaml")
	if err != nil {
		return err
	}
	s, err := sim.Load(pos[0])
	if err != nil {
		return &exitError{code: 2, err: err} // the scenario, not the run: 1 says the run broke something
	}
	// A flag not given keeps the scenario's value; a given one must be in
	// range (0 is not "the default").
	given := map[string]bool{}
	cl.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if given["speed"] {
		if !(*speed >= sim.MinSpeed && *speed <= sim.MaxSpeed) {
			return usageError("sim: --speed %g: want %g to %g scenario seconds per second (leave it out for the scenario's %g)", *speed, sim.MinSpeed, sim.MaxSpeed, s.Speed)
		}
		s.Speed = *speed
	}
	if given["tickets"] {
		if *tickets < 1 || *tickets > sim.MaxTickets {
			return usageError("sim: --tickets %d: want 1 to %d (leave it out for the scenario's %d)", *tickets, sim.MaxTickets, s.Tickets)
		}
		s.Tickets = *tickets
	}
	if err := s.Check(); err != nil {
		return usageError("sim: %v", err)
	}
	work, err := os.MkdirTemp("", "tixgate-sim-")
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	defer os.RemoveAll(work)
	nodes := s.Gates + s.Sellers + 1
	fmt.Fprintf(e.stderr, "%s: %d gates, %d sellers and central, %d tickets, %v of arrivals at %gx: about %.0f s once the venue is set up\n",
		s.Name, s.Gates, s.Sellers, s.Tickets, s.Arrivals.Window, s.Speed, s.Arrivals.Window.Seconds()/s.Speed)
	if cores := runtime.NumCPU(); nodes > 12*cores {
		fmt.Fprintf(e.stderr, "sim: %d nodes on %d cores: the mesh's timers will run late and the run take longer; a lower --speed keeps its figures honest\n", nodes, cores)
	}
	res, err := sim.Run(ctx, s, sim.Options{Dir: work, Logger: e.log, Progress: e.stderr})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	var md, page bytes.Buffer
	if err := res.Markdown(&md); err != nil {
		return err
	}
	if err := res.HTML(&page); err != nil {
		return err
	}
	js, _ := json.MarshalIndent(res, "", "  ")
	for name, data := range map[string][]byte{"report.md": md.Bytes(), "report.html": page.Bytes(), "result.json": js} {
		if err := keyfile.WriteFileMode(filepath.Join(*out, name), data, 0o644, true); err != nil {
			return err
		}
	}
	e.stdout.Write(md.Bytes())
	fmt.Fprintf(e.stderr, "report: %s\n", filepath.Join(*out, "report.html"))
	if bad := res.Broken(); bad != "" {
		return fmt.Errorf("sim: %s", bad)
	}
	return nil
}
