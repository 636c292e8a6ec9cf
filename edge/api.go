package edge

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tixgate/tixgate/cluster"
	"github.com/tixgate/tixgate/edge/deviceapi"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/rules"
	"github.com/tixgate/tixgate/strict"
	"github.com/tixgate/tixgate/ticket"
)

// maxBody bounds a request body.
const maxBody = 64 << 10

// Handler is the local API:
//
//	POST /api/v1/scans       {"code", "gate", "direction", "nonce"} → the answer
//	POST /api/v1/frames      a camera frame (image/jpeg, image/png) → the answer, or 204 without a code
//	POST /api/v1/overrides   {"code", "gate", "direction", "supervisor", "note"}
//	GET  /api/v1/tickets/{event}/{serial}   the ticket's manifest entry and passages
//	GET  /api/v1/status      device, manifest, mesh and ledger figures
//	GET  /api/v1/peers       the mesh as this node sees it
//	GET  /api/v1/conflicts   conflicts found when logs merged
//	GET  /metrics            Prometheus text format
//	GET  /healthz            {"state", "detail", "warnings"}: 200 when ready, 503 with the reason (no token)
//
// Everything but /healthz needs "Authorization: Bearer TOKEN".
func (n *Node) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/scans", n.auth(n.handleScan))
	mux.HandleFunc("POST /api/v1/frames", n.auth(n.handleFrame))
	mux.HandleFunc("POST /api/v1/overrides", n.auth(n.handleOverride))
	mux.HandleFunc("GET /api/v1/tickets/{event}/{serial}", n.auth(n.handleTicket))
	mux.HandleFunc("GET /api/v1/status", n.auth(n.handleStatus))
	mux.HandleFunc("GET /api/v1/peers", n.auth(n.handlePeers))
	mux.HandleFunc("GET /api/v1/conflicts", n.auth(n.handleConflicts))
	mux.HandleFunc("GET /metrics", n.auth(n.handleMetrics))
	mux.HandleFunc("GET /healthz", n.handleHealth)
	return mux
}

// auth requires the bearer token, compared in constant time.
func (n *Node) auth(h http.HandlerFunc) http.HandlerFunc {
	want := []byte("Bearer " + n.token)
	return func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tixgate"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong bearer token (see api.token in the device directory)")
			return
		}
		h(w, r)
	}
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, deviceapi.Error{Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// decodeBody reads a JSON body strictly (see package strict): bounded,
// names matched exactly, no unknown or repeated fields, one value.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "send application/json")
		return false
	}
	if err := strict.ReadJSON(r.Body, maxBody, v); err != nil {
		if errors.Is(err, strict.ErrTooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, err.Error())
			return false
		}
		writeError(w, http.StatusBadRequest, "bad request body: "+err.Error())
		return false
	}
	return true
}

// maxNonce bounds a scan's nonce.
const maxNonce = 64

func (n *Node) scanOf(w http.ResponseWriter, req deviceapi.ScanRequest) (ledger.Scan, bool) {
	s := ledger.Scan{Text: strings.TrimSpace(req.Code), Gate: req.Gate, Direction: rules.Direction(req.Direction)}
	if s.Gate == "" {
		s.Gate = n.cfg.Gate
	}
	switch {
	case s.Text == "":
		writeError(w, http.StatusBadRequest, "code is required")
		return s, false
	case len(s.Text) > ticket.MaxCodeLen:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("code longer than %d characters", ticket.MaxCodeLen))
		return s, false
	case s.Gate == "":
		writeError(w, http.StatusBadRequest, "gate is required: this device serves no default gate")
		return s, false
	case s.Direction != "" && s.Direction != rules.In && s.Direction != rules.Out:
		writeError(w, http.StatusBadRequest, `direction must be "in" or "out"`)
		return s, false
	case len(req.Nonce) > maxNonce:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("nonce longer than %d characters", maxNonce))
		return s, false
	}
	return s, true
}

