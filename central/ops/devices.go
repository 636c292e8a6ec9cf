package ops

import (
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/tixgate/tixgate/central/devices"
	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ticket"
)

type deviceRow struct {
	Name, Role, Gate, Status, State, Version, LastSeen string
	Online, Revoked                                    bool
	// Synced: the device synced after its enrollment; never synced, it
	// is offline and its last uplink state means nothing.
	Synced                        bool
	Manifest, Backlog, SkewMillis int64
	// Enrolled and not revoked: it may be suspended, resumed and rolled.
	Active        bool
	Suspended     bool
	SuspendReason string
	RollAsked     bool // ops asked for a new credential, not used yet
}

// devices lists the devices, of one venue or all ("").
func (u *UI) devices(r *http.Request, venue string, loc *time.Location) ([]deviceRow, int, error) {
	devs, err := u.cfg.Store.Devices(r.Context())
	if err != nil {
		return nil, 0, err
	}
	now := u.cfg.Clock.Now()
	online := 0
	rows := make([]deviceRow, 0, len(devs))
	for _, d := range devs {
		if venue != "" && d.Venue != venue {
			continue
		}
		row := deviceRow{Name: d.Name, Role: d.Role, Gate: d.Gate, Status: d.Status, State: d.UplinkState, Version: d.Version,
			LastSeen: when(d.LastSeen, loc), Manifest: int64(d.ManifestSeq), Backlog: d.Backlog, SkewMillis: d.SkewMillis, Revoked: !d.Revoked.IsZero()}
		row.Active = d.Status == store.DeviceEnrolled && d.Revoked.IsZero()
		row.Suspended, row.SuspendReason, row.RollAsked = !d.Suspended.IsZero(), d.SuspendReason, !d.RollRequested.IsZero()
		// last_seen is the last sync; a device enrolled before that was so
		// has its enrollment there, with no uplink state.
		row.Synced = !d.LastSeen.IsZero() && (d.LastSeen.After(d.Enrolled) || d.UplinkState != "")
		if !row.Synced {
			row.LastSeen, row.State = "", ""
		}
		if row.Revoked || row.Suspended {
			row.State = "" // what it said before central stopped serving it
		}
		row.Online = row.Synced && now.Sub(d.LastSeen) < u.cfg.Online && !row.Revoked && !row.Suspended
		if row.Online {
			online++
		}
		rows = append(rows, row)
	}
	return rows, online, nil
}

type devicesData struct {
	base
	DeviceRows []deviceRow
	Gates      []string
	Name       string
	Role       string
	Gate       string
}

func (u *UI) devicesPage(w http.ResponseWriter, r *http.Request, s staff.Session, status int, d devicesData) {
	b, v, loc, err := u.venue(r, s)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	b.Error, b.Done = d.Error, r.FormValue("done")
	d.base = b
	d.Actions = true
	if d.DeviceRows, _, err = u.devices(r, v.Name, loc); err != nil {
		u.internal(w, r, err)
		return
	}
	for _, g := range v.Gates {
		d.Gates = append(d.Gates, g.Name)
	}
	if d.Role == "gate" && d.Gate == "" && len(d.Gates) > 0 && status == http.StatusOK {
		d.Gate = d.Gates[0]
	}
	u.site.Render(w, r, status, u.page(s, "devices", "devices.title", d))
}

func (u *UI) deviceList(w http.ResponseWriter, r *http.Request, s staff.Session) {
	u.devicesPage(w, r, s, http.StatusOK, devicesData{Role: "gate"})
}

type setupData struct {
	base
	Device, Role, Gate string
	Token, Code, URL   string
	Expires            string
	QR                 template.URL // a data: URL of the code's PNG, or ""
}

// deviceAdd creates a device and shows its one-time setup token and QR:
// the only time they are shown (central keeps the token's hash).
func (u *UI) deviceAdd(w http.ResponseWriter, r *http.Request, s staff.Session) {
	d := devicesData{Name: strings.TrimSpace(r.PostFormValue("name")), Role: r.PostFormValue("role"), Gate: r.PostFormValue("gate")}
	b, v, loc, err := u.venue(r, s)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	gate := d.Gate
	if d.Role == "seller" {
		gate = ""
	}
	setup, err := u.cfg.Devices.AddAs(r.Context(), s.User, devices.Device{Name: d.Name, Role: ticket.Role(d.Role), Venue: v.Name, Gate: gate})
	if err != nil {
		d.Error = err.Error()
		switch {
		case !ticket.ValidName(d.Name):
			d.Error = u.site.T(r, "devices.error.name", "name", d.Name)
		case errors.Is(err, store.ErrExists):
			d.Error = u.site.T(r, "devices.error.exists", "name", d.Name)
		case d.Role == "gate" && gate == "":
			d.Error = u.site.T(r, "devices.error.gate")
		}
		u.devicesPage(w, r, s, http.StatusBadRequest, d)
		return
	}
	u.showSetup(w, r, s, b, loc, setup, d.Role, gate)
}

