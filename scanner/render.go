package scanner

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"

	qrcode "github.com/skip2/go-qrcode"
)

// QuietZone is the width of the light border, in modules, that Render draws
// around every code (ISO/IEC 18004 asks for at least four).
const QuietZone = 4

// MaxRenderSize bounds the side of a rendered image in pixels (64 MB of
// 8-bit pixels), so a wrong argument cannot exhaust memory.
const MaxRenderSize = 8192

// errEmptyText is returned when asked to render nothing.
var errEmptyText = errors.New("empty text")

// symbol is an encoded QR code: its version and its modules, quiet zone
// included.
type symbol struct {
	version int
	modules [][]bool // modules[y][x], true is dark
}

// encode encodes text as a QR code at error correction level M. go-qrcode
// picks numeric, alphanumeric or byte mode from the text: a tixgate code
// (`TG1:` + base45, optionally `*` and six digits) is all in the QR
// alphanumeric charset.
func encode(text string) (s symbol, err error) {
	if text == "" {
		return symbol{}, errEmptyText
	}
	// go-qrcode reports some internal inconsistencies with log.Panicf; no
	// input of ours should reach them, but a panic must never escape.
	defer func() {
		if r := recover(); r != nil {
			s, err = symbol{}, fmt.Errorf("qr encoder failed: %v", r)
		}
	}()
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return symbol{}, fmt.Errorf("encode %d bytes: %w", len(text), lowerFirst(err))
	}
	// Bitmap must be called once: it finalises the encoder's state.
	return symbol{version: q.VersionNumber, modules: q.Bitmap()}, nil
}

// lowerFirst keeps the errors of go-qrcode, which start with a capital, in
// our style.
func lowerFirst(err error) error {
	msg := err.Error()
	if msg == "" || msg[0] < 'A' || msg[0] > 'Z' {
		return err
	}
	return errors.New(string(msg[0]+'a'-'A') + msg[1:])
}

// Version reports the QR version (1–40) that text needs at error correction
// level M.
func Version(text string) (int, error) {
	if text == "" {
		return 0, fmt.Errorf("qr version: %w", errEmptyText)
	}
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return 0, fmt.Errorf("qr version: encode %d bytes: %w", len(text), lowerFirst(err))
	}
	return q.VersionNumber, nil
}

// Render draws text as a QR code at error correction level M with a
// four-module quiet zone, on a square image size pixels wide. Every module is
// the same whole number of pixels (the largest that fits) and the code is
// centred; the pixels left over widen the quiet zone. Render fails when size
// cannot give each module at least one pixel.
//
// The image is black on white; its concrete type is *image.Paletted with a
// two-colour palette, which PNG stores at one bit per pixel.
func Render(text string, size int) (image.Image, error) {
	img, err := render(text, size)
	if err != nil {
		return nil, fmt.Errorf("render qr: %w", err)
	}
	return img, nil
}

// RenderPNG is Render encoded as a PNG file.
func RenderPNG(text string, size int) ([]byte, error) {
	img, err := render(text, size)
	if err != nil {
		return nil, fmt.Errorf("render qr png: %w", err)
	}
	var buf bytes.Buffer
	buf.Grow(size*size/8 + 1024)
	// BestSpeed: a one-bit image of large flat areas compresses well anyway,
	// and BestCompression costs several times the time for a few per cent.
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("render qr png: %w", err)
	}
	return buf.Bytes(), nil
}

var renderPalette = color.Palette{color.Gray{Y: 0xff}, color.Gray{Y: 0}}

func render(text string, size int) (*image.Paletted, error) {
	if size <= 0 || size > MaxRenderSize {
		return nil, fmt.Errorf("size %d out of range 1..%d", size, MaxRenderSize)
	}
	s, err := encode(text)
	if err != nil {
		return nil, err
	}
	return s.draw(size)
}

// draw draws the symbol on a size x size image.
func (s symbol) draw(size int) (*image.Paletted, error) {
	n := len(s.modules) // modules per side, quiet zone included
	px := size / n
	if px < 1 {
		return nil, fmt.Errorf("size %d too small for version %d: needs at least %d px", size, s.version, n)
	}
	off := (size - n*px) / 2
	// Index 0 of the palette is white, so a new image is all quiet zone.
	img := image.NewPaletted(image.Rect(0, 0, size, size), renderPalette)
	for my, row := range s.modules {
		y0 := off + my*px
		line := img.Pix[y0*img.Stride : y0*img.Stride+size]
		for mx, dark := range row {
			if !dark {
				continue
			}
			x0 := off + mx*px
			for x := x0; x < x0+px; x++ {
				line[x] = 1
			}
		}
		for y := y0 + 1; y < y0+px; y++ {
			copy(img.Pix[y*img.Stride:y*img.Stride+size], line)
		}
	}
	return img, nil
}
