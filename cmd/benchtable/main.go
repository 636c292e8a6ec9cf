// Command benchtable reads `go test -bench` output on stdin and prints one
// table of medians: a row per benchmark, a column per unit, so the figures
// of every issue can be rerun and read in one place. `make bench` uses it.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "benchtable: %v\n", err)
		os.Exit(1)
	}
}

// result gathers every sample of one benchmark, per unit.
type result struct {
	pkg, name string
	samples   map[string][]float64
	units     []string // in the order first seen
}

var procSuffix = regexp.MustCompile(`-\d+$`)

func run(in io.Reader, out io.Writer) error {
	var (
		pkg     string
		header  []string
		order   []*result
		results = map[string]*result{}
	)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "pkg: "):
			pkg = strings.TrimPrefix(line, "pkg: ")
		case strings.HasPrefix(line, "cpu: "), strings.HasPrefix(line, "goos: "), strings.HasPrefix(line, "goarch: "):
			if !slices.Contains(header, line) {
				header = append(header, line)
			}
		case strings.HasPrefix(line, "Benchmark"):
			f := strings.Fields(line)
			if len(f) < 4 || len(f)%2 != 0 {
				continue
			}
			if _, err := strconv.Atoi(f[1]); err != nil {
				continue
			}
			name := procSuffix.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), "")
			key := pkg + " " + name
			r := results[key]
			if r == nil {
				r = &result{pkg: shortPkg(pkg), name: name, samples: map[string][]float64{}}
				results[key] = r
				order = append(order, r)
			}
			for i := 2; i+1 < len(f); i += 2 {
				v, err := strconv.ParseFloat(f[i], 64)
				if err != nil {
					continue
				}
				unit := f[i+1]
				if _, ok := r.samples[unit]; !ok {
					r.units = append(r.units, unit)
				}
				r.samples[unit] = append(r.samples[unit], v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(order) == 0 {
		return fmt.Errorf("no benchmark results on stdin")
	}
	fmt.Fprintln(out)
	for _, h := range header {
		fmt.Fprintln(out, h)
	}
	fmt.Fprintf(out, "\nmedians of %d runs each\n\n", maxRuns(order))
	fmt.Fprintf(out, "| package | benchmark | figures |\n|---|---|---|\n")
	for _, r := range order {
		var cells []string
		for _, u := range r.units {
			cells = append(cells, format(median(r.samples[u]), u))
		}
		fmt.Fprintf(out, "| %s | %s | %s |\n", r.pkg, r.name, strings.Join(cells, ", "))
	}
	return nil
}

func shortPkg(p string) string { return strings.TrimPrefix(p, "github.com/tixgate/tixgate/") }

func maxRuns(rs []*result) int {
	n := 0
	for _, r := range rs {
		for _, s := range r.samples {
			n = max(n, len(s))
		}
	}
	return n
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
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
