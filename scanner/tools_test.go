package scanner

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// The tests compare this package with the QR tools that Debian ships. They
// are the peers the package must match, and qrencode makes codes we did not
// make. `make test` installs them.

// tool is an external program and the Debian package that provides it.
type tool struct {
	name string // the command
	apt  string // the Debian package
}

var (
	toolZbar     = tool{"zbarimg", "zbar-tools"}
	toolZXing    = tool{"ZXingReader", "zxing-cpp-tools"}
	toolQrencode = tool{"qrencode", "qrencode"}
)

// requireTool returns the path of t, skips the test in -short mode, and fails
// it when the tool is missing: a comparison that silently does not run is
// no comparison.
func requireTool(tb testing.TB, t tool) string {
	tb.Helper()
	if testing.Short() {
		tb.Skipf("-short: skipping the comparison with %s", t.name)
	}
	path, err := exec.LookPath(t.name)
	if err != nil {
		tb.Fatalf("%s not found: run `make test`, which installs it (Debian package %s)", t.name, t.apt)
	}
	return path
}

// lookTool is requireTool for benchmarks, which are optional: a missing tool
// skips.
func lookTool(tb testing.TB, t tool) string {
	tb.Helper()
	path, err := exec.LookPath(t.name)
	if err != nil {
		tb.Skipf("%s not found (Debian package %s; `make test` installs it): skipping the comparison", t.name, t.apt)
	}
	return path
}

