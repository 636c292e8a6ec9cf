package scanner

import (
	"bytes"
	"image"
	"image/draw"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// This file holds what the tests do to codes before reading them back: the
// ways a printed or on-screen code reaches a camera (turned, small, out of
// focus, noisy, compressed, surrounded by a scene).

// base45Alphabet is the alphabet of RFC 9285, which is the QR alphanumeric
// charset.
const base45Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// randomCode returns a code shaped like a tixgate ticket code: `TG1:` and
// base45 characters, n characters in all.
func randomCode(rng *rand.Rand, n int) string {
	var b strings.Builder
	b.WriteString("TG1:")
	for b.Len() < n {
		b.WriteByte(base45Alphabet[rng.IntN(len(base45Alphabet))])
	}
	return b.String()
}

// toGray copies img into a new *image.Gray at the origin.
func toGray(img image.Image) *image.Gray {
	b := img.Bounds()
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(g, g.Rect, img, b.Min, draw.Src)
	return g
}

// renderGray renders text with modulePx pixels per module and a quiet zone
// of quiet modules (Render's four, trimmed or left as they are).
func renderGray(tb testing.TB, text string, modulePx int) *image.Gray {
	tb.Helper()
	s, err := encode(text)
	if err != nil {
		tb.Fatalf("encode %q: %v", text, err)
	}
	img, err := Render(text, len(s.modules)*modulePx)
	if err != nil {
		tb.Fatalf("render %q: %v", text, err)
	}
	return toGray(img)
}

// fill returns a w x h gray image of value v.
func fill(w, h int, v byte) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for i := range g.Pix {
		g.Pix[i] = v
	}
	return g
}

// sample reads src at real coordinates (pixel centres at +0.5) with bilinear
// interpolation; outside the image it returns bg.
func sample(src *image.Gray, x, y float64, bg byte) float64 {
	x -= 0.5
	y -= 0.5
	x0, y0 := math.Floor(x), math.Floor(y)
	fx, fy := x-x0, y-y0
	at := func(xi, yi int) float64 {
		if xi < 0 || yi < 0 || xi >= src.Rect.Dx() || yi >= src.Rect.Dy() {
			return float64(bg)
		}
		return float64(src.Pix[yi*src.Stride+xi])
	}
	ix, iy := int(x0), int(y0)
	top := at(ix, iy)*(1-fx) + at(ix+1, iy)*fx
	bot := at(ix, iy+1)*(1-fx) + at(ix+1, iy+1)*fx
	return top*(1-fy) + bot*fy
}

// rotate turns src by deg degrees counter-clockwise about its centre onto a
// canvas that holds all of it, filling the corners with bg.
func rotate(src *image.Gray, deg float64, bg byte) *image.Gray {
	w, h := float64(src.Rect.Dx()), float64(src.Rect.Dy())
	rad := deg * math.Pi / 180
	sin, cos := math.Sin(rad), math.Cos(rad)
	ow := int(math.Ceil(math.Abs(w*cos) + math.Abs(h*sin)))
	oh := int(math.Ceil(math.Abs(w*sin) + math.Abs(h*cos)))
	dst := fill(ow, oh, bg)
	cx, cy := w/2, h/2
	ocx, ocy := float64(ow)/2, float64(oh)/2
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			dx, dy := float64(x)+0.5-ocx, float64(y)+0.5-ocy
			// Inverse rotation: where in src does this output pixel come from.
			sx := cos*dx - sin*dy + cx
			sy := sin*dx + cos*dy + cy
			dst.Pix[y*dst.Stride+x] = byte(math.Round(sample(src, sx, sy, bg)))
		}
	}
	return dst
}

// resize scales src to w x h: area averaging when shrinking (what a sensor
// does to a small code), bilinear when growing.
func resize(src *image.Gray, w, h int) *image.Gray {
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	dst := image.NewGray(image.Rect(0, 0, w, h))
	if w >= sw && h >= sh {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				sx := (float64(x) + 0.5) * float64(sw) / float64(w)
				sy := (float64(y) + 0.5) * float64(sh) / float64(h)
				dst.Pix[y*dst.Stride+x] = byte(math.Round(sample(src, sx, sy, 255)))
			}
		}
		return dst
	}
	fx, fy := float64(sw)/float64(w), float64(sh)/float64(h)
	for y := 0; y < h; y++ {
		y0, y1 := float64(y)*fy, float64(y+1)*fy
		for x := 0; x < w; x++ {
			x0, x1 := float64(x)*fx, float64(x+1)*fx
			var sum, area float64
			for sy := int(y0); sy < sh && float64(sy) < y1; sy++ {
				cy := math.Min(y1, float64(sy+1)) - math.Max(y0, float64(sy))
				for sx := int(x0); sx < sw && float64(sx) < x1; sx++ {
					cx := math.Min(x1, float64(sx+1)) - math.Max(x0, float64(sx))
					sum += cx * cy * float64(src.Pix[sy*src.Stride+sx])
					area += cx * cy
				}
			}
			dst.Pix[y*dst.Stride+x] = byte(math.Round(sum / area))
		}
	}
	return dst
}

