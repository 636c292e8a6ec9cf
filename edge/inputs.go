package edge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tixgate/tixgate/edge/deviceapi"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/scanner"
	"github.com/tixgate/tixgate/ticket"
)

// maxFrame bounds an uploaded camera frame: a 1280x720 JPEG is 100–300 kB.
const maxFrame = 4 << 20

// debouncer turns a code read again and again within a window into one
// scan: a camera sees the same QR in many frames, a scanner may double-read.
// A scanner's read after the window is a new scan (a deliberate rescan). A
// camera's window runs from the last frame that showed the code, so a
// ticket held in front of the lens is one scan however long it stays, and
// it is read again only once it has been out of sight for a window.
type debouncer struct {
	mu     sync.Mutex
	window time.Duration
	clock  ticket.Clock
	seen   map[string]debounced
}

type debounced struct {
	at   time.Time // when the code was decided
	last time.Time // when an input last read it
	a    deviceapi.Answer
}

func newDebouncer(window time.Duration, clock ticket.Clock) *debouncer {
	return &debouncer{window: window, clock: clock, seen: map[string]debounced{}}
}

// do decides the scan once per window and code; a repeat within the window
// gets the first answer marked Repeat. sliding measures the window from
// the last read rather than from the decision.
func (db *debouncer) do(code string, sliding bool, decide func() (deviceapi.Answer, error)) (deviceapi.Answer, error) {
	if db.window <= 0 {
		return decide()
	}
	key := code
	now := db.clock.Now()
	db.mu.Lock()
	if e, ok := db.seen[key]; ok {
		from := e.at
		if sliding {
			from = e.last
		}
		if now.Sub(from) < db.window {
			e.last = now
			db.seen[key] = e
			db.mu.Unlock()
			a := e.a
			a.Repeat = true
			return a, nil
		}
	}
	if len(db.seen) > 256 {
		for k, e := range db.seen {
			if now.Sub(e.last) >= db.window {
				delete(db.seen, k)
			}
		}
	}
	db.mu.Unlock()
	a, err := decide()
	if err != nil {
		return a, err
	}
	db.mu.Lock()
	db.seen[key] = debounced{at: now, last: now, a: a}
	db.mu.Unlock()
	return a, nil
}

// scanInput decides a code from a scanner or a camera, debounced.
func (n *Node) scanInput(ctx context.Context, code, source string) (deviceapi.Answer, error) {
	s := ledger.Scan{Text: code, Gate: n.cfg.Gate}
	return n.debounce.do(code, source == deviceapi.SourceCamera, func() (deviceapi.Answer, error) { return n.decide(ctx, s, source) })
}

// ReadScanner decides every line a hardware scanner types on r (a serial
// port, a keyboard wedge's terminal, stdin) until r ends or ctx is done.
// Each answer goes to answered, if not nil. An overlong line is logged and
// skipped; only an error of r itself ends the loop with an error.
func (n *Node) ReadScanner(ctx context.Context, r io.Reader, answered func(deviceapi.Answer)) error {
	lr := scanner.NewLineReader(r)
	for ctx.Err() == nil {
		line, err := lr.Next()
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case errors.Is(err, scanner.ErrLineTooLong):
			n.log.Warn("scanner line too long: skipped", "err", err)
			continue
		case err != nil:
			return fmt.Errorf("scanner: %w", err)
		}
		if len(line) > ticket.MaxCodeLen {
			line = line[:ticket.MaxCodeLen+1] // refused as malformed, not an error
		}
		a, err := n.scanInput(ctx, line, deviceapi.SourceScanner)
		if err != nil {
			n.log.Error("scanner: scan could not be decided: do not open", "err", err)
			continue
		}
		if answered != nil {
			answered(a)
		}
	}
	return nil
}

// handleFrame decodes a camera frame (JPEG or PNG) and decides the code in
// it. A frame without a code is 204 No Content: the camera sends the next.
func (n *Node) handleFrame(w http.ResponseWriter, r *http.Request) {
	ct := r.Header.Get("Content-Type")
	if ct != "image/jpeg" && ct != "image/png" {
		writeError(w, http.StatusUnsupportedMediaType, "send a frame as image/jpeg or image/png")
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFrame))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("frame larger than %d bytes", maxFrame))
		return
	}
	d := n.decoders.Get().(*scanner.Decoder)
	code, err := d.DecodeBytes(data)
	n.decoders.Put(d)
	if errors.Is(err, scanner.ErrNoCode) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "frame: "+strings.TrimPrefix(err.Error(), "decode image: "))
		return
	}
	a, err := n.scanInput(r.Context(), code, deviceapi.SourceCamera)
	if err != nil {
		n.log.Error("camera: scan could not be decided", "err", err)
		writeError(w, http.StatusServiceUnavailable, "the ledger could not record the scan: do not open; "+err.Error())
		return
	}
	a.Code = code
	writeJSON(w, http.StatusOK, a)
}
