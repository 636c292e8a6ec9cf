// Command benchtable reads `go test -bench` output on stdin and writes the
// project's benchmark report: a markdown table per area (codes, ledger,
// mesh, edge, central, sales and prices), a row per benchmark and figure,
// with the median of its runs and the 95% confidence interval around it as
// benchstat computes them (golang.org/x/perf's benchmath, assuming nothing
// of the distribution), the bar an issue set for it, and the machine it
// ran on. `make bench` writes it to BENCHMARKS.md.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
)

func main() {
	out := flag.String("o", "", "also write the report to this file")
	flag.Parse()
	var report strings.Builder
	if err := run(os.Stdin, &report, time.Now()); err != nil {
		fmt.Fprintf(os.Stderr, "benchtable: %v\n", err)
		os.Exit(1)
	}
	fmt.Print(report.String())
	if *out != "" {
		if err := os.WriteFile(*out, []byte(report.String()), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "benchtable: %v\n", err)
			os.Exit(1)
		}
	}
}

// figure gathers every sample of one benchmark's unit.
type figure struct {
	pkg, name, unit string
	values          []float64
}

var procSuffix = regexp.MustCompile(`-\d+$`)

// failure is a package whose benchmarks failed, and the last thing it
// said before it did.
type failure struct{ pkg, last string }

var failLine = regexp.MustCompile(`^FAIL\t(\S+)`)

// failures finds the packages go test reported failed in its output.
func failures(text string) []failure {
	var out []failure
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		m := failLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		last := ""
		for j := i - 1; j >= 0 && j > i-6; j-- {
			if t := strings.TrimSpace(lines[j]); t != "" && !strings.HasPrefix(t, "exit status") && t != "FAIL" {
				last = t
				break
			}
		}
		out = append(out, failure{strings.TrimPrefix(m[1], "github.com/tixgate/tixgate/"), last})
	}
	return out
}

func run(in io.Reader, out io.Writer, now time.Time) error {
	raw, err := io.ReadAll(in)
	if err != nil {
		return err
	}
	failed := failures(string(raw))
	in = bytes.NewReader(raw)
	var (
		machine []string
		order   []*figure
		figures = map[string]*figure{}
	)
	r := benchfmt.NewReader(in, "stdin")
	for r.Scan() {
		res, ok := r.Result().(*benchfmt.Result)
		if !ok {
			continue // syntax errors: lines of test output, not results
		}
		for _, k := range []string{"cpu", "cores", "goos", "goarch", "load"} {
			if v := res.GetConfig(k); v != "" && !slices.Contains(machine, k+": "+v) {
				machine = append(machine, k+": "+v)
			}
		}
		pkg := strings.TrimPrefix(res.GetConfig("pkg"), "github.com/tixgate/tixgate/")
		name := procSuffix.ReplaceAllString(strings.TrimPrefix(string(res.Name.Full()), "Benchmark"), "")
		for _, v := range res.Values {
			value, unit := v.Value, v.Unit
			if v.OrigUnit != "" { // as the benchmark printed it
				value, unit = v.OrigValue, v.OrigUnit
			}
			key := pkg + " " + name + " " + unit
			f := figures[key]
			if f == nil {
				f = &figure{pkg: pkg, name: name, unit: unit}
				figures[key] = f
				order = append(order, f)
			}
			f.values = append(f.values, value)
		}
	}
	if err := r.Err(); err != nil {
		return err
	}
	if len(order) == 0 {
		return fmt.Errorf("no benchmark results on stdin")
	}
	defer func() {
		if len(failed) == 0 {
			return
		}
		fmt.Fprintf(out, "\n## Runs that failed\n\nTheir figures are missing above (or are those that ran before the failure).\n\n| package | its last words |\n|---|---|\n")
		for _, f := range failed {
			fmt.Fprintf(out, "| %s | %s |\n", f.pkg, strings.ReplaceAll(f.last, "|", "\\|"))
		}
	}()
	fmt.Fprintf(out, "# Benchmarks\n\nWritten by `make bench` on %s. Each figure is the median of its runs,\n", now.UTC().Format("2006-01-02"))
	fmt.Fprintf(out, "with the 95%% confidence interval around it (benchstat's method; ± ∞ when\n")
	fmt.Fprintf(out, "there are too few runs: whole-system benchmarks run once and report the\n")
	fmt.Fprintf(out, "percentiles of their own samples). Bars are those the issues set.\n\n")
	for _, m := range machine {
		fmt.Fprintf(out, "- %s\n", m)
	}
	for _, a := range areas {
		var rows []*figure
		for _, f := range order {
			if areaOf(f.pkg) == a.name {
				rows = append(rows, f)
			}
		}
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(out, "\n## %s\n\n| package | benchmark | figure | ± | runs | bar | peer, same run |\n|---|---|---|---|---|---|---|\n", a.title)
		for _, f := range rows {
			s := summarize(f)
			fmt.Fprintf(out, "| %s | %s | %s | %s | %d | %s | %s |\n", f.pkg, f.name, format(s.Center, f.unit), s.PctRangeString(), len(f.values), barOf(f), peerOf(f, figures))
		}
	}
	return nil
}

// areas are the report's sections, in order.
var areas = []struct{ name, title string }{
	{"codes", "Codes and QR"},
	{"ledger", "Ledger"},
	{"mesh", "Venue mesh"},
	{"edge", "Gate appliance"},
	{"central", "Central"},
	{"sales", "Sales and prices"},
	{"venue", "Venue simulation (testdata/scenarios)"},
	{"other", "Other"},
}

