package ops

import (
	"net/http"
	"sort"
	"time"

	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/ledger/record"
)

type gateRow struct {
	Gate                         string
	Records, Entries, Exits, Ovr int
	Last                         string
}

type deviceRow struct {
	Name, Role, Gate, Status, State, Version, LastSeen string
	Online                                             bool
	Manifest, Backlog, SkewMillis                      int64
}

type dashboardData struct {
	Devices, Online, Records, Admissions, OpenConflicts, AllConflicts int
	Gates                                                             []gateRow
	DeviceRows                                                        []deviceRow
}

func (u *UI) when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func (u *UI) devices(r *http.Request) ([]deviceRow, int, error) {
	devs, err := u.cfg.Store.Devices(r.Context())
	if err != nil {
		return nil, 0, err
	}
	now := u.cfg.Clock.Now()
	online := 0
	rows := make([]deviceRow, 0, len(devs))
	for _, d := range devs {
		row := deviceRow{Name: d.Name, Role: d.Role, Gate: d.Gate, Status: d.Status, State: d.UplinkState, Version: d.Version,
			LastSeen: u.when(d.LastSeen), Manifest: int64(d.ManifestSeq), Backlog: d.Backlog, SkewMillis: d.SkewMillis}
		row.Online = !d.LastSeen.IsZero() && now.Sub(d.LastSeen) < u.cfg.Online && d.Revoked.IsZero()
		if row.Online {
			online++
		}
		rows = append(rows, row)
	}
	return rows, online, nil
}

func (u *UI) dashboard(w http.ResponseWriter, r *http.Request, s staff.Session) {
	var d dashboardData
	var err error
	if d.DeviceRows, d.Online, err = u.devices(r); err != nil {
		u.internal(w, r, err)
		return
	}
	d.Devices = len(d.DeviceRows)
	counts, err := u.cfg.Store.GateCounts(r.Context(), "")
	if err != nil {
		u.internal(w, r, err)
		return
	}
	byGate := map[string]*gateRow{}
	last := map[string]time.Time{}
	for _, c := range counts {
		d.Records += c.Count
		if k := record.Kind(c.Kind); k == record.KindSale || k == record.KindVoid || k.Shift() {
			continue // a seller's till, not a gate
		}
		g := byGate[c.Gate]
		if g == nil {
			g = &gateRow{Gate: c.Gate}
			byGate[c.Gate] = g
		}
		g.Records += c.Count
		switch record.Kind(c.Kind) {
		case record.KindEntry:
			g.Entries += c.Count
			d.Admissions += c.Count
		case record.KindOverride:
			g.Ovr += c.Count
			d.Admissions += c.Count
		case record.KindExit:
			g.Exits += c.Count
		}
		if c.Last.After(last[c.Gate]) {
			last[c.Gate] = c.Last
		}
	}
	for name, g := range byGate {
		g.Last = u.when(last[name])
		d.Gates = append(d.Gates, *g)
	}
	sort.Slice(d.Gates, func(i, j int) bool { return d.Gates[i].Gate < d.Gates[j].Gate })
	if d.OpenConflicts, d.AllConflicts, err = u.cfg.Store.ConflictCounts(r.Context(), ""); err != nil {
		u.internal(w, r, err)
		return
	}
	u.site.Render(w, r, http.StatusOK, u.page(s, "dashboard", "dashboard.title", d))
}

func (u *UI) deviceList(w http.ResponseWriter, r *http.Request, s staff.Session) {
	rows, _, err := u.devices(r)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	u.site.Render(w, r, http.StatusOK, u.page(s, "devices", "devices.title", rows))
}
