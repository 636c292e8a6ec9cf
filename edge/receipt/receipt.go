package receipt

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
	"unicode"

	"codeberg.org/go-pdf/fpdf"
)

// Config says where the fonts are.
type Config struct {
	// LatinFont is a TrueType font with Latin glyphs and ¥ (Debian:
	// fonts-dejavu-core).
	LatinFont string
	// CJKFont is a TrueType font with Chinese glyphs (Debian:
	// fonts-droid-fallback). An OpenType/CFF font (fonts-noto-cjk's .ttc)
	// does not work: the PDF library embeds TrueType only.
	CJKFont string
}

// DefaultConfig is the Debian fonts.
func DefaultConfig() Config {
	return Config{
		LatinFont: "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
		CJKFont:   "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
	}
}

// Printer draws documents with the fonts of its Config, read once on first
// use.
type Printer struct {
	cfg        Config
	once       sync.Once
	latin, cjk []byte
	errLoad    error
}

// New is a printer with the fonts of cfg.
func New(cfg Config) *Printer { return &Printer{cfg: cfg} }

func (p *Printer) fonts() error {
	p.once.Do(func() {
		var err1, err2 error
		p.latin, err1 = os.ReadFile(p.cfg.LatinFont)
		p.cjk, err2 = os.ReadFile(p.cfg.CJKFont)
		if err := errors.Join(err1, err2); err != nil {
			p.errLoad = fmt.Errorf("receipt fonts (install fonts-dejavu-core and fonts-droid-fallback): %w", err)
		}
	})
	return p.errLoad
}

// Line is one line of a document: a label and its value, right-aligned.
type Line struct {
	Label, Value string
	Bold         bool // a total
}

// Receipt is one sale, its text in the buyer's language.
type Receipt struct {
	Lang    string // "zh" or "en": the labels' language
	Number  uint64 // the device's receipt number
	Device  string
	Venue   string
	At      time.Time // in the venue's zone
	Event   string
	Type    string
	Tickets []Line // one per ticket: serial and what it cost
	Totals  []Line // offer, total, payment, given, change
	Voided  bool
}

// ShiftReport is a shift's account, its text in the reader's language.
type ShiftReport struct {
	Lang   string
	Number uint64
	Device string
	Seller string
	Opened time.Time
	Closed time.Time // zero while open
	Lines  []Line
	Moves  []Line // cash in and out, with reasons
}

// labels of documents, by language.
var labels = map[string]map[string]string{
	"en": {"receipt": "Receipt", "no": "No.", "device": "Device", "venue": "Venue", "date": "Date", "event": "Event",
		"type": "Ticket type", "tickets": "Tickets", "voided": "VOIDED", "shift": "Shift report", "seller": "Seller",
		"opened": "Opened", "closed": "Closed", "open": "still open", "moves": "Cash in and out", "thanks": "Show the QR code of each ticket at the gate."},
	"zh": {"receipt": "收据", "no": "编号", "device": "设备", "venue": "场馆", "date": "日期", "event": "活动",
		"type": "票种", "tickets": "门票", "voided": "已作废", "shift": "班次报表", "seller": "售票员",
		"opened": "开班", "closed": "结班", "open": "尚未结班", "moves": "现金存取", "thanks": "入场时请出示每张门票的二维码。"},
}

func label(lang, key string) string {
	if m, ok := labels[lang]; ok {
		return m[key]
	}
	return labels["en"][key]
}

// doc is a document being drawn on a roll 80 mm wide.
type doc struct {
	pdf  *fpdf.Fpdf
	lang string
}

const (
	pageW  = 80.0
	margin = 5.0
	lineH  = 5.5
)

func (p *Printer) newDoc(lang string, lines int, title string) (*doc, error) {
	if err := p.fonts(); err != nil {
		return nil, err
	}
	h := 30 + float64(lines)*lineH
	pdf := fpdf.NewCustom(&fpdf.InitType{UnitStr: "mm", Size: fpdf.SizeType{Wd: pageW, Ht: h}})
	pdf.SetMargins(margin, margin, margin)
	pdf.SetAutoPageBreak(false, margin)
	pdf.SetTitle(title, false)
	pdf.SetCreator("tixgate", false)
	pdf.AddUTF8FontFromBytes("latin", "", p.latin)
	pdf.AddUTF8FontFromBytes("cjk", "", p.cjk)
	pdf.AddPage()
	return &doc{pdf: pdf, lang: lang}, pdf.Error()
}

// isCJK reports whether r is drawn from the Chinese font.
func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || (r >= 0x3000 && r <= 0x303f) || (r >= 0xff00 && r <= 0xffef)
}

