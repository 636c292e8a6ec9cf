package edge

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tixgate/tixgate/cluster"
	"github.com/tixgate/tixgate/edge/deviceapi"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/rules"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/strict"
	"github.com/tixgate/tixgate/uplink"
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
//	GET  /api/v1/events/stream  Server-Sent Events for the status screen (see live.go)
//	GET  /api/v1/quotas      what a seller may sell: per event and type, the serials left and the price
//	POST /api/v1/quotas/request  another block from central, installed before the answer
//	GET  /api/v1/quote?event=&type=&quantity=&promo=   what a sale would cost
//	POST /api/v1/sales       {"event", "type", "quantity", "payment", "promo", "nonce"} → the sale (sell.go)
//	GET  /api/v1/sales/{receipt}, POST …/void {"reason"}, GET …/receipt.pdf?lang=zh|en
//	GET  /api/v1/shift, POST /api/v1/shift/open|cash|close, GET /api/v1/shifts/{n}[/report.pdf] (till.go)
//	GET  /metrics            Prometheus text format
//	GET  /healthz            {"state", "detail", "warnings"}: 200 when ready, 503 with the reason (no token)
//
//	GET  /login, POST /login  the staff login form (name, pin) → a session cookie
//	POST /logout             ends the session
//	GET  /api/v1/session     {"name", "role", "csrf"} of the staff session
//
//	GET  /, /status          the scan (a seller: sell) and status screens; /static/*.js their scripts
//	GET  /shift              a seller's till: open, cash in and out, close, the report
//	GET  /api/v1/sales/{receipt}/qr/{serial}  a ticket's code as a PNG QR for the buyer
//
// Everything but /healthz and /login needs "Authorization: Bearer TOKEN" or
// a staff session; a session's POSTs also need its CSRF token in the
// X-CSRF-Token header. /metrics takes the bearer token too, so a
// Prometheus scrape config carries it.
func (n *Node) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/scans", n.auth(n.handleScan))
	mux.HandleFunc("POST /api/v1/frames", n.auth(n.handleFrame))
	mux.HandleFunc("POST /api/v1/overrides", n.auth(n.handleOverride))
	mux.HandleFunc("GET /api/v1/tickets/{event}/{serial}", n.auth(n.handleTicket))
	mux.HandleFunc("GET /api/v1/status", n.auth(n.handleStatus))
	mux.HandleFunc("GET /api/v1/peers", n.auth(n.handlePeers))
	mux.HandleFunc("GET /api/v1/conflicts", n.auth(n.handleConflicts))
	mux.HandleFunc("GET /api/v1/quotas", n.salesCall("sales", n.handleQuotas))
	mux.HandleFunc("POST /api/v1/quotas/request", n.salesCall("quota", n.handleQuotaRequest))
	mux.HandleFunc("GET /api/v1/quote", n.salesCall("sales", n.handleQuote))
	mux.HandleFunc("POST /api/v1/sales", n.salesCall("sale", n.handleSale))
	mux.HandleFunc("GET /api/v1/sales/{receipt}", n.salesCall("sales", n.handleGetSale))
	mux.HandleFunc("POST /api/v1/sales/{receipt}/void", n.salesCall("void", n.handleVoid))
	mux.HandleFunc("GET /api/v1/sales/{receipt}/receipt.pdf", n.auth(n.handleReceiptPDF))
	mux.HandleFunc("GET /api/v1/shift", n.salesCall("shift", n.handleShift))
	mux.HandleFunc("POST /api/v1/shift/open", n.salesCall("shift", n.handleShiftOpen))
	mux.HandleFunc("POST /api/v1/shift/cash", n.salesCall("shift", n.handleCash))
	mux.HandleFunc("POST /api/v1/shift/close", n.salesCall("shift", n.handleShiftClose))
	mux.HandleFunc("GET /api/v1/shifts/{shift}", n.salesCall("shift", n.handleShiftByNumber))
	mux.HandleFunc("GET /api/v1/shifts/{shift}/report.pdf", n.auth(n.handleShiftPDF))
	mux.Handle("GET /metrics", n.auth(n.metrics.handler().ServeHTTP))
	mux.HandleFunc("GET /healthz", n.handleHealth)
	mux.HandleFunc("GET /login", n.handleLoginPage)
	// A login form posted from another site (a login CSRF: the device's
	// browser logged in to the attacker's account) is refused on the
	// browser's own Sec-Fetch-Site and Origin headers.
	mux.Handle("POST /login", http.NewCrossOriginProtection().Handler(http.HandlerFunc(n.handleLogin)))
	mux.HandleFunc("POST /logout", n.auth(n.handleLogout))
	mux.HandleFunc("GET /api/v1/session", n.auth(n.handleSession))
	mux.HandleFunc("GET /api/v1/events/stream", n.auth(n.handleLiveStream))
	mux.HandleFunc("GET /{$}", n.page(n.handleScanPage))
	mux.HandleFunc("GET /status", n.page(n.handleStatusPage))
	mux.HandleFunc("GET /shift", n.page(n.handleShiftPage))
	mux.HandleFunc("GET /api/v1/sales/{receipt}/qr/{serial}", n.auth(n.handleQR))
	mux.HandleFunc("GET /static/", n.page(n.handleStatic))
	mux.HandleFunc("/", n.page(n.handleNotFound))
	return mux
}

