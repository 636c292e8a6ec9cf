package scanner

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	qrcode "github.com/skip2/go-qrcode"
)

var (
	corpusSize = flag.Int("corpus", 240, "number of qrencode images in TestCorpus")
	corpusSeed = flag.Uint64("corpus.seed", 20260509, "random seed of TestCorpus")
)

// corpusItem is one image of the corpus: a code made by qrencode, perhaps
// perturbed, and what each decoder read from it.
type corpusItem struct {
	path    string
	text    string
	args    qrencodeArgs
	version int    // the version qrencode chose
	perturb string // what was done to the image after qrencode
	seed    uint64 // of the item's own random numbers
	rng     *rand.Rand
	img     *image.Gray // the perturbed image; nil for qrencode's own file
	ours    string      // the pass of ours that read it
	read    map[string]bool
}

// The decoders compared.
const (
	decOurs  = "ours"
	decZbar  = "zbarimg"
	decZXing = "ZXingReader"
)

var corpusPerturbations = []string{"none", "rotate", "scale", "blur", "noise", "jpeg40", "frame"}

// TestCorpus reads a varied corpus of codes we did not make — qrencode,
// versions 1–25, all four error correction levels, 1–8 px modules, quiet
// zones of 0–4 modules, both polarities, byte and alphanumeric data, and the
// perturbations of the robustness test — with this package, zbarimg and
// ZXingReader, and requires this package to read at least as many as each
// peer, overall and in every category.
func TestCorpus(t *testing.T) {
	t.Parallel()
	qrenc := requireTool(t, toolQrencode)
	zbar := requireTool(t, toolZbar)
	zxing := requireTool(t, toolZXing)

	rng := rand.New(rand.NewPCG(*corpusSeed, 1))
	dir := t.TempDir()
	start := time.Now()
	items := make([]*corpusItem, *corpusSize)
	for i := range items {
		items[i] = newCorpusItem(rng, dir, i)
	}
	parallel(len(items), func(i int) { items[i].draw() })
	raws, args := make([]string, len(items)), make([]qrencodeArgs, len(items))
	for i, it := range items {
		raws[i], args[i] = it.raw(), it.args
	}
	qrencodeMany(t, qrenc, raws, args)
	parallel(len(items), func(i int) { items[i].perturbImage(t) })
	made := time.Since(start)
	paths := make([]string, len(items))
	for i, it := range items {
		paths[i] = it.path
	}

	// The peers run while ours decodes; each uses one process at a time.
	var wg sync.WaitGroup
	var zbarGot, zxingGot map[string]string
	var zbarErr, zxingErr error
	var zbarTime, zxingTime time.Duration
	wg.Go(func() {
		start := time.Now()
		zbarGot, zbarErr = runZbar(zbar, paths)
		zbarTime = time.Since(start)
	})
	wg.Go(func() {
		start := time.Now()
		zxingGot, zxingErr = runZXing(zxing, paths)
		zxingTime = time.Since(start)
	})
	start = time.Now()
	decodeCorpus(t, items)
	oursTime := time.Since(start)
	wg.Wait()
	if zbarErr != nil || zxingErr != nil {
		t.Fatal(errors.Join(zbarErr, zxingErr))
	}
	t.Logf("made %d images in %v; read them in %v (ours, %d goroutines), %v (zbarimg), %v (ZXingReader), side by side",
		len(items), made.Round(time.Millisecond), oursTime.Round(time.Millisecond), runtime.GOMAXPROCS(0),
		zbarTime.Round(time.Millisecond), zxingTime.Round(time.Millisecond))
	for _, it := range items {
		it.read[decZbar] = zbarGot[it.path] == it.text
		it.read[decZXing] = zxingGot[it.path] == it.text
	}

	tables := []struct {
		name string
		key  func(*corpusItem) string
	}{
		{"all", func(*corpusItem) string { return "all" }},
		{"version", func(it *corpusItem) string { return versionBucket(it.version) }},
		{"ecc", func(it *corpusItem) string { return it.args.level }},
		{"module px", func(it *corpusItem) string { return fmt.Sprint(it.args.modulePx) }},
		{"margin", func(it *corpusItem) string { return fmt.Sprint(it.args.margin) }},
		{"polarity", func(it *corpusItem) string {
			if it.args.inverted {
				return "inverted"
			}
			return "normal"
		}},
		{"mode", func(it *corpusItem) string {
			if it.args.byteMode {
				return "byte"
			}
			return "alnum"
		}},
		{"perturbation", func(it *corpusItem) string { return it.perturb }},
	}
	var report strings.Builder
	fmt.Fprintf(&report, "corpus of %d qrencode images (seed %d): images read\n", len(items), *corpusSeed)
	fmt.Fprintf(&report, "%-14s %-10s %5s %7s %8s %12s\n", "category", "value", "n", "ours", "zbarimg", "ZXingReader")
	for _, tab := range tables {
		rows := map[string][3]int{}
		counts := map[string]int{}
		for _, it := range items {
			k := tab.key(it)
			r := rows[k]
			for j, dec := range []string{decOurs, decZbar, decZXing} {
				if it.read[dec] {
					r[j]++
				}
			}
			rows[k] = r
			counts[k]++
		}
		keys := make([]string, 0, len(rows))
		for k := range rows {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareNatural)
		for _, k := range keys {
			r, n := rows[k], counts[k]
			fmt.Fprintf(&report, "%-14s %-10s %5d %7s %8s %12s\n", tab.name, k, n,
				pct(r[0], n), pct(r[1], n), pct(r[2], n))
			if r[0] < r[1] || r[0] < r[2] {
				t.Errorf("%s %s: ours read %d of %d, zbarimg %d, ZXingReader %d: want ours ≥ each peer",
					tab.name, k, r[0], n, r[1], r[2])
			}
		}
	}
	t.Log("\n" + report.String())

	// Which pass of the ladder read each code: what the fallbacks rescue.
	passes := map[string]int{}
	for _, it := range items {
		if it.ours != "" {
			passes[it.ours]++
		}
	}
	t.Logf("passes that read the corpus: %v", passes)

	for _, it := range items {
		if !it.read[decOurs] && (it.read[decZbar] || it.read[decZXing]) {
			t.Logf("read by a peer only: %s %+v perturb=%s zbar=%v zxing=%v",
				filepath.Base(it.path), it.args, it.perturb, it.read[decZbar], it.read[decZXing])
		}
	}
}