// runs splits s into runs of one font each.
func runs(s string) []struct {
	cjk  bool
	text string
} {
	var out []struct {
		cjk  bool
		text string
	}
	for _, r := range s {
		c := isCJK(r)
		if n := len(out); n > 0 && (out[n-1].cjk == c || r == ' ') {
			out[n-1].text += string(r)
			continue
		}
		out = append(out, struct {
			cjk  bool
			text string
		}{c, string(r)})
	}
	return out
}

// width is the width of s drawn at size.
func (d *doc) width(s string, size float64) float64 {
	w := 0.0
	for _, r := range runs(s) {
		d.font(r.cjk, size)
		w += d.pdf.GetStringWidth(r.text)
	}
	return w
}

func (d *doc) font(cjk bool, size float64) {
	if cjk {
		d.pdf.SetFont("cjk", "", size)
	} else {
		d.pdf.SetFont("latin", "", size)
	}
}

// text draws s at x on the current line, run by run.
func (d *doc) text(x float64, s string, size float64) {
	d.pdf.SetX(x)
	for _, r := range runs(s) {
		d.font(r.cjk, size)
		d.pdf.Write(lineH, r.text)
	}
}

// line draws a label on the left and its value on the right.
func (d *doc) line(l Line) {
	size := 9.0
	if l.Bold {
		size = 11
	}
	y := d.pdf.GetY()
	d.text(margin, l.Label, size)
	d.pdf.SetY(y)
	d.pdf.SetRightMargin(0) // a value ends at the margin: never wrap it
	d.text(pageW-margin-d.width(l.Value, size), l.Value, size)
	d.pdf.SetRightMargin(margin)
	d.pdf.SetY(y + lineH)
}

// heading draws s centred, large.
func (d *doc) heading(s string, size float64) {
	y := d.pdf.GetY()
	d.text((pageW-d.width(s, size))/2, s, size)
	d.pdf.SetY(y + lineH + 2)
}

func (d *doc) rule() {
	y := d.pdf.GetY() + 1
	d.pdf.Line(margin, y, pageW-margin, y)
	d.pdf.SetY(y + 1.5)
}

func (d *doc) out(w io.Writer) error {
	if err := d.pdf.Error(); err != nil {
		return fmt.Errorf("draw pdf: %w", err)
	}
	if err := d.pdf.Output(w); err != nil {
		return fmt.Errorf("write pdf: %w", err)
	}
	return nil
}

// Receipt writes the receipt as a PDF to w.
func (p *Printer) Receipt(w io.Writer, r Receipt) error {
	title := fmt.Sprintf("Receipt %d", r.Number)
	d, err := p.newDoc(r.Lang, 8+len(r.Tickets)+len(r.Totals), title)
	if err != nil {
		return err
	}
	d.heading(label(r.Lang, "receipt")+" "+label(r.Lang, "no")+" "+fmt.Sprint(r.Number), 14)
	if r.Voided {
		d.heading(label(r.Lang, "voided"), 14)
	}
	for _, l := range []Line{{label(r.Lang, "venue"), r.Venue, false}, {label(r.Lang, "device"), r.Device, false},
		{label(r.Lang, "date"), r.At.Format("2006-01-02 15:04"), false}, {label(r.Lang, "event"), r.Event, false},
		{label(r.Lang, "type"), r.Type, false}} {
		d.line(l)
	}
	d.rule()
	for _, l := range r.Tickets {
		d.line(l)
	}
	d.rule()
	for _, l := range r.Totals {
		d.line(l)
	}
	d.rule()
	d.text(margin, label(r.Lang, "thanks"), 8)
	return d.out(w)
}

// Shift writes the shift's report as a PDF to w.
func (p *Printer) Shift(w io.Writer, s ShiftReport) error {
	title := fmt.Sprintf("Shift %d", s.Number)
	d, err := p.newDoc(s.Lang, 7+len(s.Lines)+len(s.Moves), title)
	if err != nil {
		return err
	}
	d.heading(label(s.Lang, "shift")+" "+fmt.Sprint(s.Number), 14)
	closed := label(s.Lang, "open")
	if !s.Closed.IsZero() {
		closed = s.Closed.Format("2006-01-02 15:04")
	}
	for _, l := range []Line{{label(s.Lang, "device"), s.Device, false}, {label(s.Lang, "seller"), s.Seller, false},
		{label(s.Lang, "opened"), s.Opened.Format("2006-01-02 15:04"), false}, {label(s.Lang, "closed"), closed, false}} {
		d.line(l)
	}
	d.rule()
	for _, l := range s.Lines {
		d.line(l)
	}
	if len(s.Moves) > 0 {
		d.rule()
		d.text(margin, label(s.Lang, "moves"), 9)
		d.pdf.SetY(d.pdf.GetY() + lineH)
		for _, l := range s.Moves {
			d.line(l)
		}
	}
	return d.out(w)
}
