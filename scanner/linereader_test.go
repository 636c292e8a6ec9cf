package scanner

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll drains lr, recording lines and errors in order.
func readAll(tb testing.TB, lr *LineReader) (lines []string, errs []error) {
	tb.Helper()
	for range 10_000 {
		line, err := lr.Next()
		switch {
		case err == io.EOF:
			return lines, errs
		case err != nil:
			errs = append(errs, err)
			if !errors.Is(err, ErrLineTooLong) {
				return lines, errs
			}
		default:
			lines = append(lines, line)
		}
	}
	tb.Fatal("LineReader never reached io.EOF")
	return nil, nil
}

func TestLineReader(t *testing.T) {
	long := strings.Repeat("A", 40)
	tests := []struct {
		name    string
		in      string
		max     int
		want    []string
		tooLong int // lines reported as too long
	}{
		{name: "empty input", in: "", want: nil},
		{name: "LF", in: "TG1:AB\nTG1:CD\n", want: []string{"TG1:AB", "TG1:CD"}},
		{name: "CR", in: "TG1:AB\rTG1:CD\r", want: []string{"TG1:AB", "TG1:CD"}},
		{name: "CRLF", in: "TG1:AB\r\nTG1:CD\r\n", want: []string{"TG1:AB", "TG1:CD"}},
		{name: "mixed endings", in: "A\nB\r\nC\rD\n\rE", want: []string{"A", "B", "C", "D", "E"}},
		{name: "last line without newline", in: "TG1:AB\nTG1:CD", want: []string{"TG1:AB", "TG1:CD"}},
		{name: "leading and trailing spaces", in: "  TG1:AB  \n\tTG1:CD\t\n", want: []string{"TG1:AB", "TG1:CD"}},
		{name: "inner spaces kept", in: "TG1:A B  C\n", want: []string{"TG1:A B  C"}},
		{name: "empty and blank lines", in: "\n\n  \n\t\r\nTG1:AB\n\n\n", want: []string{"TG1:AB"}},
		{name: "only blanks", in: " \t \r\n \n", want: nil},
		{name: "NUL and control noise", in: "\x00TG1:\x1bAB\x7f\x00\nTG1:\x02CD\x03\n", want: []string{"TG1:AB", "TG1:CD"}},
		{name: "rotating suffix", in: "TG1:ABC*123456\r\n", want: []string{"TG1:ABC*123456"}},
		{name: "utf-8 kept", in: "票1\n", want: []string{"票1"}},
		{name: "line at the bound", in: long + "\n", max: 40, want: []string{long}},
		{name: "overlong line then resync", in: "A" + long + "\nTG1:OK\n", max: 40, want: []string{"TG1:OK"}, tooLong: 1},
		{name: "overlong line of blanks inside", in: "A" + strings.Repeat(" ", 60) + "B\nTG1:OK\n", max: 40, want: []string{"TG1:OK"}, tooLong: 1},
		{name: "overlong last line without newline", in: "TG1:OK\n" + long + "XX", max: 40, want: []string{"TG1:OK"}, tooLong: 1},
		{name: "two overlong lines", in: long + "X\r\n" + long + "Y\rZ\n", max: 40, want: []string{"Z"}, tooLong: 2},
		{name: "overlong with CRLF resyncs once", in: long + "XYZ\r\nB\n", max: 40, want: []string{"B"}, tooLong: 1},
	}
	for _, tt := range tests {
		for _, oneByte := range []bool{false, true} {
			name := tt.name
			if oneByte {
				name += "/one byte at a time"
			}
			t.Run(name, func(t *testing.T) {
				var r io.Reader = strings.NewReader(tt.in)
				if oneByte {
					r = iotest.OneByteReader(r)
				}
				lr := NewLineReaderSize(r, tt.max)
				got, errs := readAll(t, lr)
				if !slices.Equal(got, tt.want) {
					t.Errorf("lines = %q, want %q", got, tt.want)
				}
				if len(errs) != tt.tooLong {
					t.Errorf("errors = %v, want %d ErrLineTooLong", errs, tt.tooLong)
				}
				for _, err := range errs {
					if !errors.Is(err, ErrLineTooLong) {
						t.Errorf("error %v does not wrap ErrLineTooLong", err)
					}
				}
				// io.EOF stays.
				if _, err := lr.Next(); err != io.EOF {
					t.Errorf("Next after the end = %v, want io.EOF", err)
				}
			})
		}
	}
}

func TestLineReaderDefaultBound(t *testing.T) {
	in := strings.Repeat("A", DefaultMaxLineLength+1) + "\nTG1:OK\n"
	got, errs := readAll(t, NewLineReader(strings.NewReader(in)))
	if len(errs) != 1 || !slices.Equal(got, []string{"TG1:OK"}) {
		t.Fatalf("got %q, %v; want one ErrLineTooLong then TG1:OK", got, errs)
	}
	if msg := errs[0].Error(); msg != strings.ToLower(msg[:1])+msg[1:] {
		t.Errorf("error %q is not lower case", msg)
	}
}

func TestLineReaderReadError(t *testing.T) {
	boom := errors.New("device unplugged")
	r := io.MultiReader(strings.NewReader("TG1:AB\nTG1:C"), iotest.ErrReader(boom))
	lr := NewLineReader(r)
	if line, err := lr.Next(); line != "TG1:AB" || err != nil {
		t.Fatalf("Next = %q, %v; want TG1:AB", line, err)
	}
	// The partial line before the failure is still delivered, then the
	// error, wrapped, for good.
	if line, err := lr.Next(); line != "TG1:C" || err != nil {
		t.Fatalf("Next = %q, %v; want TG1:C", line, err)
	}
	for range 2 {
		_, err := lr.Next()
		if !errors.Is(err, boom) || err == boom {
			t.Fatalf("Next = %v, want a wrapped %v", err, boom)
		}
	}
}

// A reader that returns its last bytes together with io.EOF loses nothing.
func TestLineReaderDataWithEOF(t *testing.T) {
	r := iotest.DataErrReader(strings.NewReader("TG1:AB\r\nTG1:CD"))
	got, errs := readAll(t, NewLineReader(r))
	if len(errs) != 0 || !slices.Equal(got, []string{"TG1:AB", "TG1:CD"}) {
		t.Fatalf("got %q, %v", got, errs)
	}
}

func FuzzLineReader(f *testing.F) {
	for _, s := range []string{"", "\n", "TG1:AB\r\nX", "\x00\x01\r\r\n\n", " a b \t", strings.Repeat("A", 70) + "\nB"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lr := NewLineReaderSize(iotest.HalfReader(strings.NewReader(string(data))), 64)
		lines, errs := readAll(t, lr)
		for _, l := range lines {
			if l == "" || len(l) > 64 {
				t.Fatalf("line %q: empty or over the bound", l)
			}
			if strings.ContainsAny(l, "\r\n\x00") || strings.Trim(l, " \t") != l {
				t.Fatalf("line %q: untrimmed or holds a control character", l)
			}
		}
		for _, err := range errs {
			if !errors.Is(err, ErrLineTooLong) {
				t.Fatalf("unexpected error %v", err)
			}
		}
	})
}
