package central

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tixgate/tixgate/central/catalog"
	"github.com/tixgate/tixgate/central/conflicts"
	"github.com/tixgate/tixgate/central/devices"
	"github.com/tixgate/tixgate/central/help"
	"github.com/tixgate/tixgate/central/intake"
	"github.com/tixgate/tixgate/central/invoice"
	"github.com/tixgate/tixgate/central/ops"
	"github.com/tixgate/tixgate/central/pay"
	"github.com/tixgate/tixgate/central/quota"
	"github.com/tixgate/tixgate/central/sales"
	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/central/storefront"
	"github.com/tixgate/tixgate/central/support"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
	"github.com/tixgate/tixgate/uplink"
)

// Config is the server's.
type Config struct {
	// Listen is the address to serve on, host:port.
	Listen string
	// TLSCert and TLSKey are PEM files: set, central serves HTTPS only.
	// Without them it serves plain HTTP, for loopback and for a TLS
	// terminating proxy in front.
	TLSCert, TLSKey string
	Store           *store.DB
	Keys            *keyfile.Keys
	// ShutdownTimeout bounds how long a stop waits for requests in flight
	// (a long manifest pull is cut after it and resumes on the device).
	ShutdownTimeout time.Duration
	// Mailer sends the box office's mails (verification links, order
	// confirmations); nil writes them to the log instead.
	Mailer shop.Mailer
	// SMSSender sends the box office's sign-in codes (shop.AliyunSMS);
	// nil is the development sender, which only logs them.
	SMSSender shop.Sender
	// CaptchaBits is the box office's proof-of-work difficulty on
	// registration and checkout (see shop.Config.CaptchaBits); 0 is off.
	CaptchaBits int
	// PublicURL is central's address as buyers reach it, for the links in
	// mails; empty: the listen address over plain HTTP.
	PublicURL string
	// PayProviders are the payment providers buyers pay with (their
	// notifications come to /api/v1/pay/notify/{provider}); none: the
	// payment routes are not mounted.
	PayProviders []pay.Provider
	// EInvoice issues e-invoices (invoice.ChinaPlatform for 数电票) when
	// buyers ask; nil offers none (the PDF invoices are issued anyway).
	EInvoice invoice.Provider
	// ReconcileEvery is how often the server reconciles every ticket with
	// records, for the conflicts no upload brings (a ticket revoked after
	// its entries arrived); 0 never. Each pass reads every stored record:
	// a million take about as long as BenchmarkSystemReconcile says, so
	// keep it well above that. Several central processes may all run it:
	// a pass is idempotent.
	ReconcileEvery time.Duration
	// OpsRefusalBurst is how many ops API calls one client address may
	// have refused (401 or 403) in a row before it is answered 429; one
	// more is allowed every OpsRefusalEvery. Tokens are 256-bit random, so
	// the limit is not what keeps them from being guessed: it keeps a
	// script gone wrong or a flood from turning into store look-ups, and
	// makes both show in the log. 20 and 3 s let a person mistype for a
	// while and a scanner try 20 a minute; 0 turns the limit off.
	OpsRefusalBurst int
	OpsRefusalEvery time.Duration
	// SetupQR draws a QR code as a PNG: a device's setup code on the ops
	// screens, a buyer's tickets on the storefront (the scanner's
	// renderer, given by the command: central imports no device package);
	// nil shows the codes as text.
	SetupQR func(text string, size int) ([]byte, error)
	// SupportSMTP is the address the support desk takes buyers' mail on
	// (host:port, behind the domain's MX or a forwarding relay); "": no
	// incoming mail, answers come through the pages and the chat only.
	SupportSMTP string
	// SupportAddress is the desk's mail address (support@example.com):
	// the Reply-To of its answers, with the conversation's token.
	SupportAddress string
	// OpsRefresh is how often the ops dashboard fetches its figures
	// (5 s when 0).
	OpsRefresh time.Duration
	Clock      ticket.Clock
	Logger     *slog.Logger
}

