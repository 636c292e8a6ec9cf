package sim

import (
	"bytes"
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// reportResult is a run's result as a report shows it: a partition, a
// gate and a scenario named with markup and a pipe.
func reportResult() *Result {
	r := &Result{Scenario: `Hall <b>A</b> | B`, Gates: 2, Zones: 1, Tickets: 100, Speed: 50, LaneRate: 20, Window: 3 * time.Minute, Days: 1,
		Presented: 90, Admitted: 80, Refused: map[string]int{"already_used": 6, "wrong_zone": 4},
		ByKind:        map[string]KindCount{"good": {80, 80}, "duplicate": {6, 0}, "wrong_zone": {4, 0}},
		DoubleFaulted: 2, Conflicts: 2, Converged: true, RecordsPerSecond: 25,
		Propagation: Percentiles{N: 80, P50: 3 * time.Millisecond, P99: 12 * time.Millisecond, Max: 15 * time.Millisecond},
		Decision:    Percentiles{N: 90, P50: time.Millisecond, P99: 4 * time.Millisecond, Max: 5 * time.Millisecond},
		PerGate:     []GateStat{{Name: "G|1", Zone: "Stalls", Entries: 50, PeakPerMinute: 19}, {Name: "G2", Zone: "Stalls", Entries: 30, PeakPerMinute: 14}},
		Minutes:     []Minute{{10, 9, 1}, {50, 40, 8}, {30, 31, 1}},
		Queues:      []QueueSample{{At: time.Minute, Max: 0, Total: 0}, {At: 2 * time.Minute, Max: 0, Total: 0}, {At: 3 * time.Minute, Max: 0, Total: 0}},
		Faults:      []FaultEvent{{At: 90 * time.Second, What: "partition", Gates: []string{"G|1"}}, {At: 150 * time.Second, What: "heal"}},
	}
	return r
}

// report.md is markdown: tables whose rows have as many cells as their
// head (a pipe in a name escaped), headings, the faults as a list.
func TestReportMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := reportResult().Markdown(&b); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	t.Log("\n" + md)
	for _, want := range []string{"# Simulation: Hall &lt;b>A&lt;/b> | B\n", "| records lost | **0** |\n", "## What people held\n", "2 gates in 1 zone, 100 tickets",
		"| G\\|1 | Stalls | 50 | 19 of 20 |\n", "## Faults\n\n- +1:30: partition: G|1 cut from the other gates\n- +2:30: heal\n"} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	cells := regexp.MustCompile(`(^|[^\\])\|`)
	width := 0
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			width = 0
			continue
		}
		n := len(cells.FindAllString(line, -1))
		if width == 0 {
			width = n
		} else if n != width {
			t.Errorf("table row %q has %d pipes, its head %d", line, n, width)
		}
	}
}

// report.html shows the summary as HTML tables and headings, escaped, and
// no markdown.
func TestReportHTML(t *testing.T) {
	var b bytes.Buffer
	if err := reportResult().HTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, bad := range []string{"|---|", "| records lost", "**", "<b>A</b>", "<pre>"} {
		if strings.Contains(page, bad) {
			t.Errorf("report.html holds %q", bad)
		}
	}
	for _, want := range []string{
		"<h1>Simulation: Hall &lt;b&gt;A&lt;/b&gt; | B</h1>",
		`<tr><th scope="row">records lost</th><td><strong>0</strong></td></tr>`,
		`<tr><th scope="row">refused: wrong_zone</th><td>4</td></tr>`,
		"<h2>What people held</h2>",
		`<thead><tr><th scope="col">gate</th><th scope="col">zone</th><th scope="col">entries</th><th scope="col">busiest minute</th></tr></thead>`,
		`<tr><th scope="row">G|1</th><td>Stalls</td><td>50</td><td>19 of 20</td></tr>`,
		"<li>&#43;1:30: partition: G|1 cut from the other gates</li>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if n := strings.Count(page, "<table>"); n != 3 {
		t.Errorf("%d tables, want 3 (figures, tickets, gates)", n)
	}
}

// svgChart is a drawn chart's numbers: the x axis's height, the y labels
// (value at height), and each line's points.
type svgChart struct {
	base   float64
	ticks  []float64 // x of the x axis's labels
	labels [][2]float64
	lines  [][][2]float64
}

