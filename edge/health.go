package edge

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tixgate/tixgate/edge/deviceapi"
	"github.com/tixgate/tixgate/ledger/decision"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ticket"
)

// Health says whether the device can decide scans, what is wrong if not,
// and what staff should know (warnings) when it can.
func (n *Node) Health() deviceapi.Health {
	h, venue := n.readiness()
	if h.State != deviceapi.StateReady {
		return h
	}
	return n.warn(h, venue)
}

// readiness is Health without its warnings: what the scan path asks. It
// reads what the ledger holds in memory and allocates nothing on a ready
// device.
func (n *Node) readiness() (deviceapi.Health, manifest.Venue) {
	if msg := n.revoked.Load(); msg != nil {
		v, _ := n.ledger.Venue()
		return deviceapi.Health{State: deviceapi.StateRevoked,
			Detail: *msg + " (this device admits nobody: give it back to ops, who enroll it again)"}, v
	}
	venue, ok := n.ledger.Venue()
	if !ok {
		return deviceapi.Health{State: deviceapi.StateUnprovisioned,
			Detail: "no manifest imported: run tixgate ledger import, or enroll the device with central"}, venue
	}
	if want := n.ledger.Identity().Cert.Venue; want != "" && want != venue.Name {
		return deviceapi.Health{State: deviceapi.StateWrongVenue,
			Detail: fmt.Sprintf("the manifest is for venue %q, this device is certified for %q", venue.Name, want)}, venue
	}
	if n.cfg.Gate != "" {
		known := false
		for _, g := range venue.Gates {
			known = known || g.Name == n.cfg.Gate
		}
		if !known {
			return deviceapi.Health{State: deviceapi.StateUnknownGate,
				Detail: fmt.Sprintf("gate %q is not in the manifest of venue %q", n.cfg.Gate, venue.Name)}, venue
		}
	}
	return deviceapi.Health{State: deviceapi.StateReady}, venue
}

// warn adds to a ready device's health what staff should know.
func (n *Node) warn(h deviceapi.Health, venue manifest.Venue) deviceapi.Health {
	if n.cfg.Gate == "" && n.ledger.Identity().Cert.Role == ticket.RoleGate {
		names := make([]string, 0, len(venue.Gates))
		for _, g := range venue.Gates {
			names = append(names, g.Name)
		}
		h.Warnings = append(h.Warnings, fmt.Sprintf("no gate set: the camera, the scanner and manual entry refuse every ticket, and API scans must name their gate; start with --gate (one of %s)", strings.Join(names, ", ")))
	}
	now := n.cfg.Clock.Now()
	events := n.ledger.Events()
	ended := len(events) > 0
	for _, e := range events {
		ended = ended && !e.Ends.IsZero() && !now.Before(e.Ends)
	}
	if ended {
		h.Warnings = append(h.Warnings, "every event of the manifest has ended: import the next manifest")
	}
	if len(events) == 0 {
		h.Warnings = append(h.Warnings, "the manifest holds no event")
	}
	return h
}

// notProvisioned is the answer to a scan on a device that cannot decide.
func notProvisioned(h deviceapi.Health, gate string, n *Node) deviceapi.Answer {
	return deviceapi.Answer{Decision: decision.Decision{Result: decision.Refused, Reason: deviceapi.ReasonNotProvisioned,
		Detail: h.State + ": " + h.Detail, Gate: gate, At: n.cfg.Clock.Now()}}
}

func (n *Node) handleHealth(w http.ResponseWriter, r *http.Request) {
	h := n.Health()
	status := http.StatusOK
	if h.State != deviceapi.StateReady {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, h)
}

// logHealth says at start what state the device is in.
func (n *Node) logHealth() {
	h := n.Health()
	switch {
	case h.State == deviceapi.StateUnprovisioned && n.cfg.Central != "":
		n.log.Info("no manifest yet: the uplink pulls it from central; scans are refused as not_provisioned until it is in", "central", n.cfg.Central)
		go n.sayWhenReady()
	case h.State != deviceapi.StateReady:
		n.log.Error("device cannot decide scans: every scan is refused as not_provisioned", "state", h.State, "detail", h.Detail)
	}
	for _, w := range h.Warnings {
		n.log.Warn(w)
	}
}

// sayWhenReady logs once the first manifest from central made the device
// ready, or what is still wrong after a minute.
func (n *Node) sayWhenReady() {
	for range 600 {
		select {
		case <-n.liveStop: // the node stops
			return
		case <-time.After(100 * time.Millisecond):
		}
		if h := n.Health(); h.State == deviceapi.StateReady {
			n.log.Info("manifest from central imported: the device decides scans", "manifest", n.ledger.ManifestSeq())
			return
		} else if h.State != deviceapi.StateUnprovisioned {
			n.log.Error("device cannot decide scans: every scan is refused as not_provisioned", "state", h.State, "detail", h.Detail)
			return
		}
	}
	n.log.Warn("still no manifest from central after a minute: scans are refused as not_provisioned; see the uplink state in /api/v1/status", "central", n.cfg.Central)
}
