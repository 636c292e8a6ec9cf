package scanner

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"testing"
)

// robustSamples is the number of codes each perturbation is tried on.
const robustSamples = 12

// TestRobustness renders typical ticket codes (128 characters, version 6,
// 4 px modules: 196 px with the quiet zone), does one thing to them that a
// camera or a printer does, and reads them back. It reports the decode rate
// of each perturbation and holds each to a floor: 1 where every sample read
// at the time of writing and the case is easy, otherwise the measured rate
// less about two samples of margin. The seeds are fixed, so the test is
// deterministic; the harder cases (blur of half a module, noise of σ=80,
// 1.5 px modules) map where reading stops.
func TestRobustness(t *testing.T) {
	t.Parallel()
	type sample struct {
		img    *image.Gray
		camera bool // decode as a camera frame (DecodeGray) rather than an image
	}
	rotateBy := func(deg float64) func(*rand.Rand, *image.Gray) sample {
		return func(_ *rand.Rand, g *image.Gray) sample { return sample{img: rotate(g, deg, 255)} }
	}
	cases := []struct {
		name  string
		floor float64 // minimum decode rate
		make  func(*rand.Rand, *image.Gray) sample
	}{
		{"rotate 0", 1, rotateBy(0)},
		{"rotate 15", 1, rotateBy(15)},
		{"rotate 30", 1, rotateBy(30)},
		{"rotate 45", 1, rotateBy(45)},
		{"rotate 90", 1, rotateBy(90)},
		{"rotate 135", 1, rotateBy(135)},
		{"rotate 180", 1, rotateBy(180)},
		{"rotate 270", 1, rotateBy(270)},
		{"rotate any", 0.85, func(r *rand.Rand, g *image.Gray) sample { return sample{img: rotate(g, r.Float64()*360, 255)} }},
		{"blur σ=1px", 1, func(_ *rand.Rand, g *image.Gray) sample { return sample{img: blur(g, 1)} }},
		{"blur σ=1.5px", 0.85, func(_ *rand.Rand, g *image.Gray) sample { return sample{img: blur(g, 1.5)} }},
		{"blur σ=2px", 0.85, func(_ *rand.Rand, g *image.Gray) sample { return sample{img: blur(g, 2)} }},
		{"blur σ=2.25px", 0.5, func(_ *rand.Rand, g *image.Gray) sample { return sample{img: blur(g, 2.25)} }},
		{"noise σ=16", 1, func(r *rand.Rand, g *image.Gray) sample { return sample{img: noise(g, 16, r)} }},
		{"noise σ=32", 0.85, func(r *rand.Rand, g *image.Gray) sample { return sample{img: noise(g, 32, r)} }},
		{"noise σ=48", 0.85, func(r *rand.Rand, g *image.Gray) sample { return sample{img: noise(g, 48, r)} }},
		{"noise σ=64", 0.85, func(r *rand.Rand, g *image.Gray) sample { return sample{img: noise(g, 64, r)} }},
		{"noise σ=80", 0.8, func(r *rand.Rand, g *image.Gray) sample { return sample{img: noise(g, 80, r)} }},
		{"jpeg q40", 1, func(_ *rand.Rand, g *image.Gray) sample { return sample{img: jpegRoundTrip(t, g, 40)} }},
		{"jpeg q40 at 2px/module", 0.85, func(_ *rand.Rand, g *image.Gray) sample {
			return sample{img: jpegRoundTrip(t, resize(g, g.Rect.Dx()/2, g.Rect.Dy()/2), 40)}
		}},
		{"jpeg q40 at 1.5px/module", 0.85, func(_ *rand.Rand, g *image.Gray) sample {
			return sample{img: jpegRoundTrip(t, resize(g, g.Rect.Dx()*3/8, g.Rect.Dy()*3/8), 40)}
		}},
		{"rotate any at 2px/module", 0.85, func(r *rand.Rand, g *image.Gray) sample {
			return sample{img: rotate(resize(g, g.Rect.Dx()/2, g.Rect.Dy()/2), r.Float64()*360, 255)}
		}},
		{"low contrast 120..140", 0.85, func(_ *rand.Rand, g *image.Gray) sample { return sample{img: contrast(g, 120, 140)} }},
		{"low contrast 100..150", 1, func(_ *rand.Rand, g *image.Gray) sample { return sample{img: contrast(g, 100, 150)} }},
		{"in a 1280x720 frame", 1, func(r *rand.Rand, g *image.Gray) sample {
			return sample{img: place(hdScene(r), g, r), camera: true}
		}},
		{"in a 1280x720 frame at 2px/module", 0.85, func(r *rand.Rand, g *image.Gray) sample {
			return sample{img: place(hdScene(r), resize(g, 98, 98), r), camera: true}
		}},
		{"camera: VGA frame, turned ±20°, blur, noise, jpeg q40", 0.85, func(r *rand.Rand, g *image.Gray) sample {
			code := noise(blur(rotate(resize(g, 160, 160), r.Float64()*40-20, 255), 0.8), 6, r)
			frame := hdScene(r).SubImage(image.Rect(0, 0, 640, 480)).(*image.Gray)
			return sample{img: jpegRoundTrip(t, place(frame, code, r), 40), camera: true}
		}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(uint64(i), 42))
			d := NewDecoder(DefaultConfig())
			read := 0
			for range robustSamples {
				text := randomCode(rng, 128)
				s := tc.make(rng, renderGray(t, text, 4))
				var got string
				var err error
				if s.camera {
					got, err = d.DecodeGray(s.img.Pix, s.img.Rect.Dx(), s.img.Rect.Dy(), s.img.Stride)
				} else {
					got, err = d.DecodeImage(s.img)
				}
				if err == nil && got == text {
					read++
				} else if err == nil {
					t.Errorf("misread: got %q, want %q", got, text)
				}
			}
			rate := float64(read) / robustSamples
			t.Logf("%-50s read %2d/%d = %3.0f%% (floor %3.0f%%)", tc.name, read, robustSamples, 100*rate, 100*tc.floor)
			if rate < tc.floor {
				t.Errorf("decode rate %.2f below the floor %.2f", rate, tc.floor)
			}
		})
	}
}