func areaOf(pkg string) string {
	switch {
	case pkg == "ticket" || strings.HasPrefix(pkg, "ticket/") || pkg == "scanner":
		return "codes"
	case pkg == "ledger" || strings.HasPrefix(pkg, "ledger/"):
		return "ledger"
	case pkg == "cluster":
		return "mesh"
	case pkg == "edge" || strings.HasPrefix(pkg, "edge/") || pkg == "firmware" || pkg == "cmd/tixgate":
		return "edge"
	case strings.HasPrefix(pkg, "central") || pkg == "uplink":
		return "central"
	case pkg == "pricing":
		return "sales"
	case pkg == "sim":
		return "venue"
	}
	return "other"
}

func summarize(f *figure) benchmath.Summary {
	return benchmath.AssumeNothing.Summary(benchmath.NewSample(f.values, &benchmath.DefaultThresholds), 0.95)
}

// peers say, for a figure, what the same run measured of another program
// or library doing the same work: ZXing C++ and zbar decoding the same
// frame, raw Badger on the same keys, ed25519 alone. Matched on the
// figure's package, name (a regular expression) and unit; the peer is a
// figure of the same report.
var peers = []struct {
	pkg, name, unit string
	peers           []peerRef
}{
	{"scanner", `^DecodeGrayFrame$`, "ns/op", []peerRef{{"ZXing C++", "scanner", "Peers", "zxing-ms"}, {"zbar", "scanner", "Peers", "zbar-ms"}}},
	{"ledger", `^Decide$`, "p50-µs", []peerRef{{"raw Badger", "ledger", "DecidePeerBadger", "p50-µs"}}},
	{"ledger", `^Decide$`, "p99-µs", []peerRef{{"raw Badger", "ledger", "DecidePeerBadger", "p99-µs"}}},
	{"ticket", `^Verify$`, "ns/op", []peerRef{{"ed25519 alone", "ticket", "Ed25519Verify", "ns/op"}}},
}

type peerRef struct{ label, pkg, name, unit string }

func peerOf(f *figure, figures map[string]*figure) string {
	var out []string
	for _, p := range peers {
		if p.pkg != f.pkg || p.unit != f.unit || !regexp.MustCompile(p.name).MatchString(f.name) {
			continue
		}
		for _, r := range p.peers {
			if pf := figures[r.pkg+" "+r.name+" "+r.unit]; pf != nil {
				out = append(out, r.label+" "+format(summarize(pf).Center, pf.unit))
			}
		}
	}
	return strings.Join(out, "; ")
}

// bars are the figures the issues set, matched on the benchmark's name
// (a regular expression) and unit.
var bars = []struct {
	name, unit, bar string
}{
	{`^DecideChecksums$`, "cost-%", "< 10%"},
	{`^SystemRepair`, "ns/op", "≤ 60 s"},
	{`^SystemImport1M`, "ns/op", ""},
	{`^CameraFrame`, "p50-ms", "≤ 25 ms"},
	{`ScanHTTPS`, "p99-ms", "≤ 3 ms"},
	{`Idle`, "rss-MB", "≤ 200 MB"},
	{`Idle`, "cpu-%", "≤ 1%"},
	{`^SystemReconcile`, "ns/op", "≤ 30 s"},
	{`ManifestPull`, "ns/op", "≤ 30 s"},
	{`Intake`, "records/s", "≥ 20,000/s on PostgreSQL"},
	{`^SystemPropagation/.*loss=20%`, "p99-ms", "≤ 500 ms"},
	{`^SystemPropagation/nodes=50/eager`, "p99-ms", "≤ 50 ms"},
	{`^Sale`, "p99-ms", "≤ 50 ms"},
	{`^SystemShopRush`, "p99-ms", "≤ 250 ms"},
	{`^SystemShopRush`, "oversold", "0"},
	{`^SystemScenario/stadium`, "p99-ms", "≤ 50 ms"},
	{`^SystemScenario/stadium`, "loss-p99-ms", "≤ 500 ms"},
	{`^SystemScenario`, "doubles-whole", "0"},
	{`^SystemScenario`, "lost", "0"},
	{`^SystemScenario`, "lost-central", "0"},
	{`^SystemSalesDashboard`, "p99-ms", "≤ 500 ms on PostgreSQL"},
	{`^PayNotify`, "notifications/s", "≥ 1,000/s on PostgreSQL"},
	{`^SystemSettleDay`, "day-100k-s", "seconds"},
}

func barOf(f *figure) string {
	for _, b := range bars {
		if b.unit == f.unit && regexp.MustCompile(b.name).MatchString(f.name) {
			return b.bar
		}
	}
	return ""
}

// format prints ns/op in a readable unit and every other figure as is.
func format(v float64, unit string) string {
	if unit == "ns/op" {
		switch {
		case v >= 1e9:
			return fmt.Sprintf("%.2f s/op", v/1e9)
		case v >= 1e6:
			return fmt.Sprintf("%.2f ms/op", v/1e6)
		case v >= 1e3:
			return fmt.Sprintf("%.1f µs/op", v/1e3)
		}
		return fmt.Sprintf("%.0f ns/op", v)
	}
	switch {
	case v == float64(int64(v)):
		return fmt.Sprintf("%d %s", int64(v), unit)
	case v >= 100:
		return fmt.Sprintf("%.0f %s", v, unit)
	}
	return fmt.Sprintf("%.3g %s", v, unit)
}