// DefaultConfig serves on listen.
func DefaultConfig(listen string, db *store.DB, keys *keyfile.Keys) Config {
	return Config{Listen: listen, Store: db, Keys: keys, ShutdownTimeout: 10 * time.Second, ReconcileEvery: 15 * time.Minute,
		OpsRefusalBurst: 20, OpsRefusalEvery: 3 * time.Second, Clock: ticket.SystemClock{}, Logger: slog.Default()}
}

// Server is central's HTTP side.
type Server struct {
	cfg     Config
	Catalog *catalog.Catalog
	Devices *devices.Registry
	Intake  *intake.Intake
	// Conflicts reconciles the tickets of stored records and keeps the
	// conflicts found.
	Conflicts *conflicts.Keeper
	// Accounts are the staff who log in to the ops screens (UI).
	Accounts *staff.Accounts
	UI       *ops.UI
	Quotas   *quota.Quotas
	Sales    *sales.Sales
	// Shop is the box office's API, and Storefront its buyers' pages at /.
	Shop       *shop.Shop
	Storefront *storefront.Front
	// Pay takes payments through the providers configured (nil: none).
	Pay *pay.Payments
	// Support is the support inbox and the live chat (/support, /ops/support).
	Support *support.Desk
	mux     *http.ServeMux
	metrics *metrics
	refused *refusals

	// Invoices issues every paid order's invoice and its credit notes.
	Invoices *invoice.Issuer
}

