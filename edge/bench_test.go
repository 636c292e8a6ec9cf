package edge

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

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
