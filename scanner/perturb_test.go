package scanner

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
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
	if p, ok := img.(*image.Paletted); ok {
		// What qrencode and Render make; draw.Draw takes the slow path.
		var lut [256]byte
		for i, c := range p.Palette {
			lut[i] = color.GrayModel.Convert(c).(color.Gray).Y
		}
		for y := range b.Dy() {
			src := p.Pix[p.PixOffset(b.Min.X, b.Min.Y+y):][:b.Dx()]
			for x, v := range src {
				g.Pix[y*g.Stride+x] = lut[v]
			}
		}
		return g
	}
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
	img, err := s.draw(len(s.modules) * modulePx)
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
// canvas that holds all of it, filling the corners with bg, with bilinear
// interpolation.
func rotate(src *image.Gray, deg float64, bg byte) *image.Gray {
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	w, h := float64(sw), float64(sh)
	rad := deg * math.Pi / 180
	sin, cos := math.Sin(rad), math.Cos(rad)
	ow := int(math.Ceil(math.Abs(w*cos) + math.Abs(h*sin)))
	oh := int(math.Ceil(math.Abs(w*sin) + math.Abs(h*cos)))
	dst := fill(ow, oh, bg)
	// Padded source: a one-pixel border of bg makes every bilinear read
	// in range.
	pw := sw + 2
	pad := make([]int32, pw*(sh+2))
	for i := range pad {
		pad[i] = int32(bg)
	}
	for y := range sh {
		for x, v := range src.Pix[y*src.Stride : y*src.Stride+sw] {
			pad[(y+1)*pw+x+1] = int32(v)
		}
	}
	const one = 1 << 16
	cx, cy := w/2, h/2
	ocx, ocy := float64(ow)/2, float64(oh)/2
	for y := range oh {
		dy := float64(y) + 0.5 - ocy
		row := dst.Pix[y*dst.Stride : y*dst.Stride+ow]
		// Inverse rotation of the pixel centre, in 16.16 fixed point, in
		// the padded source whose pixel centres sit at +0.5.
		sx := int64((cos*(0.5-ocx) - sin*dy + cx + 1) * one)
		sy := int64((sin*(0.5-ocx) + cos*dy + cy + 1) * one)
		dsx, dsy := int64(cos*one), int64(sin*one)
		for x := range row {
			fx, fy := sx-one/2, sy-one/2 // to pixel-corner coordinates
			ix, iy := fx>>16, fy>>16
			if ix >= 0 && iy >= 0 && ix < int64(pw-1) && iy < int64(sh+1) {
				wx, wy := int32(fx&(one-1)>>8), int32(fy&(one-1)>>8)
				i := int(iy)*pw + int(ix)
				top := pad[i]*(256-wx) + pad[i+1]*wx
				bot := pad[i+pw]*(256-wx) + pad[i+pw+1]*wx
				row[x] = byte((top*(256-wy) + bot*wy + 1<<15) >> 16)
			}
			sx += dsx
			sy += dsy
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
// out of focus, or motion averaged over the exposure): a separable kernel
// out to 3 sigma in 16-bit fixed point, edges extended.
func blur(src *image.Gray, sigma float64) *image.Gray {
	r := int(math.Ceil(3 * sigma))
	kf := make([]float64, 2*r+1)
	var sum float64
	for i := range kf {
		d := float64(i - r)
		kf[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += kf[i]
	}
	kernel := make([]int32, len(kf))
	for i, v := range kf {
		kernel[i] = int32(math.Round(v / sum * (1 << 16)))
	}
	w, h := src.Rect.Dx(), src.Rect.Dy()
	tmp := make([]int32, w*h) // after the horizontal pass, in 1/256 grey levels
	line := make([]int32, max(w, h)+2*r)
	for y := range h {
		row := src.Pix[y*src.Stride : y*src.Stride+w]
		for i := range line[:w+2*r] {
			line[i] = int32(row[max(0, min(i-r, w-1))])
		}
		for x := range w {
			var acc int32
			for k, kv := range kernel {
				acc += kv * line[x+k]
			}
			tmp[y*w+x] = acc >> 8
		}
	}
	dst := image.NewGray(image.Rect(0, 0, w, h))
	for x := range w {
		for i := range line[:h+2*r] {
			line[i] = tmp[max(0, min(i-r, h-1))*w+x]
		}
		for y := range h {
			var acc int64
			for k, kv := range kernel {
				acc += int64(kv) * int64(line[y+k])
			}
			dst.Pix[y*dst.Stride+x] = byte(min(255, (acc+1<<23)>>24))
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
	for y := range h {
		row := g.Pix[y*g.Stride : y*g.Stride+w]
		for x := range row {
			row[x] = byte(a + (b-a)*(float64(x)/float64(w)+float64(y)/float64(h))/2)
		}
	}
	for range 30 {
		bw, bh := 10+rng.IntN(200), 10+rng.IntN(120)
		x0, y0 := rng.IntN(w-bw), rng.IntN(h-bh)
		v := byte(rng.IntN(256))
		period := 0 // solid
		if rng.IntN(3) == 0 {
			period = 2 + rng.IntN(4) // stripes
		}
		for y := y0; y < y0+bh; y++ {
			row := g.Pix[y*g.Stride+x0 : y*g.Stride+x0+bw]
			for x := range row {
				if period == 0 || (x/period)%2 == 0 {
					row[x] = v
				}
			}
		}
	}
	return g
}

// hdScene returns a 1280x720 scene, one of a few made once per test binary.
func hdScene(rng *rand.Rand) *image.Gray {
	scenes := hdScenes()
	return scenes[rng.IntN(len(scenes))]
}

var hdScenes = sync.OnceValue(func() []*image.Gray {
	rng := rand.New(rand.NewPCG(1280, 720))
	scenes := make([]*image.Gray, 6)
	for i := range scenes {
		scenes[i] = scene(1280, 720, rng)
	}
	return scenes
})

// place pastes code into a copy of frame at a random position that keeps it
// whole.
func place(frame, code *image.Gray, rng *rand.Rand) *image.Gray {
	w, h := frame.Rect.Dx(), frame.Rect.Dy()
	dst := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		copy(dst.Pix[y*dst.Stride:], frame.Pix[frame.PixOffset(frame.Rect.Min.X, frame.Rect.Min.Y+y):][:w])
	}
	cw, ch := min(code.Rect.Dx(), w), min(code.Rect.Dy(), h)
	x0 := rng.IntN(max(1, w-cw))
	y0 := rng.IntN(max(1, h-ch))
	for y := range ch {
		copy(dst.Pix[(y0+y)*dst.Stride+x0:], code.Pix[code.PixOffset(code.Rect.Min.X, code.Rect.Min.Y+y):][:cw])
	}
	return dst
}