// auth lets a request through with the device's bearer token (scripts,
// the turnstile controller) or with a staff session, whose state-changing
// requests must also carry its CSRF token.
func (n *Node) auth(h http.HandlerFunc) http.HandlerFunc {
	want := []byte("Bearer " + n.token)
	return func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "" {
			if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
				n.refuse(r, "auth", "wrong bearer token")
				w.Header().Set("WWW-Authenticate", `Bearer realm="tixgate"`)
				writeError(w, http.StatusUnauthorized, "wrong bearer token (see api.token in the device directory)")
				return
			}
			h(w, r)
			return
		}
		sess, ok := n.session(r)
		if !ok {
			n.refuse(r, "auth", "no bearer token and no session")
			w.Header().Set("WWW-Authenticate", `Bearer realm="tixgate"`)
			writeError(w, http.StatusUnauthorized, "log in at /login, or send the bearer token (see api.token in the device directory)")
			return
		}
		if stateChanging(r.Method) && !sess.checkCSRF(csrfOf(r)) {
			n.refuse(r, "csrf", "missing or wrong CSRF token")
			writeError(w, http.StatusForbidden, "missing or wrong CSRF token")
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, sess)))
	}
}

// sessionKey carries the staff session of a request auth let through.
type sessionKey struct{}

// staffOf is the staff session a request came with; nil with the bearer
// token.
func staffOf(r *http.Request) *Session {
	s, _ := r.Context().Value(sessionKey{}).(*Session)
	return s
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
func (n *Node) decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "send application/json")
		return false
	}
	if err := strict.ReadJSON(r.Body, maxBody, v); err != nil {
		if errors.Is(err, strict.ErrTooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, err.Error())
			return false
		}
		n.refuse(r, "request", err.Error())
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
	if !n.decodeBody(w, r, &req) {
		return
	}
	s, ok := n.scanOf(w, req)
	if !ok {
		return
	}
	// A staff session's scan is a code typed at the scan screen.
	source := deviceapi.SourceAPI
	if staffOf(r) != nil {
		source = deviceapi.SourceManual
	}
	decide := func() (deviceapi.Answer, error) { return n.decide(r.Context(), s, source) }
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
	if !n.decodeBody(w, r, &req) {
		return
	}
	s, ok := n.scanOf(w, deviceapi.ScanRequest{Code: req.Code, Gate: req.Gate, Direction: req.Direction})
	if !ok {
		return
	}
	staff := staffOf(r)
	if staff != nil || req.PIN != "" {
		if !n.checkSupervisor(w, r, req.Supervisor, req.PIN) {
			return
		}
	}
	if h, _ := n.readiness(); h.State != deviceapi.StateReady {
		writeError(w, http.StatusServiceUnavailable, "the device cannot decide ("+h.State+"): "+h.Detail)
		return
	}
	d, err := n.ledger.OverrideScan(r.Context(), ledger.Override{Scan: s, Supervisor: req.Supervisor, Note: req.Note})
	if err != nil {
		n.refuse(r, "request", err.Error())
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	n.metrics.overrides.Inc()
	attrs := []any{"supervisor", req.Supervisor, "note", req.Note, "gate", d.Gate, "result", d.Result,
		"reason", d.Reason, "detail", d.Detail, "record", d.Record}
	if staff != nil {
		attrs = append(attrs, "at_screen_of", staff.Name)
	}
	n.log.Warn("override", attrs...)
	source := deviceapi.SourceAPI
	if staff != nil {
		source = deviceapi.SourceManual
	}
	a := deviceapi.Answer{Decision: d, Source: source}
	n.hub.record(a)
	writeJSON(w, http.StatusOK, a)
}

