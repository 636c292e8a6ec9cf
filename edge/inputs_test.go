package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tixgate/tixgate/edge/deviceapi"
	"github.com/tixgate/tixgate/firmware"
	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/scanner"
	"github.com/tixgate/tixgate/ticket"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestScannerLines(t *testing.T) {
	v := ledgertest.NewVenue(t, 20)
	n, fb, _ := startGate(t, v, "gate-1", false)
	relay := fb.Line(firmware.RelayIn)
	code := v.Code(ticket.Ticket{Serial: 7})

	var got []deviceapi.Answer
	read := func(input string) {
		t.Helper()
		got = got[:0]
		if err := n.ReadScanner(context.Background(), strings.NewReader(input), func(a deviceapi.Answer) { got = append(got, a) }); err != nil {
			t.Fatal(err)
		}
	}
	// One code, read three times in a burst (CRLF, noise): one decision, one pulse.
	read(code + "\r\n" + code + "\n\x1b" + code + "\n")
	if len(got) != 3 || !got[0].OK() || got[0].Repeat || !got[1].Repeat || !got[2].Repeat || got[0].Source != deviceapi.SourceScanner {
		t.Fatalf("burst of one code: %+v", got)
	}
	ledgertest.WaitFor(t, 3*time.Second, "one pulse", func() bool { return relay.Rises() == 1 })
	// A garbled line: a refusal, no pulse.
	read("TG1:%%%garbled\n")
	if len(got) != 1 || got[0].OK() || got[0].Reason != ticket.ReasonMalformed {
		t.Errorf("garbled line: %+v", got)
	}
	time.Sleep(200 * time.Millisecond)
	if relay.Rises() != 1 {
		t.Errorf("relay pulsed %d times, want 1", relay.Rises())
	}
}

func TestDebounceWindow(t *testing.T) {
	v := ledgertest.NewVenue(t, 20)
	clock := &fakeClock{t: time.Now()}
	n := startNodeWith(t, v, "gate-1", func(c *Config) { c.Clock = clock })
	code := v.Code(ticket.Ticket{Serial: 8})
	scan := func() deviceapi.Answer {
		a, err := n.scanInput(context.Background(), code, deviceapi.SourceScanner)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if a := scan(); !a.OK() {
		t.Fatalf("first read: %+v", a)
	}
	clock.add(1900 * time.Millisecond)
	if a := scan(); !a.OK() || !a.Repeat {
		t.Errorf("within the window: %+v, want the first answer repeated", a)
	}
	clock.add(200 * time.Millisecond)
	if a := scan(); a.Repeat || a.Reason != ticket.ReasonAlreadyUsed {
		t.Errorf("a deliberate rescan after the window: %+v, want a new decision, already used", a)
	}
}

// A ticket held in front of the camera is one scan however long it stays
// there; out of sight for a window, it is read anew.
func TestDebounceCameraHeld(t *testing.T) {
	v := ledgertest.NewVenue(t, 20)
	clock := &fakeClock{t: time.Now()}
	n := startNodeWith(t, v, "gate-1", func(c *Config) { c.Clock = clock })
	code := v.Code(ticket.Ticket{Serial: 7})
	frame := func() deviceapi.Answer {
		a, err := n.scanInput(context.Background(), code, deviceapi.SourceCamera)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if a := frame(); !a.OK() {
		t.Fatalf("first frame: %+v", a)
	}
	for i := range 20 { // 10 s in front of the lens, a frame every 500 ms
		clock.add(500 * time.Millisecond)
		if a := frame(); !a.OK() || !a.Repeat {
			t.Fatalf("frame %d while held: %+v, want the first answer repeated", i, a)
		}
	}
	clock.add(2100 * time.Millisecond) // taken away, then shown again
	if a := frame(); a.Repeat || a.Reason != ticket.ReasonAlreadyUsed {
		t.Errorf("shown again after a window out of sight: %+v, want a new decision, already used", a)
	}
}

func TestCameraFrames(t *testing.T) {
	v := ledgertest.NewVenue(t, 20)
	_, _, c := startGate(t, v, "gate-1", false)
	code := v.Code(ticket.Ticket{Serial: 1})
	qr, err := scanner.Render(code, 400)
	if err != nil {
		t.Fatal(err)
	}
	frame := image.NewRGBA(image.Rect(0, 0, 1280, 720))
	draw.Draw(frame, frame.Bounds(), &image.Uniform{color.Gray{0xc0}}, image.Point{}, draw.Src)
	draw.Draw(frame, image.Rect(440, 160, 840, 560), qr, qr.Bounds().Min, draw.Src)
	var jpg, blank bytes.Buffer
	jpeg.Encode(&jpg, frame, &jpeg.Options{Quality: 85})
	jpeg.Encode(&blank, image.NewGray(image.Rect(0, 0, 640, 480)), nil)

	post := func(ct string, body []byte) (int, deviceapi.Answer) {
		t.Helper()
		req, _ := http.NewRequest("POST", c.base+"/api/v1/frames", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+c.token)
		req.Header.Set("Content-Type", ct)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var a deviceapi.Answer
		json.NewDecoder(resp.Body).Decode(&a)
		return resp.StatusCode, a
	}
	if st, a := post("image/jpeg", jpg.Bytes()); st != 200 || !a.OK() || a.Source != deviceapi.SourceCamera || a.Serial != 1 {
		t.Errorf("frame with a ticket: %d %+v", st, a)
	}
	if st, a := post("image/jpeg", jpg.Bytes()); st != 200 || !a.Repeat {
		t.Errorf("the next frame, same ticket: %d %+v, want a repeat", st, a)
	}
	if st, _ := post("image/jpeg", blank.Bytes()); st != http.StatusNoContent {
		t.Errorf("frame without a code: %d, want 204", st)
	}
	if st, _ := post("image/jpeg", []byte("not a jpeg")); st != http.StatusBadRequest {
		t.Errorf("broken frame: %d, want 400", st)
	}
	if st, _ := post("text/plain", jpg.Bytes()); st != http.StatusUnsupportedMediaType {
		t.Errorf("frame as text: %d, want 415", st)
	}
}