// blur applies a gaussian blur of standard deviation sigma pixels (a lens
// out of focus, or motion averaged over the exposure).
func blur(src *image.Gray, sigma float64) *image.Gray {
	r := int(math.Ceil(3 * sigma))
	kernel := make([]float64, 2*r+1)
	var sum float64
	for i := range kernel {
		d := float64(i - r)
		kernel[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += kernel[i]
	}
	for i := range kernel {
		kernel[i] /= sum
	}
	w, h := src.Rect.Dx(), src.Rect.Dy()
	clamp := func(v, hi int) int { return max(0, min(v, hi-1)) }
	tmp := make([]float64, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var acc float64
			for k, kv := range kernel {
				acc += kv * float64(src.Pix[y*src.Stride+clamp(x+k-r, w)])
			}
			tmp[y*w+x] = acc
		}
	}
	dst := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var acc float64
			for k, kv := range kernel {
				acc += kv * tmp[clamp(y+k-r, h)*w+x]
			}
			dst.Pix[y*dst.Stride+x] = byte(math.Round(acc))
		}
	}
	return dst
}

// noise adds gaussian noise of standard deviation sigma grey levels.
func noise(src *image.Gray, sigma float64, rng *rand.Rand) *image.Gray {
	dst := image.NewGray(src.Rect)
	for i, v := range src.Pix {
		n := float64(v) + rng.NormFloat64()*sigma
		dst.Pix[i] = byte(max(0, min(255, math.Round(n))))
	}
	return dst
}

// jpegRoundTrip compresses src as a JPEG at quality q and decodes it again:
// the decoded image is what a decoder sees from a compressed photo.
func jpegRoundTrip(tb testing.TB, src image.Image, q int) *image.Gray {
	tb.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, src, &jpeg.Options{Quality: q}); err != nil {
		tb.Fatalf("jpeg encode: %v", err)
	}
	img, err := jpeg.Decode(&buf)
	if err != nil {
		tb.Fatalf("jpeg decode: %v", err)
	}
	return toGray(img)
}

// contrast maps src's range [0, 255] onto [lo, hi]: a code under dim light
// or on a glossy screen.
func contrast(src *image.Gray, lo, hi byte) *image.Gray {
	dst := image.NewGray(src.Rect)
	for i, v := range src.Pix {
		dst.Pix[i] = byte(int(lo) + int(v)*(int(hi)-int(lo))/255)
	}
	return dst
}

// scene returns a w x h camera-like frame: light falling off across it, and
// clutter (boxes and stripes of every grey, some with sharp edges that look
// like parts of finder patterns) to mislead the detector.
func scene(w, h int, rng *rand.Rand) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	a, b := 60+rng.Float64()*60, 140+rng.Float64()*90
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			t := (float64(x)/float64(w) + float64(y)/float64(h)) / 2
			g.Pix[y*g.Stride+x] = byte(a + (b-a)*t)
		}
	}
	for range 30 {
		bw, bh := 10+rng.IntN(200), 10+rng.IntN(120)
		x0, y0 := rng.IntN(w-bw), rng.IntN(h-bh)
		v := byte(rng.IntN(256))
		stripes := rng.IntN(3) == 0
		for y := y0; y < y0+bh; y++ {
			for x := x0; x < x0+bw; x++ {
				if stripes && (x/(2+rng.IntN(2)))%2 == 0 {
					continue
				}
				g.Pix[y*g.Stride+x] = v
			}
		}
	}
	return g
}

// place pastes code into a copy of frame at a random position that keeps it
// whole.
func place(frame, code *image.Gray, rng *rand.Rand) *image.Gray {
	dst := image.NewGray(frame.Rect)
	copy(dst.Pix, frame.Pix)
	cw, ch := code.Rect.Dx(), code.Rect.Dy()
	x0 := rng.IntN(max(1, frame.Rect.Dx()-cw))
	y0 := rng.IntN(max(1, frame.Rect.Dy()-ch))
	draw.Draw(dst, image.Rect(x0, y0, x0+cw, y0+ch), code, code.Rect.Min, draw.Src)
	return dst
}
