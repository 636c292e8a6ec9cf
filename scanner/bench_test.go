package scanner

import (
	"image"
	"image/draw"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// benchFrame is the frame the decode benchmarks read: a 1280x720 camera-like
// scene holding one typical ticket code (128 characters, version 6) drawn
// 343 px wide (7 px modules), as a phone held 30–40 cm from a 720p gate
// camera shows it.
func benchFrame(tb testing.TB) (frame *image.Gray, text string) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(2026, 5))
	text = randomCode(rng, 128)
	img, err := Render(text, 343)
	if err != nil {
		tb.Fatal(err)
	}
	return place(scene(1280, 720, rng), toGray(img), rng), text
}

func BenchmarkDecodeGrayFrame(b *testing.B) {
	frame, text := benchFrame(b)
	d := NewDecoder(CameraConfig())
	b.ReportAllocs()
	for b.Loop() {
		got, err := d.DecodeGray(frame.Pix, 1280, 720, frame.Stride)
		if err != nil || got != text {
			b.Fatalf("DecodeGray = %q, %v", got, err)
		}
	}
}

// BenchmarkDecodeGrayFrameOneShot is DecodeGray without a reused Decoder.
func BenchmarkDecodeGrayFrameOneShot(b *testing.B) {
	frame, text := benchFrame(b)
	b.ReportAllocs()
	for b.Loop() {
		got, err := DecodeGray(frame.Pix, 1280, 720, frame.Stride)
		if err != nil || got != text {
			b.Fatalf("DecodeGray = %q, %v", got, err)
		}
	}
}

func BenchmarkDecodeImageRGBA(b *testing.B) {
	frame, text := benchFrame(b)
	rgba := image.NewRGBA(frame.Rect)
	draw.Draw(rgba, rgba.Rect, frame, image.Point{}, draw.Src)
	d := NewDecoder(CameraConfig())
	b.ReportAllocs()
	for b.Loop() {
		got, err := d.DecodeImage(rgba)
		if err != nil || got != text {
			b.Fatalf("DecodeImage = %q, %v", got, err)
		}
	}
}

func BenchmarkDecodeYUYVFrame(b *testing.B) {
	frame, text := benchFrame(b)
	yuyv := make([]byte, 2*len(frame.Pix))
	for i, v := range frame.Pix {
		yuyv[2*i], yuyv[2*i+1] = v, 128
	}
	d := NewDecoder(CameraConfig())
	b.ReportAllocs()
	for b.Loop() {
		got, err := d.DecodeYUV(yuyv, YUYV, 1280, 720, 2*1280)
		if err != nil || got != text {
			b.Fatalf("DecodeYUV = %q, %v", got, err)
		}
	}
}

// BenchmarkDecodeNoCode is what a frame without a code costs: most frames of
// a gate camera. The camera effort stops after a few passes; the thorough
// effort walks the whole ladder.
func BenchmarkDecodeNoCode(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 7))
	frame := scene(1280, 720, rng)
	for _, cfg := range []Config{CameraConfig(), DefaultConfig()} {
		b.Run(cfg.Effort.String(), func(b *testing.B) {
			d := NewDecoder(cfg)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.DecodeGray(frame.Pix, 1280, 720, frame.Stride); err == nil {
					b.Fatal("a code in an empty scene")
				}
			}
		})
	}
}

func BenchmarkRenderPNG(b *testing.B) {
	text := randomCode(rand.New(rand.NewPCG(1, 1)), 128)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := RenderPNG(text, 256); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRender(b *testing.B) {
	text := randomCode(rand.New(rand.NewPCG(1, 1)), 128)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(text, 256); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPeers times ZXingReader and zbarimg on the benchmark frame saved
// as a PNG (median wall time of several runs, process start and PNG loading
// included) and on a tiny image (what starting the tool costs), and reports
// how our decode compares: ours/zxing and ours/zbar use our DecodeGray on
// the frame; the -png ratios our DecodeBytes on the same PNG file. The tools
// are optional here: missing ones skip.
func BenchmarkPeers(b *testing.B) {
	zxing := lookTool(b, toolZXing)
	zbar := lookTool(b, toolZbar)
	frame, text := benchFrame(b)
	dir := b.TempDir()
	framePath, tinyPath := filepath.Join(dir, "frame.png"), filepath.Join(dir, "tiny.png")
	writePNG(b, framePath, frame)
	writePNG(b, tinyPath, fill(8, 8, 255))
	pngData := readFile(b, framePath)

	const runs = 9
	median := func(f func()) time.Duration {
		ds := make([]time.Duration, runs)
		for i := range ds {
			start := time.Now()
			f()
			ds[i] = time.Since(start)
		}
		slices.Sort(ds)
		return ds[runs/2]
	}
	tool := func(bin string, args ...string) func() {
		return func() {
			// Exit codes differ between tools and "nothing found"; the
			// output is checked once below.
			exec.Command(bin, args...).Run()
		}
	}
	if got := zxingDecode(b, zxing, []string{framePath})[framePath]; got != text {
		b.Fatalf("ZXingReader read %q", got)
	}
	if got := zbarDecode(b, zbar, []string{framePath})[framePath]; got != text {
		b.Fatalf("zbarimg read %q", got)
	}
	d := NewDecoder(CameraConfig())
	ours := median(func() { d.DecodeGray(frame.Pix, 1280, 720, frame.Stride) })
	oursPNG := median(func() { d.DecodeBytes(pngData) })
	zxingFrame := median(tool(zxing, "-format", "QRCode", "-bytes", framePath))
	zxingTiny := median(tool(zxing, "-format", "QRCode", "-bytes", tinyPath))
	zbarFrame := median(tool(zbar, "--nodbus", "--raw", "-q", "-Sdisable", "-Sqrcode.enable", framePath))
	zbarTiny := median(tool(zbar, "--nodbus", "--raw", "-q", "-Sdisable", "-Sqrcode.enable", tinyPath))

	for b.Loop() {
		d.DecodeGray(frame.Pix, 1280, 720, frame.Stride)
	}
	// After the loop: b.Loop's first call resets the timer, which drops
	// reported metrics.
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(ours), "ours-ms")
	b.ReportMetric(ms(oursPNG), "ours-png-ms")
	b.ReportMetric(ms(zxingFrame), "zxing-ms")
	b.ReportMetric(ms(zxingTiny), "zxing-startup-ms")
	b.ReportMetric(ms(zbarFrame), "zbar-ms")
	b.ReportMetric(ms(zbarTiny), "zbar-startup-ms")
	b.ReportMetric(ms(ours)/ms(zxingFrame), "ours/zxing")
	b.ReportMetric(ms(ours)/ms(zbarFrame), "ours/zbar")
	b.ReportMetric(ms(oursPNG)/ms(zxingFrame), "ours-png/zxing")
	b.ReportMetric(ms(oursPNG)/ms(zbarFrame), "ours-png/zbar")
	b.Logf("median of %d: ours %.2f ms (from PNG %.2f), ZXingReader %.2f ms (startup %.2f), zbarimg %.2f ms (startup %.2f)",
		runs, ms(ours), ms(oursPNG), ms(zxingFrame), ms(zxingTiny), ms(zbarFrame), ms(zbarTiny))
}