func readChart(t *testing.T, svg string) svgChart {
	t.Helper()
	num := func(s string) float64 {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("%q in %s", s, svg)
		}
		return f
	}
	var c svgChart
	ax := regexp.MustCompile(`<line x1="[\d.]+" y1="([\d.]+)" x2="[\d.]+" y2="([\d.]+)" class="ax"/>`).FindAllStringSubmatch(svg, -1)
	for _, m := range ax {
		if m[1] == m[2] {
			c.base = num(m[1])
		}
	}
	for _, m := range regexp.MustCompile(`<text x="[\d.]+" y="([\d.]+)" class="l y"[^>]*>([\d.]+)</text>`).FindAllStringSubmatch(svg, -1) {
		c.labels = append(c.labels, [2]float64{num(m[2]), num(m[1]) - 4}) // the label's baseline sits 4 below its value
	}
	for _, m := range regexp.MustCompile(`<text x="([\d.]+)" y="[\d.]+" class="l x"`).FindAllStringSubmatch(svg, -1) {
		c.ticks = append(c.ticks, num(m[1]))
	}
	for _, m := range regexp.MustCompile(`<polyline points="([^"]*)"`).FindAllStringSubmatch(svg, -1) {
		var pts [][2]float64
		for _, p := range strings.Fields(m[1]) {
			x, y, _ := strings.Cut(p, ",")
			pts = append(pts, [2]float64{num(x), num(y)})
		}
		c.lines = append(c.lines, pts)
	}
	if c.base == 0 || len(c.labels) < 2 {
		t.Fatalf("no x axis or fewer than 2 y labels: %+v in %s", c, svg)
	}
	return c
}

// The charts' y axes start at 0 on the x axis and go up in even round
// steps to at least the highest value, and every point sits at its value
// on that scale: an empty queue once drew "1" at the top, "0" halfway
// and its line below the 0.
func TestReportChartAxis(t *testing.T) {
	for _, c := range []struct {
		name string
		ys   []float64
		top  float64 // the top label
	}{
		{"all zero", []float64{0, 0, 0}, 1},
		{"one", []float64{0, 1, 0}, 1},
		{"seven", []float64{0, 3, 7, 2}, 8},
		{"a crowd", []float64{12, 480, 1730, 900, 40}, 2000},
		{"exactly round", []float64{0, 50, 100}, 100},
	} {
		t.Run(c.name, func(t *testing.T) {
			xs := make([]float64, len(c.ys))
			for i := range xs {
				xs[i] = float64(i)
			}
			svg := string(chart("t", "minutes", 0, []float64{1}, series{"s", "#000", xs, c.ys}))
			ch := readChart(t, svg)
			if got := ch.labels[0]; got[0] != 0 || math.Abs(got[1]-ch.base) > 0.1 {
				t.Errorf("first y label %v at %.1f, want 0 on the x axis at %.1f", got[0], got[1], ch.base)
			}
			last := ch.labels[len(ch.labels)-1]
			if last[0] != c.top {
				t.Errorf("top label %v, want %v (labels %v)", last[0], c.top, ch.labels)
			}
			scale := (ch.base - last[1]) / last[0] // pixels a unit
			step := ch.labels[1][0] - ch.labels[0][0]
			for i, l := range ch.labels {
				if l[0] != float64(i)*step {
					t.Errorf("labels %v: not even steps", ch.labels)
					break
				}
				if want := ch.base - l[0]*scale; math.Abs(l[1]-want) > 0.2 {
					t.Errorf("label %v at %.1f, want %.1f", l[0], l[1], want)
				}
			}
			if len(ch.lines) != 1 || len(ch.lines[0]) != len(c.ys) {
				t.Fatalf("lines %v", ch.lines)
			}
			for i, p := range ch.lines[0] {
				if want := ch.base - c.ys[i]*scale; math.Abs(p[1]-want) > 0.2 {
					t.Errorf("point %d (%v) at y %.1f, want %.1f", i, c.ys[i], p[1], want)
				}
			}
		})
	}
}

