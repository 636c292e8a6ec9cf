package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestReport(t *testing.T) {
	var in strings.Builder
	in.WriteString("goos: linux\ngoarch: amd64\npkg: github.com/tixgate/tixgate/ledger\ncpu: AMD EPYC\n")
	for i, v := range []int{540, 500, 530, 510, 520, 900} {
		fmt.Fprintf(&in, "BenchmarkDecideChecksums-2   \t 2000\t %d000 ns/op\t %d.5 cost-%%\n", v, i)
	}
	for _, v := range []int{700, 690, 710} {
		fmt.Fprintf(&in, "BenchmarkDecide-2 \t 2000\t %d000 ns/op\t %d p50-µs\n", v+100, v)
		fmt.Fprintf(&in, "BenchmarkDecidePeerBadger-2 \t 2000\t %d000 ns/op\t %d p50-µs\n", v, v-100)
	}
	in.WriteString("--- some test output\npkg: github.com/tixgate/tixgate/cluster\n")
	in.WriteString("BenchmarkSystemRepair-2 \t 1\t 25200000000 ns/op\n")
	var out strings.Builder
	if err := run(strings.NewReader(in.String()), &out, time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"- cpu: AMD EPYC",
		"## Ledger",
		"| ledger | DecideChecksums | 525.0 µs/op |", // the median of six, not the mean
		"| 3 cost-% |",
		"| 6 | < 10% |  |",
		"| ledger | Decide | 700 p50-µs | ∞ | 3 |  | raw Badger 600 p50-µs |",
		"## Venue mesh",
		"| cluster | SystemRepair | 25.20 s/op | ∞ | 1 | ≤ 60 s |  |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if err := run(strings.NewReader("PASS\n"), &out, time.Now()); err == nil {
		t.Error("no results: no error")
	}
}

// A package that failed is named with its last words; the figures of the
// others are still there.
func TestReportNamesFailures(t *testing.T) {
	in := "pkg: github.com/tixgate/tixgate/ticket\nBenchmarkVerify-2 \t 1000\t 108000 ns/op\nPASS\nok  \tgithub.com/tixgate/tixgate/ticket\t1.0s\n" +
		"pkg: github.com/tixgate/tixgate/sim\n2026/12/07 23:56:17 Assert failed\nexit status 1\nFAIL\tgithub.com/tixgate/tixgate/sim\t1287.921s\n"
	var out strings.Builder
	if err := run(strings.NewReader(in), &out, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| ticket | Verify | 108.0 µs/op |", "## Runs that failed", "| sim | 2026/12/07 23:56:17 Assert failed |"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
