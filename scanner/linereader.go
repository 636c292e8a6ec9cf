package scanner

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxLineLength bounds a line from a hardware scanner: the largest QR
// code holds 7,089 digits, and a ticket code is under 200 characters.
const DefaultMaxLineLength = 8192

// ErrLineTooLong is returned (wrapped) by LineReader.Next for a line longer
// than the reader's bound. The reader skips to the next line break, so the
// caller may keep calling Next.
var ErrLineTooLong = errors.New("scanned line too long")

// A LineReader reads the codes a hardware scanner types, one per line: a
// keyboard-wedge scanner through a terminal or evdev bridge, or a serial
// scanner through its tty.
//
// Scanners and their links are sloppy, so a LineReader takes CR, LF and CRLF
// alike as the end of a line; skips empty lines; trims spaces and tabs at
// both ends (a base45 code never ends in a space, and a tixgate code starts
// with "TG1:"); and drops control characters (NUL, ESC, DEL, …), which a line
// noise or a scanner's prefix settings can insert. A line longer than the
// bound yields ErrLineTooLong once and is skipped to its end. At the end of
// the input a last line without a line break is still returned; then Next
// returns io.EOF.
//
// A LineReader is not safe for concurrent use.
type LineReader struct {
	r        *bufio.Reader
	max      int
	line     []byte
	skipping bool  // inside a line already reported as too long
	err      error // sticky error of the underlying reader
}

// NewLineReader returns a LineReader on r bounding lines to
// DefaultMaxLineLength bytes.
func NewLineReader(r io.Reader) *LineReader {
	return NewLineReaderSize(r, DefaultMaxLineLength)
}

// NewLineReaderSize returns a LineReader on r bounding lines to maxLen bytes
// after control characters are dropped (DefaultMaxLineLength if maxLen ≤ 0).
func NewLineReaderSize(r io.Reader, maxLen int) *LineReader {
	if maxLen <= 0 {
		maxLen = DefaultMaxLineLength
	}
	return &LineReader{r: bufio.NewReaderSize(r, 4096), max: maxLen}
}

// Next returns the next non-empty line, trimmed. It returns io.EOF (not
// wrapped) at the end of the input, an error wrapping ErrLineTooLong for an
// overlong line, and a wrapped error of the underlying reader otherwise,
// which it keeps returning.
func (lr *LineReader) Next() (string, error) {
	for {
		if lr.err != nil {
			return "", lr.err
		}
		c, err := lr.r.ReadByte()
		if err != nil {
			if err == io.EOF {
				lr.err = io.EOF
			} else {
				lr.err = fmt.Errorf("read scanner: %w", err)
			}
			if line := lr.take(); line != "" && !lr.skipping {
				return line, nil
			}
			lr.skipping = false
			return "", lr.err
		}
		switch {
		case c == '\r' || c == '\n':
			lr.skipping = false
			if line := lr.take(); line != "" {
				return line, nil
			}
		case lr.skipping:
		case c < 0x20 && c != '\t', c == 0x7f:
			// Noise: drop it.
		case (c == ' ' || c == '\t') && len(lr.line) == 0:
			// Leading blanks: drop them.
		case len(lr.line) >= lr.max:
			lr.line = lr.line[:0]
			lr.skipping = true
			return "", fmt.Errorf("read scanner: %w (over %d bytes)", ErrLineTooLong, lr.max)
		default:
			lr.line = append(lr.line, c)
		}
	}
}

// take returns the pending line without trailing blanks and resets it.
func (lr *LineReader) take() string {
	n := len(lr.line)
	for n > 0 && (lr.line[n-1] == ' ' || lr.line[n-1] == '\t') {
		n--
	}
	s := string(lr.line[:n])
	lr.line = lr.line[:0]
	return s
}