// TestSmallestReadableSize shrinks a typical code (version 6: 49 modules
// with the quiet zone) the way a sensor does, averaging each pixel's area,
// to fewer and fewer pixels per module, and finds the smallest size at
// which every sample still reads.
func TestSmallestReadableSize(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(99, 1))
	d := NewDecoder(DefaultConfig())
	const n = 10
	steps := []float64{0.9, 1.0, 1.1, 1.25, 1.4, 1.6, 1.8, 2.0, 2.5, 3.0}
	smallest := math.Inf(1)
	broken := false // some larger size failed
	var report string
	for i := len(steps) - 1; i >= 0; i-- {
		ppm := steps[i]
		// The image: the code, its quiet zone and one more module of
		// margin for the phase shift, 50 modules, 4 px each before shrinking.
		side := int(math.Round(50 * ppm))
		read := 0
		for range n {
			text := randomCode(rng, 128)
			big := renderGray(t, text, 4)
			// A random sub-pixel phase: pad up to 3 px before shrinking.
			off := rng.IntN(4)
			padded := fill(big.Rect.Dx()+4, big.Rect.Dy()+4, 255)
			for y := 0; y < big.Rect.Dy(); y++ {
				copy(padded.Pix[(y+off)*padded.Stride+off:], big.Pix[y*big.Stride:(y+1)*big.Stride])
			}
			got, err := d.DecodeImage(resize(padded, side, side))
			if err == nil && got == text {
				read++
			}
		}
		report = fmt.Sprintf("%.2f px/module (image %3d px): %2d/%d\n", ppm, side, read, n) + report
		if read < n {
			broken = true
		} else if !broken {
			smallest = ppm
		}
	}
	t.Logf("decode rate by size of a version 6 code:\n%s", report)
	t.Logf("smallest size at which every sample read (and every larger one): %.2f px/module: a version 6 code %d px wide with its quiet zone",
		smallest, int(math.Round(49*smallest)))
	// Measured 1.25 px/module at the time of writing.
	if smallest > 1.6 {
		t.Errorf("smallest readable size %.2f px/module, want ≤ 1.6", smallest)
	}
}
