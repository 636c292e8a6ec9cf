package scanner

import (
	"math/rand/v2"
	"testing"

	"github.com/makiuchi-d/gozxing"
)

// TestHybridBinarizerMatchesGozxing: our hybrid binarizer is gozxing's,
// faster; it must give the same bits on every kind of image, including
// sizes that are not multiples of the block size and strided frames.
func TestHybridBinarizerMatchesGozxing(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	frame, _ := benchFrame(t)
	images := map[string]plane{
		"bench frame": {pix: frame.Pix, width: 1280, height: 720, stride: frame.Stride},
	}
	for i, sz := range [][2]int{{40, 40}, {41, 47}, {57, 300}, {333, 217}, {640, 481}} {
		g := scene(max(sz[0], 220), max(sz[1], 130), rng)
		code := renderGray(t, randomCode(rng, 60), 2+i%3)
		g = noise(place(g, code, rng), 10, rng)
		// A window of the scene, at the scene's stride.
		images[g.Rect.String()+"/window"] = plane{pix: g.Pix, width: sz[0], height: sz[1], stride: g.Stride}
		flat := fill(sz[0], sz[1], byte(rng.IntN(256)))
		images[flat.Rect.String()+"/flat"] = plane{pix: flat.Pix, width: sz[0], height: sz[1], stride: flat.Stride}
	}
	var scr binarizeScratch
	for name, p := range images {
		src, err := gozxing.NewPlanarYUVLuminanceSource(p.pix, p.stride, p.height, 0, 0, p.width, p.height, false)
		if err != nil {
			t.Fatal(err)
		}
		want, err := gozxing.NewHybridBinarizer(src).GetBlackMatrix()
		if err != nil {
			t.Fatalf("%s: gozxing: %v", name, err)
		}
		got, err := (&hybridBinarizer{p: p, src: src, scr: &scr}).GetBlackMatrix()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		diff := 0
		for y := range p.height {
			for x := range p.width {
				if got.Get(x, y) != want.Get(x, y) {
					diff++
				}
			}
		}
		if diff != 0 {
			t.Errorf("%s (%dx%d): %d pixels differ from gozxing's HybridBinarizer", name, p.width, p.height, diff)
		}
	}
}

func BenchmarkHybridBinarizer(b *testing.B) {
	frame, _ := benchFrame(b)
	p := plane{pix: frame.Pix, width: 1280, height: 720, stride: frame.Stride}
	var scr binarizeScratch
	b.Run("ours", func(b *testing.B) {
		for b.Loop() {
			(&hybridBinarizer{p: p, scr: &scr}).GetBlackMatrix()
		}
	})
	b.Run("gozxing", func(b *testing.B) {
		for b.Loop() {
			src, _ := gozxing.NewPlanarYUVLuminanceSource(p.pix, p.stride, p.height, 0, 0, p.width, p.height, false)
			gozxing.NewHybridBinarizer(src).GetBlackMatrix()
		}
	})
}