// checkSupervisor checks that name is a supervisor's account and pin its
// PIN, with the login's limits on failed attempts, and answers 403 when
// not.
func (n *Node) checkSupervisor(w http.ResponseWriter, r *http.Request, name, pin string) bool {
	addr := remoteHost(r)
	if !n.sessions.allowed(name, addr) {
		n.refuse(r, "override_limited", "too many failed supervisor PINs")
		writeError(w, http.StatusTooManyRequests, "too many failed attempts: wait a few minutes")
		return false
	}
	acct, ok := n.checkStaff(name, pin)
	if !ok || acct.Role != RoleSupervisor {
		n.sessions.failed(name, addr)
		n.refuse(r, "override", "wrong supervisor name or PIN")
		writeError(w, http.StatusForbidden, "wrong supervisor name or PIN")
		return false
	}
	return true
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
	// TLSFingerprint is the SHA-256 of the HTTPS certificate, for staff to
	// compare with what the browser shows; empty on loopback HTTP.
	TLSFingerprint string `json:"tls_fingerprint,omitempty"`
	// Uplink is the sync with central; absent without one.
	Uplink *uplink.State `json:"uplink,omitempty"`
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
	s := Status{Device: id.Cert.Device, Role: string(id.Cert.Role), Venue: id.Cert.Venue, Gate: n.cfg.Gate, Version: n.cfg.Version, TLSFingerprint: n.tlsFingerprint,
		Uptime: n.cfg.Clock.Now().Sub(n.start).Round(time.Second).String(), MeshAddr: n.mesh.Addr(), ManifestSeq: n.ledger.ManifestSeq(),
		Vector: map[string]uint64{}, Ledger: st, Mesh: n.mesh.Stats(), Rejected: n.mesh.Rejected(), Uplink: n.UplinkState()}
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
	peers := n.mesh.Peers()
	if peers == nil {
		peers = []cluster.Peer{}
	}
	writeJSON(w, http.StatusOK, peers)
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

// refusalLog limits the log lines of refused API calls: a client looping
// on a wrong token must not fill the disk. One line a second at most; the
// line says how many were left out since the last.
type refusalLog struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// refuse counts and (rate-limited) logs a refused API call.
func (n *Node) refuse(r *http.Request, why, msg string) {
	n.metrics.refused.WithLabelValues(why).Inc()
	now := n.cfg.Clock.Now()
	rl := &n.refusals
	rl.mu.Lock()
	if now.Sub(rl.last) < time.Second {
		rl.suppressed++
		rl.mu.Unlock()
		return
	}
	left := rl.suppressed
	rl.last, rl.suppressed = now, 0
	rl.mu.Unlock()
	n.log.Warn("API call refused", "why", why, "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "error", msg, "not_logged_since_last", left)
}
