package scanner

import (
	"bytes"
	"errors"
	"go/parser"
	"go/token"
	"image"
	"image/color"
	"image/draw"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// testCode returns a typical code and its rendering at 4 px a module.
func testCode(tb testing.TB, seed uint64) (string, *image.Gray) {
	tb.Helper()
	text := randomCode(rand.New(rand.NewPCG(seed, 77)), 128)
	return text, renderGray(tb, text, 4)
}

// TestDecodeImageTypes reads one code from every image type DecodeImage
// has a fast path for, and some it has not, including images whose bounds
// do not start at the origin and transparent backgrounds.
func TestDecodeImageTypes(t *testing.T) {
	text, g := testCode(t, 1)
	r := g.Rect
	offset := r.Add(image.Pt(37, -11))
	at := func(x, y int) byte { return g.Pix[(y-offset.Min.Y)*g.Stride+x-offset.Min.X] }

	gray := image.NewGray(offset)
	rgba := image.NewRGBA(offset)
	nrgba := image.NewNRGBA(offset)
	transparent := image.NewNRGBA(offset) // dark modules opaque, the rest transparent black
	premul := image.NewRGBA(offset)       // the same, premultiplied
	gray16 := image.NewGray16(offset)
	rgba64 := image.NewRGBA64(offset)
	cmyk := image.NewCMYK(offset)
	pal := image.NewPaletted(offset, color.Palette{color.RGBA{0x10, 0x20, 0x80, 0xff}, color.RGBA{0xff, 0xf5, 0x9d, 0xff}})
	for y := offset.Min.Y; y < offset.Max.Y; y++ {
		for x := offset.Min.X; x < offset.Max.X; x++ {
			v := at(x, y)
			gray.SetGray(x, y, color.Gray{v})
			rgba.SetRGBA(x, y, color.RGBA{v, v, v, 0xff})
			nrgba.SetNRGBA(x, y, color.NRGBA{v / 2, v, v / 3, 0xff}) // a coloured print
			if v < 128 {
				transparent.SetNRGBA(x, y, color.NRGBA{0, 0, 0, 0xff})
				premul.SetRGBA(x, y, color.RGBA{0, 0, 0, 0xff})
				pal.SetColorIndex(x, y, 0)
			} else {
				pal.SetColorIndex(x, y, 1)
			}
			gray16.SetGray16(x, y, color.Gray16{uint16(v) << 8})
			rgba64.SetRGBA64(x, y, color.RGBA64{uint16(v) << 8, uint16(v) << 8, uint16(v) << 8, 0xffff})
			cmyk.SetCMYK(x, y, color.CMYK{0, 0, 0, 255 - v})
		}
	}
	ycbcr := image.NewYCbCr(offset, image.YCbCrSubsampleRatio420)
	for y := offset.Min.Y; y < offset.Max.Y; y++ {
		for x := offset.Min.X; x < offset.Max.X; x++ {
			ycbcr.Y[ycbcr.YOffset(x, y)] = at(x, y)
		}
	}
	for i := range ycbcr.Cb {
		ycbcr.Cb[i], ycbcr.Cr[i] = 128, 128
	}
	// A window of a larger image.
	big := image.NewRGBA(image.Rect(-50, -50, 400, 400))
	draw.Draw(big, big.Rect, image.NewUniform(color.RGBA{200, 30, 30, 255}), image.Point{}, draw.Src)
	draw.Draw(big, offset, gray, offset.Min, draw.Src)
	window := big.SubImage(offset.Inset(-3))

	for name, img := range map[string]image.Image{
		"gray": gray, "rgba": rgba, "nrgba": nrgba, "transparent nrgba": transparent,
		"transparent rgba": premul, "gray16": gray16, "rgba64": rgba64, "cmyk": cmyk,
		"paletted": pal, "ycbcr": ycbcr, "sub-image": window,
	} {
		t.Run(name, func(t *testing.T) {
			got, err := DecodeImage(img)
			if err != nil || got != text {
				t.Fatalf("DecodeImage(%T) = %q, %v; want %q", img, got, err, text)
			}
		})
	}
}

// TestDecodeYUV packs one frame in every pixel format and reads it.
func TestDecodeYUV(t *testing.T) {
	text, code := testCode(t, 2)
	frame := place(fill(640, 480, 180), code, rand.New(rand.NewPCG(1, 2)))
	const w, h = 640, 480
	y := frame.Pix
	chroma := bytes.Repeat([]byte{128}, w*h/2)
	packed := func(yFirst bool) []byte {
		out := make([]byte, 2*w*h)
		for i, v := range y {
			if yFirst {
				out[2*i], out[2*i+1] = v, 128
			} else {
				out[2*i], out[2*i+1] = 128, v
			}
		}
		return out
	}
	// A padded Y plane: stride 704 with garbage in the padding.
	const stride = 704
	padded := make([]byte, stride*h)
	for row := range h {
		copy(padded[row*stride:], y[row*w:(row+1)*w])
		for i := w; i < stride; i++ {
			padded[row*stride+i] = byte(i * 7)
		}
	}
	tests := []struct {
		format PixelFormat
		data   []byte
		stride int
	}{
		{Gray, y, w},
		{Gray, padded, stride},
		{NV12, append(append([]byte{}, y...), chroma...), w},
		{NV21, padded, stride}, // only the Y plane is read
		{I420, append(append([]byte{}, y...), chroma...), w},
		{YV12, y, w},
		{YUYV, packed(true), 2 * w},
		{UYVY, packed(false), 2 * w},
	}
	d := NewDecoder(CameraConfig())
	for _, tt := range tests {
		t.Run(tt.format.String()+"/stride "+strconv.Itoa(tt.stride), func(t *testing.T) {
			before := bytes.Clone(tt.data)
			got, err := d.DecodeYUV(tt.data, tt.format, w, h, tt.stride)
			if err != nil || got != text {
				t.Fatalf("DecodeYUV = %q, %v; want %q", got, err, text)
			}
			if !bytes.Equal(before, tt.data) {
				t.Fatal("DecodeYUV wrote into the caller's frame")
			}
		})
	}
}

// TestDecoderReuse: a reused decoder reads a stream of frames of changing
// sizes and contents, and an empty frame in between does not leak the
// previous code.
func TestDecoderReuse(t *testing.T) {
	d := NewDecoder(CameraConfig())
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 12 {
		text, code := testCode(t, uint64(100+i))
		w, h := 320+rng.IntN(400), 240+rng.IntN(300)
		frame := place(fill(w, h, byte(150+rng.IntN(100))), code, rng)
		if i%3 == 2 {
			code = invertGray(code)
			frame = place(fill(w, h, 20), code, rng)
		}
		got, err := d.DecodeGray(frame.Pix, w, h, frame.Stride)
		if err != nil || got != text {
			t.Fatalf("frame %d (%dx%d): got %q, %v", i, w, h, got, err)
		}
		empty := fill(w, h, 128)
		if got, err := d.DecodeGray(empty.Pix, w, h, w); !errors.Is(err, ErrNoCode) {
			t.Fatalf("empty frame after frame %d: got %q, %v; want ErrNoCode", i, got, err)
		}
	}
}

func invertGray(g *image.Gray) *image.Gray {
	out := image.NewGray(g.Rect)
	for i, v := range g.Pix {
		out.Pix[i] = 255 - v
	}
	return out
}

// TestEffort: the camera effort gives up on a frame without a code after a
// few passes, the thorough one tries its whole ladder; both read a code in
// a clean frame with the same first pass.
func TestEffort(t *testing.T) {
	if len(fastLadder) >= len(thoroughLadder) {
		t.Fatalf("fast ladder of %d passes, thorough of %d", len(fastLadder), len(thoroughLadder))
	}
	text, code := testCode(t, 3)
	for _, cfg := range []Config{DefaultConfig(), CameraConfig()} {
		d := NewDecoder(cfg)
		got, err := d.DecodeImage(code)
		if err != nil || got != text || d.last != thoroughLadder[0].String() {
			t.Errorf("%v: got %q, %v by pass %q", cfg.Effort, got, err, d.last)
		}
	}
	if s := Effort(7).String(); s != "Effort(7)" {
		t.Errorf("Effort(7).String() = %q", s)
	}
}

// TestImports: this package is the only one that imports the QR
// libraries, and it imports nothing else of ours nor of anyone's.
func TestImports(t *testing.T) {
	allowed := []string{"github.com/makiuchi-d/gozxing", "github.com/skip2/go-qrcode"}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	docs := 0
	for _, name := range files {
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		if f.Doc != nil && !strings.HasSuffix(name, "_test.go") {
			docs++
			if name != "doc.go" {
				t.Errorf("%s: package doc outside doc.go", name)
			}
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first := strings.Split(path, "/")[0]
			if !strings.Contains(first, ".") {
				continue // standard library
			}
			ok := false
			for _, a := range allowed {
				ok = ok || path == a || strings.HasPrefix(path, a+"/")
			}
			if !ok {
				t.Errorf("%s imports %s", name, path)
			}
		}
	}
	if docs != 1 {
		t.Errorf("%d package docs, want exactly one (doc.go)", docs)
	}
	if _, err := os.Stat("doc.go"); err != nil {
		t.Error(err)
	}
}
