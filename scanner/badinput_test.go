package scanner

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"math/rand/v2"
	"strings"
	"testing"
)

// pngWithHeader returns a PNG signature and an IHDR chunk declaring w x h
// 8-bit gray, and no pixel data.
func pngWithHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.Write(pngMagic)
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8] = 8 // bit depth; colour type 0 (gray), no interlace
	chunk := append([]byte("IHDR"), ihdr...)
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

// jpegWithHeader returns a JPEG start, a baseline frame header declaring
// w x h gray and the start of a scan, and no tables nor data.
func jpegWithHeader(w, h uint16) []byte {
	b := []byte{0xff, 0xd8, 0xff, 0xc0, 0, 11, 8}
	b = binary.BigEndian.AppendUint16(b, h)
	b = binary.BigEndian.AppendUint16(b, w)
	return append(b, 1, 1, 0x11, 0, 0xff, 0xda, 0, 8)
}

func codePNG(tb testing.TB) []byte {
	tb.Helper()
	data, err := RenderPNG(randomCode(rand.New(rand.NewPCG(11, 12)), 100), 200)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

func codeJPEG(tb testing.TB) []byte {
	tb.Helper()
	img, err := Render(randomCode(rand.New(rand.NewPCG(11, 12)), 100), 200)
	if err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 60}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// checkErr fails unless err is a readable error: set, lower case, and
// ErrNoCode exactly when noCode.
func checkErr(tb testing.TB, err error, noCode bool, want string) {
	tb.Helper()
	if err == nil {
		tb.Fatal("no error")
	}
	msg := err.Error()
	if strings.ToLower(msg[:1]) != msg[:1] {
		tb.Errorf("error %q does not start in lower case", msg)
	}
	if errors.Is(err, ErrNoCode) != noCode {
		tb.Errorf("error %q: errors.Is(err, ErrNoCode) = %v, want %v", msg, !noCode, noCode)
	}
	if !strings.Contains(msg, want) {
		tb.Errorf("error %q does not say %q", msg, want)
	}
}

func TestDecodeBytesBadInput(t *testing.T) {
	good := codePNG(t)
	var gifData bytes.Buffer
	gif.Encode(&gifData, image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{color.Black, color.White}), nil)
	blank := func() []byte {
		var b bytes.Buffer
		jpeg.Encode(&b, fill(300, 200, 200), nil)
		return b.Bytes()
	}()
	tests := []struct {
		name   string
		data   []byte
		noCode bool
		want   string
	}{
		{"nil", nil, false, "empty input"},
		{"empty", []byte{}, false, "empty input"},
		{"garbage", []byte("this is not an image at all"), false, "not a PNG or JPEG"},
		{"random bytes", func() []byte {
			rng := rand.New(rand.NewPCG(1, 1))
			b := make([]byte, 4096)
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			b[0] = 'x' // not by chance a PNG or JPEG
			return b
		}(), false, "not a PNG or JPEG"},
		{"gif", gifData.Bytes(), false, "not a PNG or JPEG"},
		{"png signature only", pngMagic, false, "decode png header"},
		{"truncated png", good[:len(good)/2], false, "decode png"},
		{"png with its end cut", good[:len(good)-20], false, "decode png"},
		{"png declaring 100000x100000", pngWithHeader(100000, 100000), false, "exceeds 40000000 pixels"},
		{"png declaring 2^31 x 1", pngWithHeader(1<<31-1, 1), false, "decode png"},
		{"png declaring 0x0", pngWithHeader(0, 0), false, "png"},
		{"png header without data", pngWithHeader(100, 100), false, "decode png"},
		{"jpeg declaring 65535x65535", jpegWithHeader(65535, 65535), false, "exceeds 40000000 pixels"},
		{"jpeg header without data", jpegWithHeader(100, 100), false, "decode jpeg"},
		{"jpeg start only", []byte{0xff, 0xd8, 0xff}, false, "decode jpeg header"},
		{"jpeg without a code", blank, true, "no QR code found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeBytes(tt.data)
			if got != "" {
				t.Errorf("text %q from bad input", got)
			}
			checkErr(t, err, tt.noCode, tt.want)
		})
	}
}

func TestDecodeImageBadInput(t *testing.T) {
	tests := []struct {
		name   string
		img    image.Image
		noCode bool
		want   string
	}{
		{"nil", nil, false, "nil image"},
		{"nil gray", (*image.Gray)(nil), false, "nil image"},
		{"zero size", image.NewGray(image.Rect(0, 0, 0, 0)), false, "empty image"},
		{"zero width", image.NewRGBA(image.Rect(5, 5, 5, 100)), false, "empty image"},
		{"one pixel", image.NewGray(image.Rect(0, 0, 1, 1)), true, "no QR code"},
		{"thin strip", image.NewNRGBA(image.Rect(0, 0, 2000, 1)), true, "no QR code"},
		{"white", fill(320, 240, 255), true, "no QR code"},
		{"black", fill(320, 240, 0), true, "no QR code"},
		{"noise", noise(fill(320, 240, 128), 80, rand.New(rand.NewPCG(2, 2))), true, "no QR code"},
		{"over the pixel bound", image.NewUniform(color.White), false, "exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeImage(tt.img)
			if got != "" {
				t.Errorf("text %q from bad input", got)
			}
			checkErr(t, err, tt.noCode, tt.want)
		})
	}
}

