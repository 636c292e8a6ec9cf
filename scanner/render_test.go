package scanner

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestRenderRoundTrip renders many random codes of our alphabet, 40 to 200
// characters, some with a rotating suffix, and reads each back.
func TestRenderRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	d := NewDecoder(DefaultConfig())
	for i := range 60 {
		n := 40 + rng.IntN(161)
		text := randomCode(rng, n)
		if i%3 == 0 {
			text = text[:n-7] + fmt.Sprintf("*%06d", rng.IntN(1_000_000))
		}
		v, err := Version(text)
		if err != nil {
			t.Fatalf("Version(%d chars): %v", n, err)
		}
		// Alphanumeric mode at ECC M holds 154 characters in version 6,
		// 221 in version 8: our codes never need more.
		if v > 8 {
			t.Errorf("%d chars: version %d, want ≤ 8 (alphanumeric mode)", n, v)
		}
		s, err := encode(text)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(s.modules), 17+4*v+2*QuietZone; got != want {
			t.Errorf("%d chars: %d modules with quiet zone, want %d for version %d", n, got, want, v)
		}
		size := len(s.modules)*(2+rng.IntN(4)) + rng.IntN(20)
		img, err := Render(text, size)
		if err != nil {
			t.Fatalf("Render(%d chars, %d): %v", n, size, err)
		}
		if b := img.Bounds(); b.Dx() != size || b.Dy() != size {
			t.Errorf("image %v, want %dx%d", b, size, size)
		}
		got, err := d.DecodeImage(img)
		if err != nil || got != text {
			t.Errorf("round trip of %q at %d px: got %q, %v", text, size, got, err)
		}
	}
}

// TestTicketCodeVersions pins the QR version of ticket codes of typical
// lengths at ECC M: alphanumeric mode holds 122 characters in version 5 and
// 154 in version 6.
func TestTicketCodeVersions(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tt := range []struct{ chars, want int }{
		{100, 5}, {120, 5}, {122, 5}, {123, 6}, {128, 6}, {130, 6}, {140, 6}, {154, 6}, {155, 7},
	} {
		text := randomCode(rng, tt.chars)
		got, err := Version(text)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := encode(text)
		t.Logf("%3d characters: version %d (%d modules, %d with quiet zone)", tt.chars, got, 17+4*got, len(s.modules))
		if got != tt.want {
			t.Errorf("%d characters: version %d, want %d", tt.chars, got, tt.want)
		}
	}
	// A typical code with its rotating suffix still fits version 6.
	if v, _ := Version(randomCode(rng, 128) + "*123456"); v > 6 {
		t.Errorf("128 characters + rotating suffix: version %d, want ≤ 6", v)
	}
}

// TestRenderGeometry checks what Render promises about the image: whole
// pixels per module, a centred code, a quiet zone of at least four modules.
func TestRenderGeometry(t *testing.T) {
	text := randomCode(rand.New(rand.NewPCG(5, 6)), 128)
	s, _ := encode(text)
	n := len(s.modules) // 49 for version 6
	for _, size := range []int{n, n + 1, 2*n - 1, 2 * n, 300, 343, 400} {
		img, err := render(text, size)
		if err != nil {
			t.Fatalf("render(%d): %v", size, err)
		}
		px := size / n
		off := (size - n*px) / 2
		for my := range n {
			for mx := range n {
				// Every pixel of the module has the module's colour.
				want := uint8(0)
				if s.modules[my][mx] {
					want = 1
				}
				for _, p := range [][2]int{{0, 0}, {px - 1, px - 1}, {px / 2, 0}} {
					x, y := off+mx*px+p[0], off+my*px+p[1]
					if got := img.ColorIndexAt(x, y); got != want {
						t.Fatalf("size %d: pixel (%d,%d) of module (%d,%d) = %d, want %d", size, x, y, mx, my, got, want)
					}
				}
			}
		}
		// The rows above the quiet zone's inner edge are white.
		for y := 0; y < off+QuietZone*px; y++ {
			for x := 0; x < size; x++ {
				if img.ColorIndexAt(x, y) != 0 {
					t.Fatalf("size %d: dark pixel (%d,%d) in the quiet zone", size, x, y)
				}
			}
		}
	}
}

func TestRenderErrors(t *testing.T) {
	code := randomCode(rand.New(rand.NewPCG(7, 8)), 128)
	tests := []struct {
		name string
		text string
		size int
		want string
	}{
		{"empty text", "", 200, "empty text"},
		{"zero size", code, 0, "out of range"},
		{"negative size", code, -5, "out of range"},
		{"huge size", code, MaxRenderSize + 1, "out of range"},
		{"size below one pixel per module", code, 48, "too small for version 6"},
		{"text too long", strings.Repeat("A", 5000), 2000, "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := Render(tt.text, tt.size)
			if err == nil || img != nil {
				t.Fatalf("Render = %v, %v; want an error", img, err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "render qr: ") {
				t.Errorf("error %q, want it to start with \"render qr: \" and contain %q", err, tt.want)
			}
			if _, err := RenderPNG(tt.text, tt.size); err == nil {
				t.Error("RenderPNG: no error")
			}
		})
	}
	if _, err := Version(""); err == nil {
		t.Error("Version(\"\"): no error")
	}
	if _, err := Version(strings.Repeat("a", 3000)); err == nil {
		t.Error("Version(3000 bytes): no error")
	}
}

func TestRenderPNG(t *testing.T) {
	text := randomCode(rand.New(rand.NewPCG(9, 10)), 128)
	data, err := RenderPNG(text, 256)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if cfg.Width != 256 || cfg.Height != 256 {
		t.Errorf("PNG is %dx%d, want 256x256", cfg.Width, cfg.Height)
	}
	img, _ := png.Decode(bytes.NewReader(data))
	if _, ok := img.(*image.Paletted); !ok {
		t.Errorf("PNG decodes as %T, want a paletted (1-bit) image", img)
	}
	t.Logf("128-character code as a 256 px PNG: %d bytes", len(data))
	got, err := DecodeBytes(data)
	if err != nil || got != text {
		t.Fatalf("DecodeBytes(RenderPNG) = %q, %v; want %q", got, err, text)
	}
}
