package scanner

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"reflect"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
)

// ErrNoCode is returned (wrapped) when an image holds no QR code the decoder
// can read. A gate loop branches on it: nothing in view is not a failure.
var ErrNoCode = errors.New("no QR code found")

// DefaultMaxPixels is the largest image or frame the decoder accepts: 40
// megapixels, well above any camera frame or scan we expect, and a bound on
// what a forged PNG or JPEG header can make us allocate (40 MB as gray, 160 MB
// as RGBA).
const DefaultMaxPixels = 40_000_000

// Effort says how hard a Decoder tries before it reports ErrNoCode.
type Effort int

const (
	// EffortThorough walks the whole fallback ladder: for still images,
	// files and one-shot scans, where a miss is final.
	EffortThorough Effort = iota
	// EffortFast tries only the passes that are cheap on a whole frame (two
	// binarizers, the inverted image, half scale, stretched contrast): for
	// live camera frames, where most frames hold no code and the next frame
	// is the retry.
	EffortFast
)

func (e Effort) String() string {
	switch e {
	case EffortThorough:
		return "thorough"
	case EffortFast:
		return "fast"
	}
	return fmt.Sprintf("Effort(%d)", int(e))
}

// Config configures a Decoder.
type Config struct {
	// MaxPixels refuses images and frames of more pixels than this before
	// any pixel is decoded. Zero means DefaultMaxPixels.
	MaxPixels int

	// Effort chooses the fallback ladder; see EffortThorough and EffortFast.
	// A first pass that succeeds costs the same at either effort; they
	// differ in what a frame without a readable code costs.
	Effort Effort
}

// DefaultConfig is the configuration of the package-level Decode functions:
// thorough, for still images.
func DefaultConfig() Config {
	return Config{MaxPixels: DefaultMaxPixels, Effort: EffortThorough}
}

// CameraConfig suits a decoder fed a live stream of frames: a frame without a
// code costs a few passes, not the whole ladder.
func CameraConfig() Config {
	return Config{MaxPixels: DefaultMaxPixels, Effort: EffortFast}
}

// A Decoder reads QR codes from images and frames. It keeps its conversion
// and scaling buffers between calls, so a camera loop that reuses one decoder
// allocates little. A Decoder is not safe for concurrent use; give each
// goroutine its own.
type Decoder struct {
	cfg         Config
	reader      gozxing.Reader   // detector and decoder, for the plain passes
	qrDecoder   *decoder.Decoder // decoder alone, for the search pass
	hintsHarder map[gozxing.DecodeHintType]interface{}

	bin     binarizeScratch
	gray    []byte         // the input converted to luminance, when it was not already
	scratch [nForms][]byte // the input transformed, one buffer per form
	planes  [nForms]plane  // the forms computed in the current call, by form.index
	ready   [nForms]bool   // which of planes is valid in the current call
	skip    [nForms]bool   // which forms do not apply to the current input
	last    string         // name of the pass that read the last code, for tests
}

// NewDecoder returns a Decoder configured by cfg.
func NewDecoder(cfg Config) *Decoder {
	if cfg.MaxPixels <= 0 {
		cfg.MaxPixels = DefaultMaxPixels
	}
	return &Decoder{
		cfg:         cfg,
		reader:      qrcode.NewQRCodeReader(),
		qrDecoder:   decoder.NewDecoder(),
		hintsHarder: map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true},
	}
}

// DecodeImage reads the QR code in img with a thorough decoder.
func DecodeImage(img image.Image) (string, error) {
	return NewDecoder(DefaultConfig()).DecodeImage(img)
}

// DecodeBytes reads the QR code in a PNG or JPEG file with a thorough decoder.
func DecodeBytes(data []byte) (string, error) {
	return NewDecoder(DefaultConfig()).DecodeBytes(data)
}

// DecodeGray reads the QR code in an 8-bit luminance frame with a thorough
// decoder. See Decoder.DecodeGray.
func DecodeGray(pix []byte, width, height, stride int) (string, error) {
	return NewDecoder(DefaultConfig()).DecodeGray(pix, width, height, stride)
}

// DecodeImage reads the QR code in img. *image.Gray and *image.YCbCr (what
// image/jpeg returns) are read in place; *image.RGBA, *image.NRGBA,
// *image.Paletted and *image.Gray16 are converted to luminance in one pass
// without per-pixel interface calls; transparent pixels count as white.
func (d *Decoder) DecodeImage(img image.Image) (string, error) {
	p, err := d.imagePlane(img)
	if err != nil {
		return "", fmt.Errorf("decode image: %w", err)
	}
	text, err := d.decode(p)
	if err != nil {
		return "", fmt.Errorf("decode image: %w", err)
	}
	return text, nil
}