// deviceRenew gives a device not enrolled yet a new setup code.
func (u *UI) deviceRenew(w http.ResponseWriter, r *http.Request, s staff.Session) {
	b, _, loc, err := u.venue(r, s)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	setup, err := u.cfg.Devices.Renew(r.Context(), s.User, r.PathValue("name"))
	if err != nil {
		u.devicesPage(w, r, s, http.StatusBadRequest, devicesData{base: base{Error: err.Error()}, Role: "gate"})
		return
	}
	dev, err := u.cfg.Store.DeviceByName(r.Context(), setup.Device)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	u.showSetup(w, r, s, b, loc, setup, dev.Role, dev.Gate)
}

// showSetup shows a setup token and its QR, once.
func (u *UI) showSetup(w http.ResponseWriter, r *http.Request, s staff.Session, b base, loc *time.Location, setup devices.Setup, role, gate string) {
	url := u.cfg.PublicURL
	if url == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		url = scheme + "://" + r.Host
	}
	out := setupData{base: b, Device: setup.Device, Role: role, Gate: gate, Token: setup.Token, Code: setup.Code(url), URL: url, Expires: when(setup.Expires, loc)}
	if u.cfg.QR != nil {
		png, err := u.cfg.QR(out.Code, 360)
		if err != nil {
			u.cfg.Logger.Error("setup qr", "device", setup.Device, "err", err)
		} else {
			out.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)) // made here, not from input
		}
	}
	u.site.Render(w, r, http.StatusOK, u.page(s, "setup", "setup.title", out))
}

func (u *UI) deviceRevoke(w http.ResponseWriter, r *http.Request, s staff.Session) {
	name := r.PathValue("name")
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" {
		reason = "revoked at central"
	}
	if _, err := u.cfg.Catalog.RevokeDeviceAs(r.Context(), s.User, name, reason); err != nil {
		u.devicesPage(w, r, s, http.StatusBadRequest, devicesData{base: base{Error: err.Error()}, Role: "gate"})
		return
	}
	http.Redirect(w, r, "/ops/devices?done=devices.revoked", http.StatusSeeOther)
}

// deviceSuspend stops central serving a device, without a revocation.
func (u *UI) deviceSuspend(w http.ResponseWriter, r *http.Request, s staff.Session) {
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if _, err := u.cfg.Devices.Suspend(r.Context(), s.User, r.PathValue("name"), reason); err != nil {
		u.devicesPage(w, r, s, http.StatusBadRequest, devicesData{base: base{Error: err.Error()}, Role: "gate"})
		return
	}
	http.Redirect(w, r, "/ops/devices?done=devices.suspended", http.StatusSeeOther)
}

// deviceResume serves a suspended device again.
func (u *UI) deviceResume(w http.ResponseWriter, r *http.Request, s staff.Session) {
	if _, err := u.cfg.Devices.Resume(r.Context(), s.User, r.PathValue("name"), ""); err != nil {
		u.devicesPage(w, r, s, http.StatusBadRequest, devicesData{base: base{Error: err.Error()}, Role: "gate"})
		return
	}
	http.Redirect(w, r, "/ops/devices?done=devices.resumed", http.StatusSeeOther)
}

// deviceRoll has a device roll its API credential at its next sync.
func (u *UI) deviceRoll(w http.ResponseWriter, r *http.Request, s staff.Session) {
	if _, err := u.cfg.Devices.RequestRoll(r.Context(), s.User, r.PathValue("name"), ""); err != nil {
		u.devicesPage(w, r, s, http.StatusBadRequest, devicesData{base: base{Error: err.Error()}, Role: "gate"})
		return
	}
	http.Redirect(w, r, "/ops/devices?done=devices.rolled", http.StatusSeeOther)
}
