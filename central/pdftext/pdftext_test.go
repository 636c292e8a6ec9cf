package pdftext

import (
	"slices"
	"testing"
)

func TestRuns(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Run
	}{
		{"", nil},
		{"Invoice", []Run{{false, "Invoice"}}},
		{"发票 Invoice ¥128.00", []Run{{true, "发票 "}, {false, "Invoice ¥128.00"}}},
		{"A 北京 B", []Run{{false, "A "}, {true, "北京 "}, {false, "B"}}},
		{"（税号）", []Run{{true, "（税号）"}}},
	} {
		if got := Runs(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("Runs(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