// decodeCorpus reads every item with this package, in parallel.
func decodeCorpus(t *testing.T, items []*corpusItem) {
	work := make(chan *corpusItem)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			d := NewDecoder(DefaultConfig())
			for it := range work {
				var got string
				var err error
				if it.img != nil {
					got, err = d.DecodeImage(it.img)
				} else if data, rerr := os.ReadFile(it.path); rerr != nil {
					err = rerr
				} else {
					got, err = d.DecodeBytes(data)
				}
				it.read[decOurs] = err == nil && got == it.text
				if it.read[decOurs] {
					it.ours = d.last
				}
			}
		})
	}
	for _, it := range items {
		work <- it
	}
	close(work)
	wg.Wait()
}

// newCorpusItem draws one item. Each item draws its text and perturbation
// from a seed of its own, so the corpus does not depend on the order in
// which items are made.
func newCorpusItem(rng *rand.Rand, dir string, i int) *corpusItem {
	return &corpusItem{
		path: filepath.Join(dir, fmt.Sprintf("c%04d.pgm", i)),
		args: qrencodeArgs{
			version:  1 + rng.IntN(25),
			level:    string("LMQH"[rng.IntN(4)]),
			modulePx: 1 + rng.IntN(8),
			margin:   rng.IntN(5),
			byteMode: rng.IntN(2) == 0,
			inverted: rng.IntN(4) == 0,
		},
		perturb: corpusPerturbations[rng.IntN(len(corpusPerturbations))],
		seed:    rng.Uint64(),
		read:    map[string]bool{},
	}
}

// draw draws the item's text.
func (it *corpusItem) draw() {
	it.rng = rand.New(rand.NewPCG(it.seed, 3))
	it.text = corpusText(it.rng, it.args)
	it.args.text = it.text
}