// imagePlane checks img and converts it to luminance. An image.Image is an
// interface anyone can implement (or pass as a typed nil), so a panic while
// reading it becomes an error.
func (d *Decoder) imagePlane(img image.Image) (p plane, err error) {
	if img == nil {
		return plane{}, errors.New("nil image")
	}
	defer func() {
		if r := recover(); r != nil {
			p, err = plane{}, fmt.Errorf("read pixels of %T: %v", img, r)
		}
	}()
	if v := reflect.ValueOf(img); v.Kind() == reflect.Pointer && v.IsNil() {
		return plane{}, fmt.Errorf("nil image (%T)", img)
	}
	b := img.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 {
		return plane{}, fmt.Errorf("empty image %v", b)
	}
	if tooManyPixels(b.Dx(), b.Dy(), d.cfg.MaxPixels) {
		return plane{}, fmt.Errorf("%dx%d exceeds %d pixels", b.Dx(), b.Dy(), d.cfg.MaxPixels)
	}
	p, d.gray = grayPlane(img, d.gray)
	return p, nil
}

var (
	pngMagic  = []byte("\x89PNG\r\n\x1a\n")
	jpegMagic = []byte{0xff, 0xd8, 0xff}
)

// DecodeBytes reads the QR code in the bytes of a PNG or JPEG file. The
// header is checked against MaxPixels before the image is decoded.
func (d *Decoder) DecodeBytes(data []byte) (string, error) {
	var (
		decodeConfig func([]byte) (image.Config, error)
		decodeImage  func([]byte) (image.Image, error)
		format       string
	)
	switch {
	case bytes.HasPrefix(data, pngMagic):
		format = "png"
		decodeConfig = func(b []byte) (image.Config, error) { return png.DecodeConfig(bytes.NewReader(b)) }
		decodeImage = func(b []byte) (image.Image, error) { return png.Decode(bytes.NewReader(b)) }
	case bytes.HasPrefix(data, jpegMagic):
		format = "jpeg"
		decodeConfig = func(b []byte) (image.Config, error) { return jpeg.DecodeConfig(bytes.NewReader(b)) }
		decodeImage = func(b []byte) (image.Image, error) { return jpeg.Decode(bytes.NewReader(b)) }
	case len(data) == 0:
		return "", errors.New("decode image file: empty input")
	default:
		return "", fmt.Errorf("decode image file: not a PNG or JPEG file (starts %q)", data[:min(len(data), 8)])
	}
	cfg, err := decodeConfig(data)
	if err != nil {
		return "", fmt.Errorf("decode %s header: %w", format, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return "", fmt.Errorf("decode %s: empty image %dx%d", format, cfg.Width, cfg.Height)
	}
	if tooManyPixels(cfg.Width, cfg.Height, d.cfg.MaxPixels) {
		return "", fmt.Errorf("decode %s: %dx%d exceeds %d pixels", format, cfg.Width, cfg.Height, d.cfg.MaxPixels)
	}
	img, err := decodeImage(data)
	if err != nil {
		return "", fmt.Errorf("decode %s: %w", format, err)
	}
	text, err := d.DecodeImage(img)
	if err != nil {
		return "", fmt.Errorf("%s: %w", format, err)
	}
	return text, nil
}

// DecodeGray reads the QR code in an 8-bit luminance frame: width x height
// pixels, row y starting at pix[y*stride], 0 black and 255 white. It is the
// fast path for camera frames (the Y plane of a YUV frame is one): the
// first pass reads the buffer where it lies, without converting it; the
// buffer is never written to nor kept, and may be reused as soon as
// DecodeGray returns.
func (d *Decoder) DecodeGray(pix []byte, width, height, stride int) (string, error) {
	if err := checkPlane(pix, width, height, stride, d.cfg.MaxPixels); err != nil {
		return "", fmt.Errorf("decode gray frame: %w", err)
	}
	text, err := d.decode(plane{pix: pix, width: width, height: height, stride: stride})
	if err != nil {
		return "", fmt.Errorf("decode gray frame: %w", err)
	}
	return text, nil
}

// form is a transform of the input plane that a pass decodes: scaled, then
// contrast-stretched, then inverted, then padded with a quiet zone.
type form struct {
	scale   scaleStep
	stretch bool // grey levels spread over the full range (low-contrast images only)
	invert  bool // light modules on a dark ground
	pad     bool // a quiet zone added around the image
}

// scaleStep is one of the scale factors the ladder uses.
type scaleStep uint8

const (
	scale1    scaleStep = iota // as given
	scaleHalf                  // 1/2, averaging 2x2 blocks
	scale3of4                  // 3/4
	scale3of2                  // 3/2
	scale2                     // 2
	scale3                     // 3
	nScales
)

var scaleFactors = [nScales]struct{ num, den int }{{1, 1}, {1, 2}, {3, 4}, {3, 2}, {2, 1}, {3, 1}}

// nForms is the number of distinct forms, the size of the per-call cache.
const nForms = int(nScales) * 8

func (f form) index() int {
	i := int(f.scale) * 8
	if f.stretch {
		i += 4
	}
	if f.invert {
		i += 2
	}
	if f.pad {
		i++
	}
	return i
}

func (f form) String() string {
	s := "x1"
	if f.scale != scale1 {
		sf := scaleFactors[f.scale]
		s = fmt.Sprintf("x%d/%d", sf.num, sf.den)
	}
	if f.stretch {
		s += "/stretched"
	}
	if f.invert {
		s += "/inverted"
	}
	if f.pad {
		s += "/padded"
	}
	return s
}

// binarizer chooses how luminance becomes black and white.
type binarizer uint8

const (
	// hybrid thresholds each 8x8 block against its 5x5-block neighbourhood:
	// good under uneven light, weak on tiny modules.
	hybrid binarizer = iota
	// global thresholds the whole image at one level found from its
	// histogram: good on clean, evenly lit or blurred images.
	global
)

// mode chooses the detector settings.
type mode uint8

const (
	modeNormal mode = iota
	modeHarder      // TRY_HARDER: scan every third row for finder patterns
	modeSearch      // every plausible triple of finder patterns at several sizes: see search.go
)

// pass is one attempt of the ladder.
type pass struct {
	form form
	bin  binarizer
	mode mode
}

func (p pass) String() string {
	s := p.form.String()
	if p.bin == global {
		s += "/global"
	} else {
		s += "/hybrid"
	}
	switch p.mode {
	case modeHarder:
		s += "/harder"
	case modeSearch:
		s += "/search"
	}
	return s
}

// The ladders, cheapest and most often useful first. A pass whose form does
// not apply to an image (too small to halve, too large to enlarge, already
// of full contrast) is skipped. The order and the choice of passes come from
// decoding a corpus of 1,500 qrencode images (see TestCorpus): the comments
// say what each pass read there that the passes before it did not.
var (
	fastLadder = []pass{
		{form{}, hybrid, modeNormal},                 // the common case: ~2/3 of the corpus, every clean frame
		{form{}, global, modeNormal},                 // blurred and evenly lit codes: 19
		{form{invert: true}, hybrid, modeNormal},     // light-on-dark codes: 323
		{form{scale: scaleHalf}, hybrid, modeNormal}, // noise, JPEG blocks, big modules: 18
		{form{stretch: true}, hybrid, modeNormal},    // low contrast (dim light, glare)
	}
	thoroughLadder = append(fastLadder[:len(fastLadder):len(fastLadder)],
		pass{form{stretch: true, invert: true}, hybrid, modeNormal},
		pass{form{}, global, modeSearch},                               // sizes off by one step, clutter: 33
		pass{form{invert: true}, global, modeSearch},                   // the same, light on dark: 23
		pass{form{stretch: true}, global, modeSearch},                  // low contrast, odd sizes
		pass{form{scale: scale3of4}, hybrid, modeSearch},               // scaled by a fraction: 18
		pass{form{}, hybrid, modeSearch},                               // 1
		pass{form{scale: scale3of4, invert: true}, hybrid, modeSearch}, // 6
		pass{form{}, global, modeHarder},                               // every third row for finder patterns: 9
		pass{form{scale: scale3of2}, hybrid, modeSearch},               // small modules, turned: 10
		pass{form{scale: scale3of2, invert: true}, hybrid, modeSearch}, // 6
		pass{form{scale: scaleHalf}, global, modeSearch},               // 1
		pass{form{scale: scale2}, hybrid, modeSearch},                  // 1–2 px modules: 5
		pass{form{scale: scale2, invert: true}, hybrid, modeSearch},    // 3
		pass{form{scale: scale3}, hybrid, modeSearch},                  // 1 px modules: 2
		pass{form{scale: scale3, invert: true}, hybrid, modeSearch},    // 1
		pass{form{pad: true}, hybrid, modeNormal},                      // no quiet zone: 1
		pass{form{pad: true, invert: true}, hybrid, modeNormal},        // 1
		pass{form{scale: scale2, pad: true}, hybrid, modeSearch},       // tiny codes (1.25 px modules): 9 in 16 that nothing else reads
	)
)

// Limits of the scaled forms.
const (
	minScaledSide   = 42        // a scaled image smaller than this cannot hold a useful code
	maxScaledPixels = 4_200_000 // scaling up beyond this costs more than it can rescue
	// An enlarged image gets a quiet zone added only while small: the pass
	// is for tiny codes that fill their image, not for camera frames.
	maxPaddedScaled = 1_000_000
)

// decode walks the ladder on p.
func (d *Decoder) decode(p plane) (string, error) {
	ladder := thoroughLadder
	if d.cfg.Effort == EffortFast {
		ladder = fastLadder
	}
	return d.walk(p, ladder)
}

// walk tries the passes of ladder on p in order.
func (d *Decoder) walk(p plane, ladder []pass) (string, error) {
	d.ready, d.skip = [nForms]bool{}, [nForms]bool{}
	d.planes[0], d.ready[0] = p, true
	var lastErr error
	for _, ps := range ladder {
		src, ok := d.form(ps.form)
		if !ok {
			continue
		}
		text, err := d.decodePass(src, ps)
		if err == nil {
			d.last = ps.String()
			d.release()
			return text, nil
		}
		if !isNotReadable(err) {
			lastErr = err
		}
	}
	d.last = ""
	d.release()
	if lastErr != nil {
		return "", fmt.Errorf("qr decoder: %w", lastErr)
	}
	return "", ErrNoCode
}

// release drops the decoder's references to the caller's pixels: the
// caller may reuse or free its buffer once a Decode call returns.
func (d *Decoder) release() {
	d.planes = [nForms]plane{}
	d.ready = [nForms]bool{}
}

// form returns form f of the current input, computing it (and the forms it
// is made from) at most once per call; ok is false when the form does not
// apply to an image of this size.
func (d *Decoder) form(f form) (p plane, ok bool) {
	i := f.index()
	if d.ready[i] {
		return d.planes[i], true
	}
	if d.skip[i] {
		return plane{}, false
	}
	p, ok = d.makeForm(f)
	if !ok {
		d.skip[i] = true
		return plane{}, false
	}
	d.planes[i], d.ready[i] = p, true
	return p, true
}

func (d *Decoder) makeForm(f form) (p plane, ok bool) {
	i := f.index()
	inner := f
	switch {
	case f.pad:
		inner.pad = false
		src, ok := d.form(inner)
		if !ok || f.scale != scale1 && src.width*src.height > maxPaddedScaled {
			return plane{}, false
		}
		p, d.scratch[i] = pad(src, padMargin(src), 255, d.scratch[i])
	case f.invert:
		inner.invert = false
		src, ok := d.form(inner)
		if !ok {
			return plane{}, false
		}
		p, d.scratch[i] = invert(src, d.scratch[i])
	case f.stretch:
		inner.stretch = false
		src, ok := d.form(inner)
		if !ok {
			return plane{}, false
		}
		if p, d.scratch[i], ok = stretch(src, d.scratch[i]); !ok {
			return plane{}, false
		}
	case f.scale != scale1:
		orig := d.planes[0]
		sf := scaleFactors[f.scale]
		w, h := orig.width*sf.num/sf.den, orig.height*sf.num/sf.den
		if min(w, h) < minScaledSide || w*h > maxScaledPixels {
			return plane{}, false
		}
		if f.scale == scaleHalf {
			p, d.scratch[i] = halve(orig, d.scratch[i])
		} else {
			p, d.scratch[i] = resample(orig, w, h, d.scratch[i])
		}
	default:
		return d.planes[0], true
	}
	return p, true
}

// padMargin is the quiet zone added around an image: enough for four
// modules of a small code filling the image.
func padMargin(p plane) int {
	return max(8, min(p.width, p.height)/8)
}

// decodePass runs one pass of gozxing on p.
func (d *Decoder) decodePass(p plane, ps pass) (text string, err error) {
	// gozxing is a port of Java code that signals some states by panicking
	// in Java terms (index out of range); a frame must never crash a gate.
	defer func() {
		if r := recover(); r != nil {
			text, err = "", fmt.Errorf("pass %v: recovered from %v", ps, r)
		}
	}()
	src, err := gozxing.NewPlanarYUVLuminanceSource(p.pix, p.stride, p.height, 0, 0, p.width, p.height, false)
	if err != nil {
		return "", err
	}
	var b gozxing.Binarizer
	if ps.bin == global {
		b = gozxing.NewGlobalHistgramBinarizer(src)
	} else {
		b = &hybridBinarizer{p: p, src: src, scr: &d.bin}
	}
	bmp, err := gozxing.NewBinaryBitmap(b)
	if err != nil {
		return "", err
	}
	if ps.mode == modeSearch {
		bits, err := bmp.GetBlackMatrix()
		if err != nil {
			return "", err
		}
		return d.search(bits, nil)
	}
	var hints map[gozxing.DecodeHintType]interface{}
	if ps.mode == modeHarder {
		hints = d.hintsHarder
	}
	res, err := d.reader.Decode(bmp, hints)
	if err != nil {
		return "", err
	}
	return res.GetText(), nil
}

// isNotReadable reports whether err means "no code here" (not found, or
// found but failing its checksum or format: gozxing's ReaderException)
// rather than a fault.
func isNotReadable(err error) bool {
	var re gozxing.ReaderException
	return errors.As(err, &re)
}
