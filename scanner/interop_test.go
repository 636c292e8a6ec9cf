package scanner

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPeersReadOurCodes: the PNGs we hand out must read with the other
// decoders a venue may meet (zbar in many Linux scanners, ZXing in most
// phone apps), at every size from 2 px a module up.
func TestPeersReadOurCodes(t *testing.T) {
	t.Parallel()
	zbar := requireTool(t, toolZbar)
	zxing := requireTool(t, toolZXing)
	rng := rand.New(rand.NewPCG(21, 22))
	dir := t.TempDir()
	want := map[string]string{}
	var paths []string
	for i := range 40 {
		text := randomCode(rng, 40+rng.IntN(161))
		if i%4 == 0 {
			text = text[:len(text)-7] + fmt.Sprintf("*%06d", rng.IntN(1_000_000))
		}
		s, err := encode(text)
		if err != nil {
			t.Fatal(err)
		}
		size := len(s.modules)*(2+i%6) + rng.IntN(len(s.modules))
		data, err := RenderPNG(text, size)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, fmt.Sprintf("ours%02d.png", i))
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
		want[path] = text
	}
	for _, peer := range []struct {
		name string
		read map[string]string
	}{
		{"zbarimg", zbarDecode(t, zbar, paths)},
		{"ZXingReader", zxingDecode(t, zxing, paths)},
	} {
		n := 0
		for _, p := range paths {
			if got := peer.read[p]; got != want[p] {
				t.Errorf("%s read %s as %q, want %q", peer.name, filepath.Base(p), got, want[p])
			} else {
				n++
			}
		}
		t.Logf("%s read %d of %d of our PNGs", peer.name, n, len(paths))
	}
}

// TestWeReadQrencode: clean codes from another encoder, in every shape
// qrencode makes them, all read.
func TestWeReadQrencode(t *testing.T) {
	t.Parallel()
	qrenc := requireTool(t, toolQrencode)
	rng := rand.New(rand.NewPCG(31, 32))
	dir := t.TempDir()
	d := NewDecoder(DefaultConfig())
	for i := range 48 {
		a := qrencodeArgs{
			version:  1 + rng.IntN(25),
			level:    string("LMQH"[i%4]),
			modulePx: 1 + i%8,
			margin:   i % 5,
			byteMode: i%2 == 0,
			inverted: i%6 == 0,
		}
		a.text = corpusText(rng, a)
		path := filepath.Join(dir, fmt.Sprintf("qrencode%02d.png", i))
		qrencode(t, qrenc, path, a)
		got, err := d.DecodeBytes(readFile(t, path))
		if err != nil || got != a.text {
			t.Errorf("%s (%+v): got %q, %v", filepath.Base(path), a, got, err)
		}
	}
}

var updateFixtures = flag.Bool("fixtures.update", false, "remake testdata/qr with qrencode before TestFixtures reads it")

// fixture is one image of testdata/qr: qrencode's output for args, maybe
// transformed, and saved as name.
type fixture struct {
	name string
	args qrencodeArgs
	// extra qrencode flags (colours, transparency)
	flags []string
	// transform, if set, turns qrencode's PNG into the file's bytes.
	transform func(tb testing.TB, png []byte) []byte
}

var ticketLike = "TG1:" + strings.Repeat("6BFOXN*TS0KD.LN/$3W5S", 6)[:124]