func (n *Node) handleScan(w http.ResponseWriter, r *http.Request) {
	var req deviceapi.ScanRequest
	if !decodeBody(w, r, &req) {
		return
	}
	s, ok := n.scanOf(w, req)
	if !ok {
		return
	}
	decide := func() (deviceapi.Answer, error) { return n.decide(r.Context(), s, deviceapi.SourceAPI) }
	var a deviceapi.Answer
	var err error
	if req.Nonce != "" {
		a, err = n.nonces.do(req.Nonce, decide)
	} else {
		a, err = decide()
	}
	if err != nil {
		n.log.Error("scan could not be decided", "err", err)
		writeError(w, http.StatusServiceUnavailable, "the ledger could not record the scan: do not open; "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (n *Node) handleOverride(w http.ResponseWriter, r *http.Request) {
	var req deviceapi.OverrideRequest
	if !decodeBody(w, r, &req) {
		return
	}
	s, ok := n.scanOf(w, deviceapi.ScanRequest{Code: req.Code, Gate: req.Gate, Direction: req.Direction})
	if !ok {
		return
	}
	d, err := n.ledger.OverrideScan(r.Context(), ledger.Override{Scan: s, Supervisor: req.Supervisor, Note: req.Note})
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (n *Node) handleTicket(w http.ResponseWriter, r *http.Request) {
	event, err1 := strconv.ParseUint(r.PathValue("event"), 10, 64)
	serial, err2 := strconv.ParseUint(r.PathValue("serial"), 10, 64)
	if err1 != nil || err2 != nil || event > ticket.MaxEvent || serial > ticket.MaxSerial {
		writeError(w, http.StatusBadRequest, "want /api/v1/tickets/EVENT/SERIAL with numbers")
		return
	}
	h, err := n.ledger.History(event, serial)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, h)
}

// Status is the body of GET /api/v1/status.
type Status struct {
	Device      string            `json:"device"`
	Role        string            `json:"role"`
	Venue       string            `json:"venue"`
	Gate        string            `json:"gate,omitempty"`
	Version     string            `json:"version"`
	Uptime      string            `json:"uptime"`
	MeshAddr    string            `json:"mesh_addr"`
	ManifestSeq uint64            `json:"manifest_seq"`
	Vector      map[string]uint64 `json:"vector"`
	Ledger      ledger.Stats      `json:"ledger"`
	Mesh        cluster.Stats     `json:"mesh"`
	Rejected    map[string]uint64 `json:"rejected_by_sender,omitempty"`
}

func (n *Node) status() (Status, error) {
	id := n.ledger.Identity()
	st, err := n.ledger.Stats()
	if err != nil {
		return Status{}, err
	}
	vv, err := n.ledger.VersionVector()
	if err != nil {
		return Status{}, err
	}
	s := Status{Device: id.Cert.Device, Role: string(id.Cert.Role), Venue: id.Cert.Venue, Gate: n.cfg.Gate, Version: n.cfg.Version,
		Uptime: n.cfg.Clock.Now().Sub(n.start).Round(time.Second).String(), MeshAddr: n.mesh.Addr(), ManifestSeq: n.ledger.ManifestSeq(),
		Vector: map[string]uint64{}, Ledger: st, Mesh: n.mesh.Stats(), Rejected: n.mesh.Rejected()}
	for o, seq := range vv {
		s.Vector[o.String()] = seq
	}
	return s, nil
}

func (n *Node) handleStatus(w http.ResponseWriter, r *http.Request) {
	s, err := n.status()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, s)
}

func (n *Node) handlePeers(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, n.mesh.Peers())
}

func (n *Node) handleConflicts(w http.ResponseWriter, r *http.Request) {
	cs, err := n.ledger.Conflicts()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if cs == nil {
		cs = []ledger.Conflict{}
	}
	writeJSON(w, http.StatusOK, cs)
}

func (n *Node) handleMetrics(w http.ResponseWriter, r *http.Request) {
	s, err := n.status()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	m := []struct {
		name, help, kind string
		value            float64
	}{
		{"tixgate_scans_admitted_total", "Scans answered ok since start.", "counter", float64(s.Ledger.Admitted)},
		{"tixgate_scans_refused_total", "Scans refused since start.", "counter", float64(s.Ledger.Refused)},
		{"tixgate_manifest_seq", "Last manifest change applied.", "gauge", float64(s.ManifestSeq)},
		{"tixgate_ledger_records", "Records held, from every device.", "gauge", float64(s.Ledger.Records)},
		{"tixgate_ledger_held_records", "Records waiting for earlier ones.", "gauge", float64(s.Ledger.HeldRecords)},
		{"tixgate_ledger_conflicts", "Conflicts found when logs merged.", "gauge", float64(s.Ledger.Conflicts)},
		{"tixgate_ledger_disk_bytes", "Ledger size on disk.", "gauge", float64(s.Ledger.DiskBytes)},
		{"tixgate_mesh_members", "Live members of the venue mesh, this node included.", "gauge", float64(s.Mesh.Members)},
		{"tixgate_mesh_records_in_total", "Records received from peers.", "counter", float64(s.Mesh.RecordsIn)},
		{"tixgate_mesh_rejected_total", "Records and changes from peers the ledger refused.", "counter", float64(s.Mesh.Rejected)},
		{"tixgate_mesh_dropped_total", "Messages dropped because the inbox was full.", "counter", float64(s.Mesh.Dropped)},
		{"tixgate_mesh_packet_bytes_out_total", "UDP bytes sent.", "counter", float64(s.Mesh.PacketBytesOut)},
		{"tixgate_mesh_stream_bytes_out_total", "TCP bytes sent.", "counter", float64(s.Mesh.StreamBytesOut)},
	}
	for _, x := range m {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %g\n", x.name, x.help, x.name, x.kind, x.name, x.value)
	}
}
