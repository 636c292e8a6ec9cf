package sim

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// summary is the run's summary as sections of tables and lists, written
// out as markdown (report.md) or HTML (report.html) from the same rows.
type summary struct {
	Title, Intro string
	Sections     []section
	Note         string
}

// section is a heading (none for the first) over a table or a list.
type section struct {
	Heading string
	Head    []string // column names; none for a table of names and values
	Rows    [][]cell
	Items   []string
}

// cell is a table cell; Strong marks a figure that must be 0.
type cell struct {
	Text   string
	Strong bool
}

func (r *Result) summary() summary {
	days := ""
	if r.Days > 1 {
		days = fmt.Sprintf(" on each of %d days", r.Days)
	}
	s := summary{
		Title: "Simulation: " + r.Scenario,
		Intro: fmt.Sprintf("%s in %s, %d tickets, lanes of %.0f a minute; %v of arrivals%s at %gx speed.",
			plural(r.Gates, "gate"), plural(r.Zones, "zone"), r.Tickets, r.LaneRate, r.Window, days, r.Speed),
		Note: "Propagation and decision latency are wall-clock times; arrivals, queues and faults run on the scenario's clock.",
	}
	var figures section
	row := func(k, v string, args ...any) {
		figures.Rows = append(figures.Rows, []cell{{Text: k}, {Text: fmt.Sprintf(v, args...)}})
	}
	strong := func(k string, n int) {
		figures.Rows = append(figures.Rows, []cell{{Text: k}, {Text: fmt.Sprint(n), Strong: true}})
	}
	row("presented", "%d", r.Presented)
	row("admitted", "%d", r.Admitted)
	if r.Exits > 0 {
		row("let out (re-entry, the day's close)", "%d", r.Exits)
	}
	for _, k := range sortedKeys(r.Refused) {
		row("refused: "+k, "%d", r.Refused[k])
	}
	strong("double entries while the venue was whole", r.DoubleConnected)
	for _, d := range r.ConnectedDoubles {
		row("… ticket "+fmt.Sprint(d.Serial), "at %s and %s, %s apart on the wall clock", d.Gates[0], d.Gates[1], ms(d.Apart))
	}
	row(fmt.Sprintf("double entries from a partition or a crash (or within %v after)", settleWindow), "%d", r.DoubleFaulted)
	row("conflicts found by the gates", "%d", r.Conflicts)
	if len(r.DoublesWithoutConflict) > 0 {
		strong("double entries no gate found", len(r.DoublesWithoutConflict))
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
	strong("records lost", r.Lost)
	row("gates converged at the end", "%v", r.Converged)
	if r.Sales.Sold > 0 || len(r.Sales.Failed) > 0 {
		row("tickets sold offline by the roaming sellers", "%d, a sale on the handheld p50 %s, p99 %s", r.Sales.Sold, ms(r.Sales.Decision.P50), ms(r.Sales.Decision.P99))
		wk := r.ByKind[string(walkUp)]
		row("… shown at a gate minutes later", "%d, admitted %d", wk.Presented, wk.Admitted)
		if len(r.Sales.Failed) > 0 {
			strong("sales that failed", len(r.Sales.Failed))
		}
	}
	c := r.Central
	row("records at central (uploaded through the uplink)", "%d, every record the gates hold: %v", c.Records, c.Synced)
	row("conflicts found by central's reconciliation", "%d", c.Conflicts)
	if len(c.DoublesWithoutConflict) > 0 {
		strong("double entries central did not find", len(c.DoublesWithoutConflict))
	}
	strong("records lost at central", c.Lost)
	row("decision to central", "p50 %s, p99 %s (%d records)", ms(c.Lag.P50), ms(c.Lag.P99), c.Lag.N)
	if c.LagOutage.N > 0 {
		row("decision to central, made while the uplink was down", "p50 %s, p99 %s, max %s (%d records)", ms(c.LagOutage.P50), ms(c.LagOutage.P99), ms(c.LagOutage.Max), c.LagOutage.N)
	}
	for _, rp := range r.Repairs {
		row("ledger of "+rp.Gate+" repaired from its peers", "in %s", ms(rp.Took))
	}
	if r.Errors > 0 {
		row("decisions that failed", "%d", r.Errors)
	}
	s.Sections = append(s.Sections, figures)

	held := section{Heading: "What people held", Head: []string{"ticket", "presented", "admitted"}}
	for _, k := range sortedKeys(r.ByKind) {
		held.Rows = append(held.Rows, []cell{{Text: k}, {Text: fmt.Sprint(r.ByKind[k].Presented)}, {Text: fmt.Sprint(r.ByKind[k].Admitted)}})
	}
	gates := section{Heading: "Gates (busiest minute against the lane rate)", Head: []string{"gate", "zone", "entries", "busiest minute"}}
	for _, g := range r.PerGate {
		gates.Rows = append(gates.Rows, []cell{{Text: g.Name}, {Text: g.Zone}, {Text: fmt.Sprint(g.Entries)}, {Text: fmt.Sprintf("%d of %.0f", g.PeakPerMinute, r.LaneRate)}})
	}
	s.Sections = append(s.Sections, held, gates)
	if len(r.Faults) > 0 {
		faults := section{Heading: "Faults"}
		for _, f := range r.Faults {
			faults.Items = append(faults.Items, clockOf(f.At)+": "+f.describe())
		}
		s.Sections = append(s.Sections, faults)
	}
	return s
}

// Markdown writes the run's summary.
func (r *Result) Markdown(w io.Writer) error {
	s := r.summary()
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n%s\n", mdText(s.Title), mdText(s.Intro))
	for _, sec := range s.Sections {
		b.WriteString("\n")
		if sec.Heading != "" {
			fmt.Fprintf(&b, "## %s\n\n", mdText(sec.Heading))
		}
		if len(sec.Rows) > 0 {
			head := sec.Head
			if len(head) == 0 {
				head = make([]string, len(sec.Rows[0]))
			}
			b.WriteString("|")
			for _, h := range head {
				b.WriteString(" " + mdCell(h) + " |")
			}
			b.WriteString("\n|" + strings.Repeat("---|", len(head)) + "\n")
			for _, row := range sec.Rows {
				b.WriteString("|")
				for _, c := range row {
					t := mdCell(c.Text)
					if c.Strong {
						t = "**" + t + "**"
					}
					b.WriteString(" " + t + " |")
				}
				b.WriteString("\n")
			}
		}
		for _, it := range sec.Items {
			fmt.Fprintf(&b, "- %s\n", mdText(it))
		}
	}
	fmt.Fprintf(&b, "\n%s\n", mdText(s.Note))
	_, err := io.WriteString(w, b.String())
	return err
}

// mdText escapes what markdown would read as markup in a scenario's
// names (an underscore inside a word is no markup: refused: wrong_zone).
var mdText = strings.NewReplacer("*", `\*`, "`", "\\`", "<", "&lt;", "[", `\[`).Replace

// mdCell is mdText in a table cell, where a pipe would end the cell and a
// line break the row.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(mdText(s))
}