// New wires a server.
func New(cfg Config) *Server {
	if cfg.Clock == nil {
		cfg.Clock = ticket.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	ccfg := catalog.DefaultConfig(cfg.Store, cfg.Keys)
	ccfg.Clock, ccfg.Logger = cfg.Clock, cfg.Logger
	cat := catalog.New(ccfg)
	dcfg := devices.DefaultConfig(cfg.Store, cfg.Keys, cat)
	dcfg.Clock, dcfg.Logger = cfg.Clock, cfg.Logger
	kcfg := conflicts.DefaultConfig(cfg.Store, cfg.Keys.RootPublic())
	kcfg.Clock, kcfg.Logger = cfg.Clock, cfg.Logger
	keeper := conflicts.New(kcfg)
	reg := devices.New(dcfg)
	s := &Server{cfg: cfg, Catalog: cat, Devices: reg, Conflicts: keeper,
		Intake: intake.New(intake.Config{Store: cfg.Store, Root: cfg.Keys.RootPublic(), Clock: cfg.Clock, Logger: cfg.Logger, Stored: keeper.ForRecords}), metrics: newMetrics()}
	acfg := staff.DefaultConfig(cfg.Store)
	acfg.Clock, acfg.Logger = cfg.Clock, cfg.Logger
	s.Accounts = staff.New(acfg)
	base := cfg.PublicURL
	if base == "" {
		base = "http://" + cfg.Listen
	}
	icfg := invoice.DefaultConfig(cfg.Store)
	icfg.EInvoice, icfg.Clock, icfg.Logger = cfg.EInvoice, cfg.Clock, cfg.Logger
	s.Invoices = invoice.New(icfg)
	s.Shop = shop.New(shop.Config{Store: cfg.Store, Catalog: cat, Mailer: cfg.Mailer, SMSSender: cfg.SMSSender, CaptchaBits: cfg.CaptchaBits,
		BaseURL: base, Clock: cfg.Clock, Logger: cfg.Logger, Settled: s.Invoices.Settled})
	ui, err := ops.New(ops.Config{Store: cfg.Store, Accounts: s.Accounts, Conflicts: keeper, Catalog: cat, Devices: reg, Shop: s.Shop, Invoices: s.Invoices, QR: cfg.SetupQR,
		PublicURL: cfg.PublicURL, Refresh: cfg.OpsRefresh, Secure: cfg.TLSCert != "", Clock: cfg.Clock, Logger: cfg.Logger})
	if err != nil {
		panic("central: the ops screens do not parse: " + err.Error()) // a broken build, caught by every test
	}
	s.UI = ui
	qcfg := quota.DefaultConfig(cfg.Store, cfg.Keys, cat)
	qcfg.Clock, qcfg.Logger = cfg.Clock, cfg.Logger
	s.Quotas = quota.New(qcfg)
	scfg := sales.DefaultConfig(cfg.Store, cat)
	scfg.Clock, scfg.Logger = cfg.Clock, cfg.Logger
	s.Sales = sales.New(scfg)
	if cfg.OpsRefusalEvery <= 0 {
		cfg.OpsRefusalEvery = 3 * time.Second
	}
	s.refused = newRefusals(cfg.OpsRefusalBurst, cfg.OpsRefusalEvery)
	front, err := storefront.New(storefront.Config{Shop: s.Shop, Store: cfg.Store, QR: cfg.SetupQR, Invoices: s.Invoices, Secure: cfg.TLSCert != "", Clock: cfg.Clock, Logger: cfg.Logger})
	if err != nil {
		panic("central: the storefront does not parse: " + err.Error()) // a broken build, caught by every test
	}
	s.Storefront = front
	desk, err := support.New(support.Config{Store: cfg.Store, Shop: s.Shop, Accounts: s.Accounts, Mailer: cfg.Mailer, BaseURL: base, Address: cfg.SupportAddress,
		ShopWords: front.Site().Catalogs, OpsWords: ui.Site().Catalogs, BuyerCSRF: storefront.CSRF, OpsNav: ops.Nav,
		Secure: cfg.TLSCert != "", Clock: cfg.Clock, Logger: cfg.Logger})
	if err != nil {
		panic("central: the support desk does not parse: " + err.Error()) // a broken build, caught by every test
	}
	s.Support = desk
	s.routes()
	return s
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /healthz", s.healthz)
	m.HandleFunc("POST "+uplink.PathEnroll, s.enroll)
	m.HandleFunc("GET "+uplink.PathAcks, s.device(s.acks))
	m.HandleFunc("POST "+uplink.PathRecords, s.device(s.push))
	m.HandleFunc("GET "+uplink.PathManifest, s.device(s.manifest))
	m.HandleFunc("POST "+uplink.PathCredential, s.device(s.rollCredential))
	m.HandleFunc("GET /api/v1/events", s.ops("read", s.events))
	s.conflictRoutes(m)
	m.Handle("/ops/", s.UI.Handler())
	for _, p := range storefront.Patterns {
		m.Handle(p, s.Storefront.Handler())
	}
	s.Support.Mount(m)
	m.Handle("GET /metrics", s.ops("read", s.metrics.handler().ServeHTTP))
	shopAPI := http.NewServeMux()
	s.Shop.Mount(shopAPI)
	m.Handle(shop.PathPrefix, shopAPI)
	// The mailed verification link is the API's: a browser that opens it
	// gets the storefront's page, a program the JSON.
	m.HandleFunc("GET "+shop.PathPrefix+"verify", func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Accept"), "text/html") {
			s.Storefront.Verify(w, r)
			return
		}
		shopAPI.ServeHTTP(w, r)
	})
	if len(s.cfg.PayProviders) > 0 {
		s.Pay = pay.New(pay.Config{Store: s.cfg.Store, Shop: s.Shop, Providers: s.cfg.PayProviders, Clock: s.cfg.Clock, Logger: s.cfg.Logger})
		s.Pay.Mount(m)
		s.Shop.SetRefunder(s.Pay) // refunds of tickets go back through the order's provider
	}
	s.settleRoutes(m)
	s.salesRoutes(m)
	s.reportRoutes(m)
	s.invoiceRoutes(m)
	m.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		if bearer(r) == "" {
			s.fail(w, http.StatusUnauthorized, uplink.ErrCodeUnauthorized, "credentials required: Authorization: Bearer TOKEN")
			return
		}
		s.fail(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	s.mux = m
}

