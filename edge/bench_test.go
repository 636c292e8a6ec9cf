package edge

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/tixgate/tixgate/edge/deviceapi"
	"github.com/tixgate/tixgate/ledger/decision"
	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/scanner"
	"github.com/tixgate/tixgate/ticket"
)

// BenchmarkCameraFrame is the camera path over loopback HTTP: a 1280x720
// JPEG uploaded, decoded, decided and answered. Debouncing is off, so every
// frame is a whole decision.
func BenchmarkCameraFrame(b *testing.B) {
	v := ledgertest.NewVenue(b, 20)
	dir := v.Provision("gate-1")
	l := v.OpenDir(dir)
	v.Load(l)
	l.Close()
	cfg := DefaultConfig(dir)
	cfg.Gate, cfg.Bind, cfg.Listen, cfg.Debounce = "G1", "127.0.0.1:0", "127.0.0.1:0", 0
	cfg.Ledger = v.Config(dir)
	cfg.Logger = ledgertest.Logger(b, 100) // silent
	n, err := Start(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	qr, err := scanner.Render(v.Code(ticket.Ticket{Serial: 1}), 360)
	if err != nil {
		b.Fatal(err)
	}
	frame := image.NewRGBA(image.Rect(0, 0, 1280, 720))
	draw.Draw(frame, frame.Bounds(), &image.Uniform{color.Gray{0xb0}}, image.Point{}, draw.Src)
	draw.Draw(frame, image.Rect(460, 180, 820, 540), qr, qr.Bounds().Min, draw.Src)
	var jpg bytes.Buffer
	jpeg.Encode(&jpg, frame, &jpeg.Options{Quality: 80})
	url := "http://" + n.APIAddr() + "/api/v1/frames"
	lat := make([]time.Duration, 0, b.N)
	b.SetBytes(int64(jpg.Len()))
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		req, _ := http.NewRequest("POST", url, bytes.NewReader(jpg.Bytes()))
		req.Header.Set("Authorization", "Bearer "+n.Token())
		req.Header.Set("Content-Type", "image/jpeg")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("frame: %d", resp.StatusCode)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkLiveRecord is what the decision path pays to keep the status
// screen live: counting one decision, encoding it once and handing it to
// every open stream. It does not grow with the history; it grows by one
// non-blocking send per open screen. The streams here keep up (the timer
// stops while they catch up every half buffer), so none is dropped.
func BenchmarkLiveRecord(b *testing.B) {
	a := deviceapi.Answer{Decision: decision.Decision{Result: decision.Refused, Reason: ticket.ReasonAlreadyUsed, Gate: "G1",
		At: time.Date(2026, 6, 12, 19, 42, 0, 0, time.UTC), Ticket: &decision.Ticket{Event: 1042, Serial: 7}}}
	for _, streams := range []int{0, 1, 10} {
		b.Run(fmt.Sprintf("streams=%d", streams), func(b *testing.B) {
			h := newLiveHub(func() *time.Location { return time.UTC })
			var subs []*liveSub
			for range streams {
				subs = append(subs, h.subscribe())
			}
			defer h.close()
			b.ReportAllocs()
			for i := range b.N {
				h.record(a)
				if i%(liveBuffer/2) == 0 {
					b.StopTimer()
					for _, s := range subs {
						for len(s.ch) > 0 {
							<-s.ch
						}
					}
					b.StartTimer()
				}
			}
			b.StopTimer()
			if h.dropped != 0 {
				b.Fatalf("%d streams dropped", h.dropped)
			}
		})
	}
}