// raw is where qrencode writes the item.
func (it *corpusItem) raw() string {
	return strings.TrimSuffix(it.path, ".pgm") + "-qrencode.png"
}

// perturbImage perturbs qrencode's image into the item's file. Unperturbed
// items are qrencode's PNG itself, read by every decoder from the file;
// perturbed ones are kept in memory for us and written as PGM, which both
// peers read, for them: encoding and decoding PNGs in Go is most of the
// corpus's cost under the race detector.
func (it *corpusItem) perturbImage(t *testing.T) {
	rng := it.rng
	if it.perturb == "none" {
		cfg, err := png.DecodeConfig(bytes.NewReader(readFile(t, it.raw())))
		if err != nil {
			t.Fatalf("%s: %v", it.raw(), err)
		}
		it.version = (cfg.Width/it.args.modulePx - 2*it.args.margin - 17) / 4
		it.path = it.raw()
		return
	}
	img := readPNG(t, it.raw())
	it.version = (img.Rect.Dx()/it.args.modulePx - 2*it.args.margin - 17) / 4

	// The light colour around the code, for filling rotated corners.
	bg := byte(255)
	if it.args.inverted {
		bg = 0
	}
	switch it.perturb {
	case "rotate":
		img = rotate(img, rng.Float64()*360, bg)
	case "scale":
		f := 0.6 + 0.35*rng.Float64()
		img = resize(img, max(1, int(float64(img.Rect.Dx())*f)), max(1, int(float64(img.Rect.Dy())*f)))
	case "blur":
		img = blur(img, max(0.5, float64(it.args.modulePx)*(0.2+0.25*rng.Float64())))
	case "noise":
		img = noise(img, 8+22*rng.Float64(), rng)
	case "jpeg40":
		img = jpegRoundTrip(t, img, 40)
	case "frame":
		bg := hdScene(rng)
		if img.Rect.Dx()+64 > 1280 || img.Rect.Dy()+64 > 720 {
			bg = scene(max(1280, img.Rect.Dx()+64), max(720, img.Rect.Dy()+64), rng)
		}
		img = place(bg, img, rng)
	}
	it.img = img
	writePGM(t, it.path, img)
}

// parallel calls f(0), …, f(n-1) on GOMAXPROCS goroutines.
func parallel(n int, f func(i int)) {
	work := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range work {
				f(i)
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
}

// corpusText draws a text that needs about the item's version at its level,
// in byte mode (lower case, so qrencode cannot use alphanumeric mode) or in
// alphanumeric mode.
func corpusText(rng *rand.Rand, a qrencodeArgs) string {
	const byteAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789-_.,!?#&()=@"
	alphabet := base45Alphabet
	if a.byteMode {
		alphabet = byteAlphabet
	}
	level := map[string]qrcode.RecoveryLevel{"L": qrcode.Low, "M": qrcode.Medium, "Q": qrcode.High, "H": qrcode.Highest}[a.level]
	gen := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		if a.byteMode {
			b[0] = 'x' // at least one lower-case letter: byte mode
		}
		return string(b)
	}
	// The longest text of this alphabet that fits the version, found by
	// bisection on go-qrcode (whose mode choice matches qrencode's for
	// such uniform texts).
	fits := func(n int) bool {
		q, err := qrcode.New(gen(n), level)
		return err == nil && q.VersionNumber <= a.version
	}
	lo, hi := 1, 2000
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if fits(mid) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return gen(max(1, lo-rng.IntN(lo/4+1)))
}

func versionBucket(v int) string {
	switch {
	case v <= 4:
		return "1-4"
	case v <= 9:
		return "5-9"
	case v <= 17:
		return "10-17"
	}
	return "18-25"
}

func pct(n, of int) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(n)/float64(of))
}

// compareNatural orders "2" before "10" and words alphabetically.
func compareNatural(a, b string) int {
	var x, y int
	_, ea := fmt.Sscan(a, &x)
	_, eb := fmt.Sscan(b, &y)
	if ea == nil && eb == nil && x != y {
		return x - y
	}
	return strings.Compare(a, b)
}