var fixtures = []fixture{
	{name: "v1-L-alnum.png", args: qrencodeArgs{text: "TG1:HELLO", level: "L", modulePx: 4, margin: 4}},
	{name: "ticket-M.png", args: qrencodeArgs{text: ticketLike, level: "M", modulePx: 3, margin: 4}},
	{name: "ticket-rotating.png", args: qrencodeArgs{text: ticketLike + "*004217", level: "M", modulePx: 3, margin: 4}},
	{name: "inverted.png", args: qrencodeArgs{text: ticketLike, level: "M", modulePx: 3, margin: 4, inverted: true}},
	{name: "margin0.png", args: qrencodeArgs{text: ticketLike, level: "Q", modulePx: 4, margin: 0}},
	{name: "module1px.png", args: qrencodeArgs{text: ticketLike, level: "M", modulePx: 1, margin: 4}},
	{name: "v25-H-byte.png", args: qrencodeArgs{text: strings.Repeat("tixgate offline gate 0123456789 ", 20)[:600], level: "H", modulePx: 2, margin: 2, byteMode: true}},
	{name: "utf8-byte.png", args: qrencodeArgs{text: "票 tixgate ✓ Zürich 入口", level: "M", modulePx: 4, margin: 4, byteMode: true}},
	{name: "colour.png", args: qrencodeArgs{text: ticketLike, level: "M", modulePx: 4, margin: 4}, flags: []string{"--foreground=1A237E", "--background=FFF59D"}},
	{name: "transparent.png", args: qrencodeArgs{text: ticketLike, level: "M", modulePx: 4, margin: 4}, flags: []string{"--background=FFFFFF00"}},
	{name: "gray16.png", args: qrencodeArgs{text: ticketLike, level: "M", modulePx: 4, margin: 4}, transform: func(tb testing.TB, data []byte) []byte {
		g := decodeGrayPNG(tb, data)
		g16 := image.NewGray16(g.Rect)
		for i, v := range g.Pix {
			g16.Pix[2*i], g16.Pix[2*i+1] = v, v
		}
		return encodePNG(tb, g16)
	}},
	{name: "photo-like.jpg", args: qrencodeArgs{text: ticketLike, level: "M", modulePx: 5, margin: 4}, transform: func(tb testing.TB, data []byte) []byte {
		rng := rand.New(rand.NewPCG(4, 4))
		g := rotate(decodeGrayPNG(tb, data), 23, 255)
		g = noise(blur(contrast(g, 40, 210), 1.2), 8, rng)
		img := place(scene(640, 480, rng), g, rng)
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 40}); err != nil {
			tb.Fatal(err)
		}
		return buf.Bytes()
	}},
}

// makeFixtures remakes testdata/qr with qrencode.
func makeFixtures(t *testing.T, dir string) {
	qrenc := requireTool(t, toolQrencode)
	tmp := t.TempDir()
	var index strings.Builder
	index.WriteString("# Made by `go test ./scanner -run TestFixtures -fixtures.update` (qrencode\n" +
		"# 4.1.1); one image a line: file name, tab, the Go-quoted text it holds.\n")
	for _, fx := range fixtures {
		a := fx.args
		a.version = 1
		path := filepath.Join(tmp, "raw.png")
		qrencodeWith(t, qrenc, path, a, fx.flags...)
		data := readFile(t, path)
		if fx.transform != nil {
			data = fx.transform(t, data)
		}
		if err := os.WriteFile(filepath.Join(dir, fx.name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&index, "%s\t%s\n", fx.name, strconv.Quote(a.text))
	}
	if err := os.WriteFile(filepath.Join(dir, "fixtures.txt"), []byte(index.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFixtures reads the images under testdata/qr, which need no external
// tool: codes from qrencode in edge-case shapes (inverted, no quiet zone,
// 1 px modules, colours, transparency, 16-bit grey, UTF-8 bytes, a JPEG
// photo-like frame), with their texts in testdata/qr/fixtures.txt.
func TestFixtures(t *testing.T) {
	dir := filepath.Join("..", "testdata", "qr")
	if *updateFixtures {
		makeFixtures(t, dir)
	}
	f, err := os.Open(filepath.Join(dir, "fixtures.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := NewDecoder(DefaultConfig())
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, quoted, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("fixtures.txt: bad line %q", line)
		}
		want, err := strconv.Unquote(quoted)
		if err != nil {
			t.Fatalf("fixtures.txt: %s: %v", name, err)
		}
		got, err := d.DecodeBytes(readFile(t, filepath.Join(dir, name)))
		if err != nil || got != want {
			t.Errorf("%s: got %q, %v; want %q", name, got, err, want)
		}
		n++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("only %d fixtures", n)
	}
}
