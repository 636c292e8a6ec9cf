package ops

import (
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ledger/record"
)

// ChartMinutes is how far back the entries chart reaches.
const ChartMinutes = 30

type gateRow struct {
	Gate                         string
	Records, Entries, Exits, Ovr int
	Last                         string
}

type zoneOccupancy struct {
	Zone                        string
	Inside, Entries, Exits, Ovr int
	id                          int
}

type reasonRow struct {
	Reason string
	Count  int
	Last   string
}

type dashboardData struct {
	base
	Devices, Online, Records, Admissions, OpenConflicts, AllConflicts int
	Gates                                                             []gateRow
	DeviceRows                                                        []deviceRow
	Zones                                                             []zoneOccupancy
	Refusals                                                          []reasonRow
	Chart, ChartLegend                                                template.HTML
	ChartAxis                                                         []string
	ChartTotal, ChartTop                                              int
	Updated                                                           string
	UpdatedZone                                                       string        // the venue's zone, "" when Updated's abbreviation names it already
	Latest                                                            []conflictRow // the newest open conflicts
	Refresh                                                           int64         // milliseconds
}

// dashboardOf gathers the venue's figures.
func (u *UI) dashboardOf(r *http.Request, s staff.Session) (dashboardData, error) {
	b, v, loc, err := u.venue(r, s)
	d := dashboardData{base: b, Refresh: u.cfg.Refresh.Milliseconds()}
	if err != nil {
		return d, err
	}
	ctx := r.Context()
	now := u.cfg.Clock.Now()
	d.Updated = now.In(loc).Format("15:04:05 MST")
	if abbr := now.In(loc).Format("MST"); abbr != d.TimeZone && d.TimeZone != "" {
		d.UpdatedZone = d.TimeZone
	}
	if d.DeviceRows, d.Online, err = u.devices(r, v.Name, loc); err != nil {
		return d, err
	}
	for _, r := range d.DeviceRows {
		if !r.Revoked {
			d.Devices++ // a revoked device is not missing
		}
	}
	// The venue's events: the counts cover every venue's records.
	evs, err := u.cfg.Store.Events(ctx, v.Name)
	if err != nil {
		return d, err
	}
	ours := map[uint64]bool{}
	for _, e := range evs {
		ours[e.ID] = true
	}
	counts, err := u.tally.passages(ctx, u.cfg.Store, now)
	if err != nil {
		return d, err
	}
	byGate := map[string]*gateRow{}
	last := map[string]time.Time{}
	byZone := map[int]*zoneOccupancy{}
	for _, c := range counts {
		if !ours[c.Event] {
			continue
		}
		d.Records += c.Count
		k := record.Kind(c.Kind)
		if k == record.KindSale || k == record.KindVoid || k.Shift() {
			continue // a seller's till, not a gate
		}
		g := byGate[c.Gate]
		if g == nil {
			g = &gateRow{Gate: c.Gate}
			byGate[c.Gate] = g
		}
		z := byZone[c.Zone]
		if z == nil {
			z = &zoneOccupancy{Zone: zoneName(v, c.Zone), id: c.Zone}
			byZone[c.Zone] = z
		}
		g.Records += c.Count
		switch k {
		case record.KindEntry:
			g.Entries += c.Count
			z.Entries += c.Count
			d.Admissions += c.Count
		case record.KindOverride:
			g.Ovr += c.Count
			z.Ovr += c.Count
			d.Admissions += c.Count
		case record.KindExit:
			g.Exits += c.Count
			z.Exits += c.Count
		case record.KindAnnul: // an entry taken back: nobody passed
			g.Entries -= c.Count
			z.Entries -= c.Count
			d.Admissions -= c.Count
		}
		if c.Last.After(last[c.Gate]) {
			last[c.Gate] = c.Last
		}
	}
	for name, g := range byGate {
		g.Last = when(last[name], loc)
		d.Gates = append(d.Gates, *g)
	}
	sort.Slice(d.Gates, func(i, j int) bool { return d.Gates[i].Gate < d.Gates[j].Gate })
	for _, z := range byZone {
		z.Inside = max(z.Entries+z.Ovr-z.Exits, 0)
		d.Zones = append(d.Zones, *z)
	}
	sort.Slice(d.Zones, func(i, j int) bool { return d.Zones[i].id < d.Zones[j].id })
	refusals, err := u.cfg.Store.RefusalCounts(ctx)
	if err != nil {
		return d, err
	}
	for _, c := range refusals {
		d.Refusals = append(d.Refusals, reasonRow{Reason: c.Reason, Count: c.Count, Last: when(c.Last, loc)})
	}
	end := now.Truncate(time.Minute)
	start := end.Add(-(ChartMinutes - 1) * time.Minute)
	all, err := u.cfg.Store.AdmissionsByMinute(ctx, start)
	if err != nil {
		return d, err
	}
	var mins []store.MinuteCount
	for _, m := range all {
		if ours[m.Event] {
			mins = append(mins, m)
		}
	}
	var gates []string
	for _, g := range v.Gates {
		gates = append(gates, g.Name)
	}
	c := chart(mins, gates, start, loc, u.site.T(r, "dashboard.chart", "minutes", ChartMinutes))
	d.Chart, d.ChartLegend, d.ChartAxis, d.ChartTotal, d.ChartTop = c.SVG, c.Legend, c.Axis, c.Total, c.Top
	if d.OpenConflicts, d.AllConflicts, err = u.cfg.Store.ConflictCounts(ctx, v.Name); err != nil {
		return d, err
	}
	if d.OpenConflicts > 0 {
		cs, err := u.cfg.Store.TicketConflicts(ctx, store.ConflictFilter{Venue: v.Name, State: "open", Limit: 5})
		if err != nil {
			return d, err
		}
		for _, c := range cs {
			d.Latest = append(d.Latest, conflictRow{ID: c.ID, Kind: c.Kind, Event: c.Event, Serial: c.Serial, Found: when(c.Found, loc)})
		}
	}
	return d, nil
}