// The queue chart places samples at their time, not their index; the
// latency bars are as long as their durations against the longest, and
// leave out the packet-loss figures of a run without loss.
func TestReportChartsOfAResult(t *testing.T) {
	r := reportResult()
	r.Queues = []QueueSample{{At: 0, Max: 2, Total: 3}, {At: 2 * time.Minute, Max: 4, Total: 9}}
	var b bytes.Buffer
	if err := r.HTML(&b); err != nil {
		t.Fatal(err)
	}
	svgs := regexp.MustCompile(`(?s)<svg.*?</svg>`).FindAllString(b.String(), -1)
	if len(svgs) != 3 {
		t.Fatalf("%d charts, want 3", len(svgs))
	}
	// Both charts run from 0 to minute 3 (the flow's three minutes); the
	// queue sample at 2:00 sits at the tick of minute 2, the flow's
	// minute 2 (2:00 to 3:00) halfway between the ticks of 2 and 3.
	flow, queue := readChart(t, svgs[0]), readChart(t, svgs[1])
	if !slices.Equal(flow.ticks, queue.ticks) || len(flow.ticks) != 4 {
		t.Fatalf("x ticks %v and %v: want the same, minutes 0 to 3", flow.ticks, queue.ticks)
	}
	x2, x3 := flow.ticks[2], flow.ticks[3]
	if got := queue.lines[0][1][0]; math.Abs(got-x2) > 0.1 {
		t.Errorf("the queue sample at 2:00 at x %.1f, minute 2's tick at %.1f", got, x2)
	}
	if got := flow.lines[0][2][0]; math.Abs(got-(x2+x3)/2) > 0.1 {
		t.Errorf("the flow's minute 2 at x %.1f, want %.1f", got, (x2+x3)/2)
	}
	if top := queue.labels[len(queue.labels)-1][0]; top < 9 {
		t.Errorf("queue chart's top label %v under its highest value 9", top)
	}
	lat := svgs[2]
	if strings.Contains(lat, "with loss") {
		t.Errorf("latency bars of a run without loss show loss figures")
	}
	widths := regexp.MustCompile(`<rect x="\d+" y="\d+" width="([\d.]+)"`).FindAllStringSubmatch(lat, -1)
	durs := []time.Duration{r.Decision.P50, r.Decision.P99, r.Propagation.P50, r.Propagation.P99}
	if len(widths) != len(durs) {
		t.Fatalf("%d bars, want %d", len(widths), len(durs))
	}
	longest, _ := strconv.ParseFloat(widths[3][1], 64)
	for i, m := range widths {
		w, _ := strconv.ParseFloat(m[1], 64)
		if want := longest * float64(durs[i]) / float64(durs[3]); math.Abs(w-want) > 0.2 {
			t.Errorf("bar %d: width %.1f, want %.1f", i, w, want)
		}
	}
}

// The page in headless Chromium: three tables, the charts, nothing wider
// than a phone (screenshots to $TIXGATE_SCREENS when set).
func TestReportHTMLInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser: covered by the run without -short")
	}
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Fatal("no Chromium: install Debian's chromium (make deps does)")
	}
	dir := os.Getenv("TIXGATE_SCREENS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := reportResult().HTML(&b); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.Flag("disable-gpu", true))...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel := context.WithTimeout(bctx, time.Minute)
	defer cancel()
	for _, s := range []struct {
		name string
		w, h int64
	}{{"phone", 390, 844}, {"desktop", 1280, 800}} {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(s.w, s.h), chromedp.Navigate("file://"+file), chromedp.WaitVisible(chromedp.CSS("table"))); err != nil {
			t.Fatal(err)
		}
		tables, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelectorAll("table tr").length`))
		if err != nil || tables != 16+1+3+1+2 { // figures (four of central's), kinds and their head, gates and their head
			t.Errorf("%s: %v table rows, %v: want 23", s.name, tables, err)
		}
		text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		if err != nil || strings.Contains(text, "|---") || strings.Contains(text, "**") {
			t.Errorf("%s: the page shows markdown: %v", s.name, err)
		}
		wider, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.documentElement.scrollWidth - window.innerWidth`))
		if err != nil || wider > 0 {
			t.Errorf("%s: %v px wider than the window, %v", s.name, wider, err)
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil || len(png) < 1000 {
			t.Fatalf("screenshot: %d bytes, %v", len(png), err)
		}
		if err := os.WriteFile(filepath.Join(dir, "sim-report-"+s.name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