// Handler is the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.mux }

// Run serves on the configured address until ctx ends, then lets requests
// in flight finish (up to ShutdownTimeout) and returns. ready, when not
// nil, gets the address actually listened on.
func (s *Server) Run(ctx context.Context, ready func(addr string)) error {
	l, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("central: listen: %w", err)
	}
	srv := &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn)}
	done := make(chan error, 1)
	if s.cfg.TLSCert != "" || s.cfg.TLSKey != "" {
		go func() { done <- srv.ServeTLS(l, s.cfg.TLSCert, s.cfg.TLSKey) }()
	} else {
		go func() { done <- srv.Serve(l) }()
	}
	if ready != nil {
		ready(l.Addr().String())
	}
	s.cfg.Logger.Info("central serving", "addr", l.Addr().String())
	if err := help.Seed(ctx, s.cfg.Store, s.cfg.Clock.Now()); err != nil {
		s.cfg.Logger.Error("help pages: the default articles could not be written", "err", err)
	}
	if s.cfg.ReconcileEvery > 0 {
		go s.reconcileLoop(ctx)
	}
	go s.Shop.Sweep(ctx, 30*time.Second)
	go s.rollUpLoop(ctx)
	go s.Invoices.Sweep(ctx, 30*time.Second)
	go s.scheduleLoop(ctx)
	if s.cfg.SupportSMTP != "" {
		sl, err := net.Listen("tcp", s.cfg.SupportSMTP)
		if err != nil {
			srv.Close()
			return fmt.Errorf("central: support mail: listen: %w", err)
		}
		mctx, stop := context.WithCancel(ctx)
		mailDone := make(chan struct{})
		go func() {
			defer close(mailDone)
			if err := s.Support.ServeSMTP(mctx, sl); err != nil {
				s.cfg.Logger.Error("support mail stopped", "err", err)
			}
		}()
		defer func() { stop(); <-mailDone }()
	}
	select {
	case err := <-done:
		return fmt.Errorf("central: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	// The chat's sockets are hijacked connections, which Shutdown does not
	// wait for: they are told to go away.
	s.Support.Close()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("central: shut down: %w", err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("central: serve: %w", err)
	}
	return nil
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.Store.Ping(r.Context()); err != nil {
		s.cfg.Logger.Error("health: database", "err", err)
		s.fail(w, http.StatusServiceUnavailable, "unhealthy", "database unreachable")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "database": string(s.cfg.Store.Dialect())})
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if t, ok := strings.CutPrefix(h, "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	return ""
}

// device wraps a handler for enrolled devices: their credential
// authenticates them. A suspended device is refused whatever it asks;
// one that ops asked to roll its credential is told so on every answer.
func (s *Server) device(h func(http.ResponseWriter, *http.Request, store.Device)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		dev, err := s.Devices.Authenticate(r.Context(), bearer(r))
		if errors.Is(err, devices.ErrRevoked) {
			s.fail(w, http.StatusForbidden, uplink.ErrCodeDeviceRevoked, fmt.Sprintf("central revoked device %s at %s: it may no longer admit; enroll it again if it was found",
				dev.Name, dev.Revoked.UTC().Format(time.RFC3339)))
			return
		}
		if errors.Is(err, devices.ErrUnauthorized) {
			s.fail(w, http.StatusUnauthorized, uplink.ErrCodeUnauthorized, "not an enrolled device's credential")
			return
		}
		if err != nil {
			s.internal(w, r, err)
			return
		}
		if !dev.Suspended.IsZero() {
			s.metrics.suspended.Inc()
			s.fail(w, http.StatusForbidden, uplink.ErrCodeDeviceSuspended, fmt.Sprintf("central suspended device %s at %s (%s): its uploads and pulls are refused until ops resume it",
				dev.Name, dev.Suspended.UTC().Format(time.RFC3339), dev.SuspendReason))
			return
		}
		if !dev.RollRequested.IsZero() {
			w.Header().Set(uplink.HeaderRollCredential, "1")
		}
		h(w, r, dev)
	}
}

