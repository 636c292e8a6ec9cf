package sim

import (
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
	"time"
)

// Markdown writes the run's summary.
func (r *Result) Markdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Simulation: %s\n\n", r.Scenario)
	fmt.Fprintf(&b, "%d gates in %d zones, %d tickets, lanes of %.0f a minute; %v of arrivals at %gx speed.\n\n",
		r.Gates, r.Zones, r.Tickets, r.LaneRate, r.Window, r.Speed)
	b.WriteString("| | |\n|---|---|\n")
	row := func(k, v string, args ...any) { fmt.Fprintf(&b, "| %s | %s |\n", k, fmt.Sprintf(v, args...)) }
	row("presented", "%d", r.Presented)
	row("admitted", "%d", r.Admitted)
	for _, k := range sortedKeys(r.Refused) {
		row("refused: "+k, "%d", r.Refused[k])
	}
	row("double entries while the venue was whole", "**%d**", r.DoubleConnected)
	for _, d := range r.ConnectedDoubles {
		row("… ticket "+fmt.Sprint(d.Serial), "at %s and %s, %s apart on the wall clock", d.Gates[0], d.Gates[1], ms(d.Apart))
	}
	row(fmt.Sprintf("double entries from a partition or a crash (or within %v after)", settleWindow), "%d", r.DoubleFaulted)
	row("conflicts found by the gates", "%d", r.Conflicts)
	if len(r.DoublesWithoutConflict) > 0 {
		row("double entries no gate found", "**%d**", len(r.DoublesWithoutConflict))
	}
	row("propagation to every gate (whole, no loss)", "p50 %s, p99 %s, max %s (%d records)", ms(r.Propagation.P50), ms(r.Propagation.P99), ms(r.Propagation.Max), r.Propagation.N)
	if r.PropagationLoss.N > 0 {
		row("propagation to every gate (packet loss)", "p50 %s, p99 %s, max %s (%d records)", ms(r.PropagationLoss.P50), ms(r.PropagationLoss.P99), ms(r.PropagationLoss.Max), r.PropagationLoss.N)
	}
	if r.PropagationSettling.N > 0 {
		row(fmt.Sprintf("propagation to every gate (first %v after a heal or restart)", settleWindow), "p50 %s, p99 %s, max %s (%d records)", ms(r.PropagationSettling.P50), ms(r.PropagationSettling.P99), ms(r.PropagationSettling.Max), r.PropagationSettling.N)
	}
	row("decision latency", "p50 %s, p99 %s, max %s", ms(r.Decision.P50), ms(r.Decision.P99), ms(r.Decision.Max))
	row("mesh load", "%.0f decisions a second (%gx the venue's real pace)", r.RecordsPerSecond, r.Speed)
	row("records lost", "**%d**", r.Lost)
	row("gates converged at the end", "%v", r.Converged)
	if r.Errors > 0 {
		row("decisions that failed", "%d", r.Errors)
	}
	b.WriteString("\nWhat people held:\n\n| ticket | presented | admitted |\n|---|---|---|\n")
	for _, k := range sortedKeys(r.ByKind) {
		fmt.Fprintf(&b, "| %s | %d | %d |\n", k, r.ByKind[k].Presented, r.ByKind[k].Admitted)
	}
	b.WriteString("\nGates (busiest minute against the lane rate):\n\n| gate | zone | entries | busiest minute |\n|---|---|---|---|\n")
	for _, g := range r.PerGate {
		fmt.Fprintf(&b, "| %s | %s | %d | %d of %.0f |\n", g.Name, g.Zone, g.Entries, g.PeakPerMinute, r.LaneRate)
	}
	if len(r.Faults) > 0 {
		b.WriteString("\nFaults:\n\n")
		for _, f := range r.Faults {
			fmt.Fprintf(&b, "- %s: %s\n", clockOf(f.At), f.describe())
		}
	}
	b.WriteString("\nPropagation and decision latency are wall-clock times; arrivals, queues and faults run on the scenario's clock.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func (f FaultEvent) describe() string {
	switch f.What {
	case "partition":
		return "partition: " + strings.Join(f.Gates, ", ") + " cut from the other gates"
	case "loss":
		return fmt.Sprintf("packet loss %.0f%%", f.Loss*100)
	case "crash", "restart":
		return f.What + " " + strings.Join(f.Gates, ", ")
	}
	return f.What
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// clockOf is a scenario time as minutes after doors open.
func clockOf(d time.Duration) string {
	return fmt.Sprintf("+%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

// HTML writes the run as one self-contained page: the summary and charts
// drawn as inline SVG (no script, nothing fetched).
func (r *Result) HTML(w io.Writer) error {
	var md strings.Builder
	if err := r.Markdown(&md); err != nil {
		return err
	}
	arrivals, entries, refusals := make([]float64, len(r.Minutes)), make([]float64, len(r.Minutes)), make([]float64, len(r.Minutes))
	for i, m := range r.Minutes {
		arrivals[i], entries[i], refusals[i] = float64(m.Arrivals), float64(m.Entries), float64(m.Refusals)
	}
	qmax, qtotal := make([]float64, len(r.Queues)), make([]float64, len(r.Queues))
	for i, q := range r.Queues {
		qmax[i], qtotal[i] = float64(q.Max), float64(q.Total)
	}
	var faults []float64
	for _, f := range r.Faults {
		faults = append(faults, f.At.Minutes())
	}
	data := map[string]any{
		"R":     r,
		"Flow":  chart("People a minute", "minutes after doors open", faults, series{"arrivals", "#2563eb", arrivals}, series{"entries", "#16a34a", entries}, series{"refusals", "#dc2626", refusals}),
		"Queue": chart("Queues", "minutes after doors open", faults, series{"longest queue", "#ea580c", qmax}, series{"everyone queueing", "#7c3aed", qtotal}),
		"Lat": bars("Latency (wall clock, ms)", []bar{
			{"decision p50", r.Decision.P50}, {"decision p99", r.Decision.P99},
			{"propagation p50", r.Propagation.P50}, {"propagation p99", r.Propagation.P99},
			{"with loss p50", r.PropagationLoss.P50}, {"with loss p99", r.PropagationLoss.P99}}),
		"Summary": md.String(),
	}
	return page.Execute(w, data)
}

type series struct {
	name, color string
	ys          []float64
}

// chart draws series over minutes as an SVG line chart, with a dashed
// line at each fault.
func chart(title, xlabel string, marks []float64, ss ...series) template.HTML {
	const w, h, left, bottom, top = 720, 260, 48, 36, 28
	n, ymax := 0, 1.0
	for _, s := range ss {
		n = max(n, len(s.ys))
		for _, y := range s.ys {
			ymax = max(ymax, y)
		}
	}
	xs := func(i float64) float64 { return left + i*float64(w-left-12)/float64(max(n-1, 1)) }
	ys := func(y float64) float64 { return float64(h-bottom) - y*float64(h-bottom-top)/ymax }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" role="img" aria-label="%s"><text x="%d" y="18" class="t">%s</text>`, w, h, template.HTMLEscapeString(title), left, template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" class="ax"/><line x1="%d" y1="%d" x2="%d" y2="%d" class="ax"/>`, left, h-bottom, w-12, h-bottom, left, top, left, h-bottom)
	for _, frac := range []float64{0.5, 1} {
		fmt.Fprintf(&b, `<text x="%d" y="%.0f" class="l" text-anchor="end">%.0f</text>`, left-6, ys(ymax*frac)+4, ymax*frac)
	}
	for i := 0; i < n; i += max(1, n/8) {
		fmt.Fprintf(&b, `<text x="%.0f" y="%d" class="l" text-anchor="middle">%d</text>`, xs(float64(i)), h-bottom+16, i)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" class="l" text-anchor="end">%s</text>`, w-12, h-4, template.HTMLEscapeString(xlabel))
	for _, m := range marks {
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%d" x2="%.0f" y2="%d" class="f"/>`, xs(m), top, xs(m), h-bottom)
	}
	for k, s := range ss {
		var pts []string
		for i, y := range s.ys {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", xs(float64(i)), ys(y)))
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`, strings.Join(pts, " "), s.color)
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d" class="l">%s</text>`, left+10+k*170, top-2, s.color, left+24+k*170, top+7, template.HTMLEscapeString(s.name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

type bar struct {
	name string
	d    time.Duration
}

// bars draws durations as horizontal bars in milliseconds.
func bars(title string, bs []bar) template.HTML {
	const w, rowH, left = 720, 24, 140
	top := 30
	h := top + rowH*len(bs) + 8
	var longest time.Duration = time.Millisecond
	for _, x := range bs {
		longest = max(longest, x.d)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" role="img" aria-label="%s"><text x="8" y="18" class="t">%s</text>`, w, h, template.HTMLEscapeString(title), template.HTMLEscapeString(title))
	for i, x := range bs {
		y := top + i*rowH
		bw := float64(x.d) / float64(longest) * float64(w-left-90)
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="l" text-anchor="end">%s</text><rect x="%d" y="%d" width="%.1f" height="%d" fill="#2563eb"/><text x="%.0f" y="%d" class="l">%s</text>`,
			left-8, y+15, x.name, left, y+3, bw, rowH-8, float64(left)+bw+6, y+15, ms(x.d))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

var page = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>tixgate simulation: {{.R.Scenario}}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:780px;margin:2em auto;padding:0 1em;color:#111}
svg{width:100%;height:auto;margin:1em 0;background:#fafafa;border-radius:8px}
.t{font:600 14px system-ui,sans-serif}.l{font:11px system-ui,sans-serif;fill:#444}
.ax{stroke:#999}.f{stroke:#dc2626;stroke-dasharray:4 3}
pre{white-space:pre-wrap;background:#f4f4f5;padding:1em;border-radius:8px;font-size:13px}
.big{display:flex;gap:1em;flex-wrap:wrap}.big div{background:#f4f4f5;border-radius:8px;padding:.6em 1em}.big b{font-size:1.6em;display:block}
@media (prefers-color-scheme: dark){body{background:#111;color:#eee}svg{background:#1c1c1f}.l{fill:#bbb}pre,.big div{background:#1c1c1f}}
</style></head><body>
<h1>{{.R.Scenario}}</h1>
<div class="big">
<div><b>{{.R.Admitted}}</b>admitted</div>
<div><b>{{.R.DoubleConnected}}</b>double entries, venue whole</div>
<div><b>{{.R.DoubleFaulted}}</b>double entries, split</div>
<div><b>{{.R.Conflicts}}</b>conflicts found</div>
<div><b>{{.R.Lost}}</b>records lost</div>
</div>
{{.Flow}}
{{.Queue}}
{{.Lat}}
<p>Dashed red lines are the faults of the schedule.</p>
<pre>{{.Summary}}</pre>
</body></html>
`))