func TestDecodeFrameBadInput(t *testing.T) {
	buf := make([]byte, 64*64)
	tests := []struct {
		name                  string
		pix                   []byte
		width, height, stride int
		noCode                bool
		want                  string
	}{
		{"nil frame", nil, 64, 64, 64, false, "holds 0 bytes, too few"},
		{"zero size", buf, 0, 0, 0, false, "must be positive"},
		{"negative width", buf, -64, 64, 64, false, "must be positive"},
		{"negative height", buf, 64, -1, 64, false, "must be positive"},
		{"stride less than width", buf, 64, 64, 32, false, "stride 32 is less than width 64"},
		{"buffer too short", buf[:64*63], 64, 64, 64, false, "too few for 64x64"},
		{"buffer short of the stride", buf, 32, 64, 65, false, "too few"},
		{"huge declared size", buf, 1 << 30, 1 << 30, 1 << 30, false, "exceeds"},
		{"size overflowing int", buf, 1 << 62, 4, 1 << 62, false, "exceeds"},
		{"blank", buf, 64, 64, 64, true, "no QR code"},
		{"last row shorter than stride", buf[:64*63+32], 32, 64, 64, true, "no QR code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeGray(tt.pix, tt.width, tt.height, tt.stride)
			checkErr(t, err, tt.noCode, tt.want)
			for _, f := range []PixelFormat{NV12, I420} {
				_, err := DecodeYUV(tt.pix, f, tt.width, tt.height, tt.stride)
				checkErr(t, err, tt.noCode, tt.want)
			}
		})
	}
	t.Run("yuyv odd width", func(t *testing.T) {
		_, err := DecodeYUV(buf, YUYV, 31, 10, 62)
		checkErr(t, err, false, "odd")
	})
	t.Run("yuyv stride below two bytes a pixel", func(t *testing.T) {
		_, err := DecodeYUV(buf, UYVY, 32, 10, 32)
		checkErr(t, err, false, "less than width")
	})
	t.Run("unknown format", func(t *testing.T) {
		_, err := DecodeYUV(buf, PixelFormat(99), 64, 64, 64)
		checkErr(t, err, false, "unknown pixel format PixelFormat(99)")
	})
	t.Run("own pixel bound", func(t *testing.T) {
		d := NewDecoder(Config{MaxPixels: 1000})
		_, err := d.DecodeGray(buf, 64, 64, 64)
		checkErr(t, err, false, "exceeds 1000 pixels")
		_, err = d.DecodeBytes(codePNG(t))
		checkErr(t, err, false, "exceeds 1000 pixels")
	})
}

// FuzzDecodeBytes: whatever the bytes, DecodeBytes returns text or an
// error, and never panics. `go test` runs the seeds; `go test -fuzz
// FuzzDecodeBytes` explores.
func FuzzDecodeBytes(f *testing.F) {
	good, goodJPEG := codePNG(f), codeJPEG(f)
	for _, seed := range [][]byte{
		nil, good, goodJPEG, good[:100], goodJPEG[:len(goodJPEG)/2],
		pngWithHeader(100000, 100000), pngWithHeader(50, 50), jpegWithHeader(300, 300),
		[]byte("\x89PNG\r\n\x1a\n garbage"), {0xff, 0xd8, 0xff, 0xdb, 0, 0},
	} {
		f.Add(seed)
	}
	// A bound that keeps each fuzz input cheap; the default is tested above.
	d := NewDecoder(Config{MaxPixels: 1 << 20})
	f.Fuzz(func(t *testing.T, data []byte) {
		text, err := d.DecodeBytes(data)
		if (err == nil) == (text == "") {
			t.Fatalf("DecodeBytes = %q, %v: want text or an error", text, err)
		}
	})
}

// FuzzDecodeGray: whatever the frame geometry, DecodeGray never panics nor
// reads out of bounds.
func FuzzDecodeGray(f *testing.F) {
	f.Add([]byte{}, 0, 0, 0)
	f.Add(make([]byte, 64), 8, 8, 8)
	f.Add(make([]byte, 64), 8, 9, 8)
	f.Add(make([]byte, 100), 10, 5, 20)
	f.Add(make([]byte, 3), -1, -1, -1)
	d := NewDecoder(Config{MaxPixels: 1 << 16})
	f.Fuzz(func(t *testing.T, pix []byte, w, h, stride int) {
		d.DecodeGray(pix, w, h, stride)
		d.DecodeYUV(pix, YUYV, w, h, stride)
	})
}
