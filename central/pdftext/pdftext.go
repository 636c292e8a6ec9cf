package pdftext

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"unicode"

	"codeberg.org/go-pdf/fpdf"
)

// Fonts are the TrueType files a Doc draws with.
type Fonts struct {
	// Latin has the Latin letters, digits and ¥ (Debian:
	// fonts-dejavu-core).
	Latin string
	// CJK has the Chinese characters (Debian: fonts-droid-fallback; the
	// .ttc of fonts-noto-cjk is OpenType/CFF and does not load).
	CJK string
}

// DefaultFonts are Debian's.
func DefaultFonts() Fonts {
	return Fonts{Latin: "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", CJK: "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"}
}

// Loader reads a Fonts' files once and keeps them.
type Loader struct {
	paths      Fonts
	once       sync.Once
	latin, cjk []byte
	err        error
}

// NewLoader reads fonts on first use; zero fonts are DefaultFonts.
func NewLoader(fonts Fonts) *Loader {
	if fonts == (Fonts{}) {
		fonts = DefaultFonts()
	}
	return &Loader{paths: fonts}
}

// Load reads the files, once; it says which packages to install when
// they are missing.
func (l *Loader) Load() error {
	l.once.Do(func() {
		var e1, e2 error
		l.latin, e1 = os.ReadFile(l.paths.Latin)
		l.cjk, e2 = os.ReadFile(l.paths.CJK)
		if err := errors.Join(e1, e2); err != nil {
			l.err = fmt.Errorf("pdf fonts (install fonts-dejavu-core and fonts-droid-fallback): %w", err)
		}
	})
	return l.err
}

// Doc is a PDF with both fonts registered.
type Doc struct {
	PDF *fpdf.Fpdf
}

// New registers the fonts in pdf; Load must have succeeded.
func (l *Loader) New(pdf *fpdf.Fpdf) Doc {
	pdf.AddUTF8FontFromBytes("latin", "", l.latin)
	pdf.AddUTF8FontFromBytes("cjk", "", l.cjk)
	return Doc{PDF: pdf}
}

// IsCJK reports whether r is drawn from the Chinese font.
func IsCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || (r >= 0x3000 && r <= 0x303f) || (r >= 0xff00 && r <= 0xffef)
}

// Run is a stretch of text drawn from one font.
type Run struct {
	CJK  bool
	Text string
}

// Runs splits s into runs of one font each.
func Runs(s string) []Run {
	var out []Run
	start, cjk := 0, false
	for i, r := range s {
		if c := IsCJK(r); c != cjk && r != ' ' {
			if i > start {
				out = append(out, Run{cjk, s[start:i]})
			}
			start, cjk = i, c
		}
	}
	if len(s) > start {
		out = append(out, Run{cjk, s[start:]})
	}
	return out
}

func (d Doc) font(cjk bool, size float64) {
	if cjk {
		d.PDF.SetFont("cjk", "", size)
	} else {
		d.PDF.SetFont("latin", "", size)
	}
}

// Write draws s as a paragraph (wrapping at the margins), each run in
// the font that has it, and ends the line.
func (d Doc) Write(s string, size, lineH float64) {
	for _, r := range Runs(s) {
		d.font(r.CJK, size)
		d.PDF.Write(lineH, r.Text)
	}
	d.PDF.Ln(lineH)
}

// Width is the width of s drawn at size.
func (d Doc) Width(s string, size float64) float64 {
	w := 0.0
	for _, r := range Runs(s) {
		d.font(r.CJK, size)
		w += d.PDF.GetStringWidth(r.Text)
	}
	return w
}

// Text draws s on one line with its left end at x and baseline box top
// at y, without moving to the next line.
func (d Doc) Text(x, y float64, s string, size, lineH float64) {
	d.PDF.SetXY(x, y)
	for _, r := range Runs(s) {
		d.font(r.CJK, size)
		w := d.PDF.GetStringWidth(r.Text)
		d.PDF.CellFormat(w, lineH, r.Text, "", 0, "L", false, 0, "")
	}
}

// Right draws s on one line ending at x.
func (d Doc) Right(x, y float64, s string, size, lineH float64) {
	d.Text(x-d.Width(s, size), y, s, size, lineH)
}