// rollCredential issues the device a new credential; the one it asked
// with works until the new one is first used.
func (s *Server) rollCredential(w http.ResponseWriter, r *http.Request, dev store.Device) {
	resp, err := s.Devices.Roll(r.Context(), dev)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp)
}

// ops wraps a handler of the ops API: an API token with the scope (or
// "admin") authenticates it.
func (s *Server) ops(scope string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		addr, now := clientAddr(r), s.cfg.Clock.Now()
		if d := s.refused.wait(addr, now); d > 0 {
			s.metrics.opsRefused.WithLabelValues("rate_limited").Inc()
			w.Header().Set("Retry-After", retryAfter(d))
			s.fail(w, http.StatusTooManyRequests, "rate_limited", "too many refused calls from this address: try again in "+retryAfter(d)+" s")
			return
		}
		refuse := func(status int, code, msg string) {
			s.refused.refused(addr, now)
			s.metrics.opsRefused.WithLabelValues(code).Inc()
			s.cfg.Logger.Warn("ops API call refused", "addr", addr, "method", r.Method, "path", r.URL.Path, "code", code)
			s.fail(w, status, code, msg)
		}
		tok := bearer(r)
		if tok == "" {
			refuse(http.StatusUnauthorized, uplink.ErrCodeUnauthorized, "credentials required: Authorization: Bearer TOKEN")
			return
		}
		sum := sha256.Sum256([]byte(tok))
		t, err := s.cfg.Store.APITokenByHash(r.Context(), sum[:])
		if errors.Is(err, store.ErrNotFound) {
			refuse(http.StatusUnauthorized, uplink.ErrCodeUnauthorized, "unknown API token")
			return
		}
		if err != nil {
			s.internal(w, r, err)
			return
		}
		// scope may name several, "box_office|read": any of them will do.
		if !slices.ContainsFunc(strings.Split(scope, "|"), func(sc string) bool { return slices.Contains(t.Scopes, sc) }) && !slices.Contains(t.Scopes, "admin") {
			refuse(http.StatusForbidden, "forbidden", "the token lacks the "+scope+" scope")
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, t)))
	}
}