// writePNG writes img to path, uncompressed: the files are temporary, and
// deflate is the slowest part of writing them under the race detector.
func writePNG(tb testing.TB, path string, img image.Image) {
	tb.Helper()
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.NoCompression}).Encode(&buf, img); err != nil {
		tb.Fatalf("encode %s: %v", path, err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// writePGM writes g to path as a binary PGM, which zbarimg and ZXingReader
// read and which costs nothing to write.
func writePGM(tb testing.TB, path string, g *image.Gray) {
	tb.Helper()
	w, h := g.Rect.Dx(), g.Rect.Dy()
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "P5\n%d %d\n255\n", w, h)
	for y := range h {
		buf.Write(g.Pix[y*g.Stride : y*g.Stride+w])
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// batches splits paths into runs short enough for one command line.
func batches(paths []string, n int) [][]string {
	var out [][]string
	for len(paths) > n {
		out = append(out, paths[:n])
		paths = paths[n:]
	}
	if len(paths) > 0 {
		out = append(out, paths)
	}
	return out
}

// zbarXML is the part of `zbarimg --xml` output the tests read.
type zbarXML struct {
	Sources []struct {
		Href    string `xml:"href,attr"`
		Indexes []struct {
			Symbols []struct {
				Type string `xml:"type,attr"`
				Data struct {
					Format string `xml:"format,attr"`
					Text   string `xml:",chardata"`
				} `xml:"data"`
			} `xml:"symbol"`
		} `xml:"index"`
	} `xml:"source"`
}

// zbarDecode runs zbarimg on the files, many per run, and returns the text of
// the first QR code it read in each (files it read nothing in are absent).
func zbarDecode(tb testing.TB, bin string, paths []string) map[string]string {
	tb.Helper()
	got, err := runZbar(bin, paths)
	if err != nil {
		tb.Fatal(err)
	}
	return got
}

// runZbar is zbarDecode for any goroutine.
func runZbar(bin string, paths []string) (map[string]string, error) {
	got := make(map[string]string, len(paths))
	for _, batch := range batches(paths, 64) {
		args := append([]string{"--nodbus", "--xml", "-Sdisable", "-Sqrcode.enable"}, batch...)
		cmd := exec.Command(bin, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		// Exit status 4 means "no symbol in some file": not a failure here.
		var exit *exec.ExitError
		if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 4) {
			return nil, fmt.Errorf("zbarimg: %v: %s", err, stderr.Bytes())
		}
		var doc zbarXML
		if err := xml.Unmarshal(stdout.Bytes(), &doc); err != nil {
			return nil, fmt.Errorf("zbarimg: parse xml: %v\n%s", err, stdout.Bytes())
		}
	sources:
		for _, src := range doc.Sources {
			for _, idx := range src.Indexes {
				for _, sym := range idx.Symbols {
					if sym.Type != "QR-Code" {
						continue
					}
					text := sym.Data.Text
					if sym.Data.Format == "base64" {
						b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
						if err != nil {
							return nil, fmt.Errorf("zbarimg: %s: bad base64 data: %v", src.Href, err)
						}
						text = string(b)
					}
					got[src.Href] = text
					continue sources
				}
			}
		}
	}
	return got, nil
}

// zxingDecode runs ZXingReader on the files, many per run, and returns the
// text of the first QR code it read in each.
func zxingDecode(tb testing.TB, bin string, paths []string) map[string]string {
	tb.Helper()
	got, err := runZXing(bin, paths)
	if err != nil {
		tb.Fatal(err)
	}
	return got
}

// runZXing is zxingDecode for any goroutine.
func runZXing(bin string, paths []string) (map[string]string, error) {
	got := make(map[string]string, len(paths))
	for _, batch := range batches(paths, 64) {
		// -1: one line per file: `path QRCode "text"` or `path None`.
		args := append([]string{"-1", "-format", "QRCode"}, batch...)
		cmd := exec.Command(bin, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("ZXingReader: %v: %s", err, stderr.Bytes())
		}
		for _, line := range strings.Split(stdout.String(), "\n") {
			path, rest, ok := strings.Cut(line, " ")
			if !ok {
				continue
			}
			text, ok := strings.CutPrefix(rest, `QRCode "`)
			if !ok || !strings.HasSuffix(text, `"`) {
				continue
			}
			if _, seen := got[path]; !seen {
				got[path] = strings.TrimSuffix(text, `"`)
			}
		}
	}
	return got, nil
}

// qrencodeArgs describes one qrencode invocation.
type qrencodeArgs struct {
	text     string
	version  int    // minimum version, 1-40
	level    string // L, M, Q or H
	modulePx int    // -s
	margin   int    // -m, in modules
	byteMode bool   // -8
	inverted bool   // light modules on a dark ground
}

// qrencode makes a PNG of a with qrencode at path.
func qrencode(tb testing.TB, bin, path string, a qrencodeArgs) {
	tb.Helper()
	qrencodeWith(tb, bin, path, a)
}

// qrencodeWith is qrencode with extra flags.
func qrencodeWith(tb testing.TB, bin, path string, a qrencodeArgs, flags ...string) {
	tb.Helper()
	args := qrencodeArgv(path, a, flags...)
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("qrencode %v: %v: %s", args, err, out)
	}
}

// qrencodeMany makes many PNGs with one shell running qrencode for each:
// starting processes from a test binary built with -race is slow.
func qrencodeMany(tb testing.TB, bin string, paths []string, as []qrencodeArgs) {
	tb.Helper()
	var script strings.Builder
	script.WriteString("set -e\n")
	for i, a := range as {
		script.WriteString(shellQuote(bin))
		for _, arg := range qrencodeArgv(paths[i], a) {
			script.WriteString(" " + shellQuote(arg))
		}
		script.WriteString("\n")
	}
	cmd := exec.Command("/bin/sh", "-s")
	cmd.Stdin = strings.NewReader(script.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("qrencode: %v: %s", err, out)
	}
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// qrencodeArgv is the argument list of qrencode for a.
func qrencodeArgv(path string, a qrencodeArgs, flags ...string) []string {
	args := []string{"-o", path, "-t", "PNG", "-l", a.level,
		"-v", strconv.Itoa(a.version), "-s", strconv.Itoa(a.modulePx), "-m", strconv.Itoa(a.margin)}
	if a.byteMode {
		args = append(args, "-8")
	}
	if a.inverted {
		args = append(args, "--foreground=FFFFFF", "--background=000000")
	}
	args = append(args, flags...)
	return append(args, "--", a.text)
}

// readPNG reads a PNG file as gray.
func readPNG(tb testing.TB, path string) *image.Gray {
	tb.Helper()
	return decodeGrayPNG(tb, readFile(tb, path))
}

// decodeGrayPNG decodes PNG bytes as gray.
func decodeGrayPNG(tb testing.TB, data []byte) *image.Gray {
	tb.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		tb.Fatalf("decode png: %v", err)
	}
	return toGray(img)
}

// encodePNG encodes img as PNG bytes.
func encodePNG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// readFile reads a file or fails.
func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}