func (f FaultEvent) describe() string {
	switch f.What {
	case "partition":
		return "partition: " + strings.Join(f.Gates, ", ") + " cut from the other gates"
	case "loss":
		return fmt.Sprintf("packet loss %.0f%%", f.Loss*100)
	case "crash", "restart":
		return f.What + " " + strings.Join(f.Gates, ", ")
	case "damage":
		return "crash " + strings.Join(f.Gates, ", ") + ", its ledger damaged on disk"
	case "delay":
		if f.Delay == 0 {
			return "mesh delay ends"
		}
		return fmt.Sprintf("mesh delay %v on every link", f.Delay)
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
	arrivals, entries, refusals := make([]float64, len(r.Minutes)), make([]float64, len(r.Minutes)), make([]float64, len(r.Minutes))
	for i, m := range r.Minutes {
		arrivals[i], entries[i], refusals[i] = float64(m.Arrivals), float64(m.Entries), float64(m.Refusals)
	}
	qat, qmax, qtotal := make([]float64, len(r.Queues)), make([]float64, len(r.Queues)), make([]float64, len(r.Queues))
	for i, q := range r.Queues {
		qat[i], qmax[i], qtotal[i] = q.At.Minutes(), float64(q.Max), float64(q.Total)
	}
	lat := []bar{{"decision p50", r.Decision.P50}, {"decision p99", r.Decision.P99},
		{"propagation p50", r.Propagation.P50}, {"propagation p99", r.Propagation.P99}}
	if r.PropagationLoss.N > 0 {
		lat = append(lat, bar{"with loss p50", r.PropagationLoss.P50}, bar{"with loss p99", r.PropagationLoss.P99})
	}
	span := float64(len(r.Minutes))
	if len(r.Queues) > 0 {
		span = max(span, r.Queues[len(r.Queues)-1].At.Minutes())
	}
	var faults []float64
	for _, f := range r.Faults {
		faults = append(faults, f.At.Minutes())
	}
	data := map[string]any{
		"R": r,
		"Flow": chart("People a minute", "minutes after doors open", span, faults,
			perMinute("arrivals", "#2563eb", arrivals), perMinute("entries", "#16a34a", entries), perMinute("refusals", "#dc2626", refusals)),
		"Queue": chart("Queues (people waiting)", "minutes after doors open", span, faults,
			series{"longest queue", "#ea580c", qat, qmax}, series{"everyone queueing", "#7c3aed", qat, qtotal}),
		"Lat":     bars("Latency (wall clock, ms)", lat),
		"Summary": r.summary(),
	}
	return page.Execute(w, data)
}

type series struct {
	name, color string
	xs, ys      []float64 // minutes after doors open, and the values there
}

// perMinute is one value a scenario minute, drawn at the middle of its
// minute (minute 0 counts from 0:00 to 1:00).
func perMinute(name, color string, ys []float64) series {
	xs := make([]float64, len(ys))
	for i := range xs {
		xs[i] = float64(i) + 0.5
	}
	return series{name, color, xs, ys}
}

// niceStep is a round step (1, 2 or 5 times a power of ten, at least
// 1: the charts count people) that cuts span into about n parts.
func niceStep(span float64, n int) float64 {
	raw := span / float64(n)
	if raw <= 1 {
		return 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5} {
		if raw <= m*mag {
			return m * mag
		}
	}
	return 10 * mag
}

// chart draws series over minutes as an SVG line chart, with a dashed
// line at each fault. The x axis runs from 0 to span minutes (further if
// a point or a fault lies beyond), so that the charts of a run share it.
// The y axis runs from 0 at the x axis up to a round
// figure at or above the highest value, labelled at round steps.
func chart(title, xlabel string, span float64, marks []float64, ss ...series) template.HTML {
	const w, h, left, right, bottom, top = 720, 260, 48, 12, 36, 40
	xmax, ymax := max(span, 1), 0.0
	for _, s := range ss {
		for i := range s.ys {
			xmax, ymax = max(xmax, s.xs[i]), max(ymax, s.ys[i])
		}
	}
	for _, m := range marks {
		xmax = max(xmax, m)
	}
	ystep := niceStep(ymax, 4)
	ytop := max(ystep, math.Ceil(ymax/ystep)*ystep)
	xs := func(x float64) float64 { return left + x*(w-left-right)/xmax }
	ys := func(y float64) float64 { return h - bottom - y*(h-bottom-top)/ytop }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" role="img" aria-label="%s"><text x="%d" y="18" class="t">%s</text>`, w, h, template.HTMLEscapeString(title), left, template.HTMLEscapeString(title))
	for v := 0.0; v <= ytop; v += ystep {
		if v > 0 {
			fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" class="g"/>`, left, ys(v), w-right, ys(v))
		}
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" class="l y" text-anchor="end">%.0f</text>`, left-6, ys(v)+4, v)
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" class="ax"/><line x1="%d" y1="%d" x2="%d" y2="%d" class="ax"/>`, left, h-bottom, w-right, h-bottom, left, top, left, h-bottom)
	xstep := niceStep(xmax, 8)
	for x := 0.0; x <= xmax; x += xstep {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="l x" text-anchor="middle">%.0f</text>`, xs(x), h-bottom+16, x)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" class="l" text-anchor="end">%s</text>`, w-right, h-4, template.HTMLEscapeString(xlabel))
	for _, m := range marks {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" class="f"/>`, xs(m), top, xs(m), h-bottom)
	}
	for k, s := range ss {
		pts := make([]string, len(s.ys))
		for i, y := range s.ys {
			pts[i] = fmt.Sprintf("%.1f,%.1f", xs(s.xs[i]), ys(y))
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`, strings.Join(pts, " "), s.color)
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d" class="l">%s</text>`, left+10+k*170, 24, s.color, left+24+k*170, 33, template.HTMLEscapeString(s.name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

type bar struct {
	name string
	d    time.Duration
}

// bars draws durations as horizontal bars in milliseconds, each as long
// against the longest as its duration.
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
			left-8, y+15, template.HTMLEscapeString(x.name), left, y+3, bw, rowH-8, float64(left)+bw+6, y+15, ms(x.d))
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
.ax{stroke:#999}.g{stroke:#e4e4e7}.f{stroke:#dc2626;stroke-dasharray:4 3}
h2{font-size:1.15em;margin:1.6em 0 .4em}
.scroll{overflow-x:auto}.chart svg{min-width:600px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;font-variant-numeric:tabular-nums;padding:.35em .6em;border-bottom:1px solid #e4e4e7;vertical-align:top}
thead th{border-bottom:2px solid #a1a1aa}
tbody th{font-weight:normal}
.note{color:#555;font-size:13px}
.big{display:flex;gap:1em;flex-wrap:wrap}.big div{background:#f4f4f5;border-radius:8px;padding:.6em 1em}.big b{font-size:1.6em;display:block}
@media (prefers-color-scheme: dark){body{background:#111;color:#eee}svg{background:#1c1c1f}.l{fill:#bbb}.g{stroke:#333}.big div{background:#1c1c1f}th,td{border-color:#333}.note{color:#aaa}}
</style></head><body>
<h1>{{.Summary.Title}}</h1>
<p>{{.Summary.Intro}}</p>
<div class="big">
<div><b>{{.R.Admitted}}</b>admitted</div>
<div><b>{{.R.DoubleConnected}}</b>double entries, venue whole</div>
<div><b>{{.R.DoubleFaulted}}</b>double entries, split</div>
<div><b>{{.R.Conflicts}}</b>conflicts found</div>
<div><b>{{.R.Lost}}</b>records lost</div>
<div><b>{{.R.Central.Conflicts}}</b>conflicts at central</div>
<div><b>{{.R.Central.Lost}}</b>lost at central</div>
</div>
<div class="scroll chart">{{.Flow}}</div>
<div class="scroll chart">{{.Queue}}</div>
<div class="scroll chart">{{.Lat}}</div>
<p class="note">Dashed red lines are the faults of the schedule.</p>
{{range .Summary.Sections}}
{{- if .Heading}}<h2>{{.Heading}}</h2>{{else}}<h2>Figures</h2>{{end}}
{{- if .Rows}}
<div class="scroll"><table>
{{- if .Head}}<thead><tr>{{range .Head}}<th scope="col">{{.}}</th>{{end}}</tr></thead>{{end}}
<tbody>
{{- range .Rows}}
<tr>{{range $i, $c := .}}{{if not $i}}<th scope="row">{{$c.Text}}</th>{{else}}<td>{{if $c.Strong}}<strong>{{$c.Text}}</strong>{{else}}{{$c.Text}}{{end}}</td>{{end}}{{end}}</tr>
{{- end}}
</tbody></table></div>
{{- end}}
{{- if .Items}}
<ul>{{range .Items}}<li>{{.}}</li>{{end}}</ul>
{{- end}}
{{end}}
<p class="note">{{.Summary.Note}}</p>
</body></html>
`))

// plural is "1 gate", "2 gates".
func plural(n int, one string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %ss", n, one)
}