func (s *Server) enroll(w http.ResponseWriter, r *http.Request) {
	var req uplink.EnrollRequest
	if !s.readJSON(w, r, &req, 64<<10) {
		return
	}
	resp, err := s.Devices.Enroll(r.Context(), req)
	var ue *uplink.Error
	switch {
	case err == nil:
		s.metrics.enrollments.WithLabelValues("ok").Inc()
	case errors.As(err, &ue):
		s.metrics.enrollments.WithLabelValues(ue.Code).Inc()
	default:
		s.metrics.enrollments.WithLabelValues(uplink.ErrCodeInternal).Inc()
	}
	if errors.As(err, &ue) {
		status := http.StatusBadRequest
		switch ue.Code {
		case uplink.ErrCodeTokenUnknown:
			status = http.StatusUnauthorized
		case uplink.ErrCodeTokenUsed, uplink.ErrCodeTokenExpired:
			status = http.StatusGone
		}
		s.fail(w, status, ue.Code, ue.Message)
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) acks(w http.ResponseWriter, r *http.Request, dev store.Device) {
	a, err := s.Intake.Acks(r.Context(), dev)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) push(w http.ResponseWriter, r *http.Request, dev store.Device) {
	var req uplink.PushRequest
	if !s.readJSON(w, r, &req, uplink.MaxPushBytes) {
		return
	}
	resp, err := s.Intake.Push(r.Context(), dev, req)
	if err == nil {
		s.metrics.records.WithLabelValues("stored").Add(float64(resp.Stored))
		s.metrics.records.WithLabelValues("duplicate").Add(float64(resp.Duplicates))
		s.metrics.records.WithLabelValues("refused").Add(float64(len(resp.Refused)))
		for _, rf := range resp.Refused {
			s.metrics.refusals.WithLabelValues(rf.Reason).Inc()
		}
	}
	var ue *uplink.Error
	if errors.As(err, &ue) {
		s.fail(w, http.StatusBadRequest, ue.Code, ue.Message)
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if resp.Stored > 0 {
		// Sellers' records become orders, tickets and shifts; a failure
		// leaves them stored, read by the next upload's catch.
		if _, err := s.Sales.Catch(r.Context()); err != nil {
			s.cfg.Logger.Error("sales accounts", "err", err)
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

// manifest streams the device's venue's changes after ?after=N, one per
// line, flushing as it goes.
func (s *Server) manifest(w http.ResponseWriter, r *http.Request, dev store.Device) {
	after := uint64(0)
	if v := r.URL.Query().Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			s.fail(w, http.StatusBadRequest, uplink.ErrCodeBadRequest, "after: want a change number")
			return
		}
		after = n
	}
	head, err := s.cfg.Store.ManifestHead(r.Context(), dev.Venue)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	w.Header().Set("Content-Type", uplink.ContentNDJSON)
	w.Header().Set(uplink.HeaderManifestHead, strconv.FormatUint(head, 10))
	w.WriteHeader(http.StatusOK)
	s.metrics.pulls.Inc()
	n := 0
	defer func() { s.metrics.pulled.Add(float64(n)) }()
	bw := bufio.NewWriterSize(w, 256<<10)
	flusher, _ := w.(http.Flusher)
	err = s.cfg.Store.Changes(r.Context(), dev.Venue, after, 0, func(c store.Change) error {
		bw.Write(c.Line)
		if err := bw.WriteByte('\n'); err != nil {
			return err
		}
		if n++; n%64 == 0 && flusher != nil {
			if err := bw.Flush(); err != nil {
				return err
			}
			flusher.Flush()
		}
		return nil
	})
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		// The status is sent: the device sees a cut stream, keeps what it
		// applied and resumes from there.
		s.cfg.Logger.Warn("manifest pull cut", "device", dev.Name, "after", after, "sent", n, "err", err)
	}
}

// Event is an event as the ops API lists it.
type Event struct {
	ID        uint64    `json:"id"`
	Venue     string    `json:"venue"`
	Name      string    `json:"name"`
	TimeZone  string    `json:"time_zone"`
	Starts    time.Time `json:"starts"`
	Ends      time.Time `json:"ends"`
	Admission time.Time `json:"admission,omitzero"`
	Days      []string  `json:"days"`
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	evs, err := s.cfg.Store.Events(r.Context(), r.URL.Query().Get("venue"))
	if err != nil {
		s.internal(w, r, err)
		return
	}
	out := make([]Event, 0, len(evs))
	for _, e := range evs {
		out = append(out, Event{ID: e.ID, Venue: e.Venue, Name: e.Name, TimeZone: e.TimeZone, Starts: e.Starts, Ends: e.Ends, Admission: e.Admission, Days: e.Days})
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out})
}

func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, v any, max int64) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		s.fail(w, http.StatusUnsupportedMediaType, uplink.ErrCodeMediaType, "send the request body as application/json")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, max))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.fail(w, http.StatusRequestEntityTooLarge, uplink.ErrCodeBadRequest, fmt.Sprintf("request body larger than %d bytes", max))
		} else {
			s.fail(w, http.StatusBadRequest, uplink.ErrCodeBadRequest, "request body is not the expected JSON: "+err.Error())
		}
		return false
	}
	return true
}

func (s *Server) fail(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, uplink.Error{Code: code, Message: msg})
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) {
	s.cfg.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	s.fail(w, http.StatusInternalServerError, uplink.ErrCodeInternal, "central could not complete the request; it is logged")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