func (u *UI) dashboard(w http.ResponseWriter, r *http.Request, s staff.Session) {
	d, err := u.dashboardOf(r, s)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	p := u.page(s, "dashboard", "dashboard.title", d)
	p.Script = "live"
	u.site.Render(w, r, http.StatusOK, p)
}

// Live is the dashboard's figures as the page polls them: the live part of
// the page rendered again, and its counts for scripts.
type Live struct {
	HTML          string `json:"html"`
	Updated       string `json:"updated"`
	Online        int    `json:"online"`
	Devices       int    `json:"devices"`
	Admissions    int    `json:"admissions"`
	Records       int    `json:"records"`
	OpenConflicts int    `json:"open_conflicts"`
	LastMinutes   int    `json:"admissions_charted"`
}

func (u *UI) liveJSON(w http.ResponseWriter, r *http.Request, s staff.Session) {
	d, err := u.dashboardOf(r, s)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	frag, err := u.site.Fragment(r, "live", d)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(Live{HTML: string(frag), Updated: d.Updated, Online: d.Online, Devices: d.Devices, Admissions: d.Admissions,
		Records: d.Records, OpenConflicts: d.OpenConflicts, LastMinutes: d.ChartTotal})
}

// chartColors tell the gates apart on light and dark backgrounds.
var chartColors = []string{"#1a73e8", "#188038", "#e8710a", "#9334e6", "#12b5cb", "#d01884", "#a0522d", "#5f6368"}

// chartData is the entries chart: the bars as inline SVG (no script, no
// outside source), and the axis and legend as text beside it, so they keep
// their size on a phone.
type chartData struct {
	SVG    template.HTML
	Legend template.HTML
	Axis   []string // the first, middle and last minute, in the venue's time
	Top    int      // the highest bar's count
	Total  int      // the admissions drawn
}

// chart draws the admissions of the last ChartMinutes minutes as stacked
// bars, a colour per gate.
func chart(mins []store.MinuteCount, gates []string, start time.Time, loc *time.Location, label string) chartData {
	per := map[int]map[string]int{} // minute index → gate → count
	var c chartData
	for _, m := range mins {
		i := int(m.Minute.Sub(start) / time.Minute)
		if i < 0 || i >= ChartMinutes {
			continue
		}
		if per[i] == nil {
			per[i] = map[string]int{}
		}
		per[i][m.Gate] += m.Count
		c.Total += m.Count
		if !slices.Contains(gates, m.Gate) {
			gates = append(gates, m.Gate)
		}
	}
	c.Top = 1
	for _, g := range per {
		n := 0
		for _, k := range g {
			n += k
		}
		c.Top = max(c.Top, n)
	}
	const w, h = 600.0, 200.0
	bw := w / ChartMinutes
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="chart" class="chart" viewBox="0 0 %g %g" preserveAspectRatio="none" role="img" aria-label="%s" data-total="%d" xmlns="http://www.w3.org/2000/svg">`,
		w, h, html.EscapeString(label), c.Total)
	fmt.Fprintf(&b, `<title>%s</title>`, html.EscapeString(label))
	fmt.Fprintf(&b, `<line x1="0" y1="%g" x2="%g" y2="%g" stroke="currentColor" stroke-opacity=".15" vector-effect="non-scaling-stroke"/>`, h/2, w, h/2)
	for i := range ChartMinutes {
		y := h
		for gi, g := range gates {
			n := per[i][g]
			if n == 0 {
				continue
			}
			bh := (h - 4) * float64(n) / float64(c.Top)
			y -= bh
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %d</title></rect>`,
				float64(i)*bw+1, y, bw-2, bh, chartColors[gi%len(chartColors)], html.EscapeString(g),
				start.Add(time.Duration(i)*time.Minute).In(loc).Format("15:04"), n)
		}
	}
	b.WriteString(`</svg>`)
	c.SVG = template.HTML(b.String())
	for _, i := range []int{0, ChartMinutes / 2, ChartMinutes - 1} {
		c.Axis = append(c.Axis, start.Add(time.Duration(i)*time.Minute).In(loc).Format("15:04"))
	}
	b.Reset()
	b.WriteString(`<ul class="legend">`)
	for gi, g := range gates {
		fmt.Fprintf(&b, `<li><svg width="14" height="14" viewBox="0 0 14 14" aria-hidden="true"><rect width="14" height="14" rx="3" fill="%s"/></svg> %s</li>`,
			chartColors[gi%len(chartColors)], html.EscapeString(g))
	}
	b.WriteString(`</ul>`)
	c.Legend = template.HTML(b.String())
	return c
}
