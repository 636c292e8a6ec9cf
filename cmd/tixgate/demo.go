package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/tixgate/tixgate/sim"
)

// runDemo runs the whole venue of the sim package's demo on this machine
// until Ctrl-C (or SIGTERM): central, four gates and a seller, enrolled
// and synced; with --crowd, attendees and customers keep them busy.
func runDemo(ctx context.Context, e *env, cl *cmdline) error {
	def := sim.DefaultDemoConfig()
	data := cl.String("data", def.Dir, "the demo's data folder, one folder per node, reused by the next run")
	base := cl.Int("base-port", def.BasePort, "central's port; G1-G4 take the next four, S1 the one after (0: free ports)")
	reset := cl.Bool("reset", false, "wipe the demo's data folder first and start a new venue")
	crowd := cl.Float64("crowd", 0, "simulated attendees a second at the gates (a few forged, duplicated or refunded), and customers at the seller; 0: none")
	story := cl.Bool("story", false, "first walk through a night at the venue (a double entry, fakes, a sale, a refund, a network split), saying what happens")
	tickets := cl.Int("tickets", def.Tickets, "tickets central issues to a new venue, a tenth of them VIP")
	if _, err := cl.parseN(0, ""); err != nil {
		return err
	}
	if *crowd < 0 || *crowd > 1000 {
		return usageError("demo: --crowd %g: want 0 to 1000 attendees a second", *crowd)
	}
	cfg := def
	cfg.Dir, cfg.BasePort, cfg.Reset, cfg.Tickets, cfg.Version = *data, *base, *reset, *tickets, version
	cfg.Out = e.stdout
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	d, err := sim.StartDemo(ctx, cfg)
	if err != nil {
		if ctx.Err() != nil {
			// Ctrl-C before the venue was up: a venue left unfinished is
			// started over by the next run.
			fmt.Fprintf(e.stdout, "\nstopped before the venue was up; the next run in %s starts it over\n", *data)
			return nil
		}
		return err
	}
	defer d.Close()
	if *story {
		say := func(format string, a ...any) { fmt.Fprintf(e.stdout, format+"\n", a...) }
		if err := d.Story(ctx, say); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	info := d.Info()
	if err := info.WriteTable(e.stdout); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\nThe venue is open until Ctrl-C.\n")
	if *crowd > 0 {
		fmt.Fprintf(e.stdout, "A crowd of %g attendees a second arrives at the gates; watch %s\n", *crowd, info.Central.Dashboard)
		stats, err := d.Crowd(ctx, *crowd, 10*time.Second, e.stdout)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "crowd: %s\n", stats)
	}
	<-ctx.Done()
	fmt.Fprintf(e.stdout, "\nstopping the venue; it stays in %s for the next run (--reset starts a new one)\n", *data)
	if err := d.Close(); err != nil {
		return fmt.Errorf("demo: stop: %w", err)
	}
	return nil
}
