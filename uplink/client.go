package uplink

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tixgate/tixgate/ticket"
)

// Device is what the client reads and writes of the device's ledger. Every
// method must be safe beside scans and must not hold a lock a scan waits
// for longer than one read or one import transaction.
type Device interface {
	// VersionVector is, per origin, the highest sequence held without gaps.
	VersionVector() (map[ticket.KeyID]uint64, error)
	// Records returns up to max records of an origin from sequence from on.
	Records(origin ticket.KeyID, from uint64, max int) ([][]byte, error)
	// ManifestSeq is the number of the last manifest change applied.
	ManifestSeq() uint64
	// ImportManifest applies a stream of signed changes, one per line,
	// verifying each, and calls progress now and then. A change held
	// already is skipped, so a cut stream is resumed by pulling again.
	ImportManifest(ctx context.Context, r io.Reader, progress func()) (applied int, err error)
}

// Config is the client's.
type Config struct {
	// URL is central's base URL, https://… (http:// for loopback tests).
	URL string
	// Credential is the device's API credential, from enrollment (or its
	// last roll).
	Credential string
	// SaveCredential keeps a rolled credential: it must write it to the
	// device's disk atomically (mode 0600) and return only once it is
	// there, for the client uses the new credential only after it returns,
	// and central stops honouring the old one at its first use. Nil: the
	// client cannot roll, and says so when central asks it to.
	SaveCredential func(credential string) error
	// OnRevoked is told when central answers that ops revoked the device:
	// the device must stop admitting (it fails closed) until it is
	// enrolled again. It must not block.
	OnRevoked func(msg string)
	// HTTP is the client to send with; its timeout must allow a whole
	// manifest pull (a million tickets is about 100 MB), so it is left to
	// the requests' contexts by default.
	HTTP *http.Client
	// RequestTimeout bounds a JSON call (acks, a push), and how long a pull
	// may go without receiving a byte: a central that hangs is treated as
	// one that is down, rather than stalling the uplink forever.
	RequestTimeout time.Duration
	// PushBatch is the most records in one push: larger batches verify
	// faster at central (one signature per run) but resend more when a push
	// is cut. At most MaxPushRecords.
	PushBatch int
	// Interval is the pause between syncs when all is well: the delay with
	// which central sees entries when nothing triggers a sync sooner.
	Interval time.Duration
	// MinBackoff and MaxBackoff bound the pause after a failure, which
	// doubles with each failure in a row (with up to 25% jitter, so gates
	// that lost the uplink together do not all return at once).
	MinBackoff, MaxBackoff time.Duration
	Version                string // the device's software version, reported to central
	Clock                  ticket.Clock
	Logger                 *slog.Logger
}

// DefaultConfig syncs every 10 s and backs off from 1 s to 2 min.
func DefaultConfig(url, credential string) Config {
	return Config{URL: url, Credential: credential, HTTP: &http.Client{}, RequestTimeout: 30 * time.Second, PushBatch: 2000, Interval: 10 * time.Second,
		MinBackoff: time.Second, MaxBackoff: 2 * time.Minute, Clock: ticket.SystemClock{}, Logger: slog.Default()}
}

// The states of the uplink.
const (
	StateIdle    = "idle"    // not synced yet
	StateSyncing = "syncing" // a sync is running
	StateOK      = "ok"      // the last sync worked
	StateOffline = "offline" // central could not be reached, or failed: backing off
	StateRefused = "refused" // central refused some records (see LastError); the rest synced
	// StateSuspended: central suspended the device and refuses its uploads
	// and pulls until ops resume it; the device keeps admitting, its peers
	// keep its records, and the client backs off.
	StateSuspended = "suspended"
	// StateRevoked: ops revoked the device; it admits nobody until it is
	// enrolled again.
	StateRevoked = "revoked"
)

// State is what the uplink reports to the device's UI, log and metrics.
type State struct {
	State        string    `json:"state"`
	URL          string    `json:"url"`
	LastSync     time.Time `json:"last_sync,omitzero"`    // end of the last sync that worked
	LastAttempt  time.Time `json:"last_attempt,omitzero"` // start of the last sync
	LastError    string    `json:"last_error,omitempty"`
	Failures     int       `json:"failures"` // in a row
	NextAttempt  time.Time `json:"next_attempt,omitzero"`
	Backlog      int64     `json:"backlog"`       // records central has not acknowledged, at the last sync
	Pushed       int64     `json:"pushed"`        // records central stored from this device's pushes, since start
	ManifestSeq  uint64    `json:"manifest_seq"`  // changes applied
	ManifestHead uint64    `json:"manifest_head"` // central's head at the last pull
	Pulling      bool      `json:"pulling"`
	// CredentialRolled is when the client last put a rolled API credential
	// in use.
	CredentialRolled time.Time `json:"credential_rolled,omitzero"`
}

// Client syncs one device with central.
type Client struct {
	cfg  Config
	base *url.URL
	wake chan struct{}

	mu    sync.Mutex
	state State
	cred  string // the API credential in use

	rollWanted atomic.Bool // central asked for a roll
}

// New makes a client.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("uplink: central URL %q is not an http(s) URL", cfg.URL)
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{}
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if cfg.PushBatch <= 0 || cfg.PushBatch > MaxPushRecords {
		cfg.PushBatch = 2000
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 10 * time.Second
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = cfg.MinBackoff
	}
	if cfg.Clock == nil {
		cfg.Clock = ticket.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Client{cfg: cfg, base: u, wake: make(chan struct{}, 1), state: State{State: StateIdle, URL: u.String()}, cred: cfg.Credential}, nil
}

// State is the uplink's state now.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

func (c *Client) update(fn func(*State)) {
	c.mu.Lock()
	fn(&c.state)
	c.mu.Unlock()
}

// Wake asks the loop to sync now (new records to upload); it never blocks.
func (c *Client) Wake() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Run syncs until ctx ends: push then pull, then wait Interval (or a Wake);
// after a failure, wait the backoff instead.
func (c *Client) Run(ctx context.Context, dev Device) {
	for {
		err := c.Sync(ctx, dev)
		if ctx.Err() != nil {
			return
		}
		wait := c.cfg.Interval
		if err != nil {
			st := c.State()
			wait = c.backoff(st.Failures)
			if st.State == StateSuspended {
				c.cfg.Logger.Warn("uplink: suspended by central: admitting offline, retrying later", "err", err, "failures", st.Failures, "retry_in", wait.Round(time.Millisecond))
			} else {
				c.cfg.Logger.Warn("uplink sync failed", "err", err, "failures", st.Failures, "retry_in", wait.Round(time.Millisecond))
			}
		}
		c.update(func(s *State) { s.NextAttempt = c.cfg.Clock.Now().Add(wait) })
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-c.wake:
			t.Stop()
			if err != nil { // a failing central is not hammered by every scan
				c.sleep(ctx, wait)
			}
		}
	}
}

func (c *Client) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// backoff is the pause after n failures in a row.
func (c *Client) backoff(n int) time.Duration {
	d := c.cfg.MinBackoff
	for i := 1; i < n && d < c.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.cfg.MaxBackoff)
	return d - time.Duration(rand.Int64N(int64(d)/4+1))
}

// Sync pushes every record central lacks, then pulls the manifest changes
// the device lacks.
func (c *Client) Sync(ctx context.Context, dev Device) error {
	start := c.cfg.Clock.Now()
	c.update(func(s *State) { s.State, s.LastAttempt = StateSyncing, start })
	refused, err := c.Push(ctx, dev)
	if err == nil {
		err = c.Pull(ctx, dev)
	}
	if err == nil && c.rollWanted.Load() {
		err = c.RollCredential(ctx)
	}
	if Revoked(err) && c.cfg.OnRevoked != nil {
		c.cfg.OnRevoked(err.Error())
	}
	c.update(func(s *State) {
		s.ManifestSeq = dev.ManifestSeq()
		switch {
		case Revoked(err):
			s.State, s.LastError = StateRevoked, err.Error()
			s.Failures++
		case Suspended(err):
			s.State, s.LastError = StateSuspended, "suspended by central: "+err.Error()
			s.Failures++
		case err != nil:
			s.State, s.LastError = StateOffline, err.Error()
			s.Failures++
		case refused != nil:
			s.State, s.LastError, s.Failures, s.LastSync = StateRefused, refused.Error(), 0, c.cfg.Clock.Now()
		default:
			s.State, s.LastError, s.Failures, s.LastSync = StateOK, "", 0, c.cfg.Clock.Now()
		}
	})
	return err
}

// Revoked reports whether err is central's answer to a revoked device.
func Revoked(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == ErrCodeDeviceRevoked
}

// Suspended reports whether err is central's refusal of a suspended
// device.
func Suspended(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == ErrCodeDeviceSuspended
}

// RollCredential asks central for a new API credential, has
// Config.SaveCredential keep it, and only then uses it, at once (central
// then stops honouring the old one). Central keeps the old one working
// until the new one is used, so a roll cut anywhere is simply tried again.
// The loop rolls by itself when central says ops asked for it.
func (c *Client) RollCredential(ctx context.Context) error {
	if c.cfg.SaveCredential == nil {
		return errors.New("uplink: roll credential: central asked for a new credential, and this device has nowhere to keep one")
	}
	var resp CredentialResponse
	if err := c.post(ctx, PathCredential, struct{}{}, &resp); err != nil {
		return fmt.Errorf("uplink: roll credential: %w", err)
	}
	if resp.Credential == "" {
		return errors.New("uplink: roll credential: central's answer holds no credential")
	}
	if err := c.cfg.SaveCredential(resp.Credential); err != nil {
		// Not on disk, so not used: the old one keeps working.
		return fmt.Errorf("uplink: roll credential: keep the new credential: %w", err)
	}
	now := c.cfg.Clock.Now()
	c.mu.Lock()
	c.cred = resp.Credential
	c.state.CredentialRolled = now
	c.mu.Unlock()
	c.rollWanted.Store(false)
	// Use it now, so the old one stops working at once rather than at the
	// next sync; a failure here is fine: the next sync uses it.
	var acks Acks
	if err := c.get(ctx, PathAcks, &acks); err != nil {
		c.cfg.Logger.Warn("uplink: rolled credential kept; its first use failed, the next sync retries", "err", err)
		return nil
	}
	c.cfg.Logger.Info("uplink: API credential rolled")
	return nil
}

// RefusedError says central refused records of a push: they are not
// stored, the others are.
type RefusedError struct{ Refused []Refusal }

func (e *RefusedError) Error() string {
	r := e.Refused[0]
	more := ""
	if len(e.Refused) > 1 {
		more = fmt.Sprintf(" (and %d more)", len(e.Refused)-1)
	}
	return fmt.Sprintf("central refused record %s: %s: %s%s", r.Record, r.Reason, r.Detail, more)
}

// Push uploads, in batches, every record the device holds beyond central's
// acknowledgement of its origin. It returns a *RefusedError (and a nil
// error) when central refused some; err is for a push that failed.
func (c *Client) Push(ctx context.Context, dev Device) (refused *RefusedError, err error) {
	var acks Acks
	if err := c.get(ctx, PathAcks, &acks); err != nil {
		return nil, fmt.Errorf("uplink push: %w", err)
	}
	for {
		vv, err := dev.VersionVector()
		if err != nil {
			return nil, fmt.Errorf("uplink push: %w", err)
		}
		backlog := backlogOf(vv, acks.Acks)
		c.update(func(s *State) { s.Backlog, s.ManifestHead = backlog, acks.ManifestHead })
		batch, err := c.batch(dev, vv, acks.Acks)
		if err != nil {
			return nil, fmt.Errorf("uplink push: %w", err)
		}
		req := PushRequest{Status: c.status(dev, backlog), Records: batch}
		var resp PushResponse
		if err := c.post(ctx, PathRecords, req, &resp); err != nil {
			return nil, fmt.Errorf("uplink push: %w", err)
		}
		c.update(func(s *State) { s.Pushed += int64(resp.Stored) })
		if len(resp.Refused) > 0 {
			refused = &RefusedError{Refused: resp.Refused}
			c.cfg.Logger.Warn("uplink: central refused records", "refused", len(resp.Refused), "first", refused.Error())
		}
		progress := backlogOf(vv, resp.Acks.Acks) < backlog
		acks = resp.Acks
		if len(batch) == 0 || !progress {
			c.update(func(s *State) { s.Backlog = backlogOf(vv, acks.Acks) })
			return refused, nil
		}
	}
}

// batch gathers up to PushBatch records central lacks, origin by origin.
func (c *Client) batch(dev Device, vv, acks map[ticket.KeyID]uint64) ([][]byte, error) {
	origins := make([]ticket.KeyID, 0, len(vv))
	for o := range vv {
		origins = append(origins, o)
	}
	slices.SortFunc(origins, func(a, b ticket.KeyID) int { return bytes.Compare(a[:], b[:]) })
	var out [][]byte
	for _, o := range origins {
		if len(out) >= c.cfg.PushBatch {
			break
		}
		if vv[o] <= acks[o] {
			continue
		}
		recs, err := dev.Records(o, acks[o]+1, min(c.cfg.PushBatch-len(out), int(vv[o]-acks[o])))
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
	}
	return out, nil
}

func backlogOf(vv, acks map[ticket.KeyID]uint64) int64 {
	var n int64
	for o, seq := range vv {
		if seq > acks[o] {
			n += int64(seq - acks[o])
		}
	}
	return n
}

func (c *Client) status(dev Device, backlog int64) Status {
	return Status{Time: c.cfg.Clock.Now(), ManifestSeq: dev.ManifestSeq(), Backlog: backlog, State: c.State().State, Version: c.cfg.Version}
}

// Pull streams the manifest changes after the device's last one into its
// ledger. A cut stream leaves what arrived applied; the next pull resumes.
func (c *Client) Pull(ctx context.Context, dev Device) error {
	after := dev.ManifestSeq()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	idle := time.AfterFunc(c.cfg.RequestTimeout, cancel)
	defer idle.Stop()
	req, err := c.request(ctx, http.MethodGet, PathManifest+"?after="+strconv.FormatUint(after, 10), nil)
	if err != nil {
		return err
	}
	resp, err := c.cfg.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("uplink pull: %w", c.timedOut(err))
	}
	defer resp.Body.Close()
	c.saw(resp)
	if err := checkStatus(resp); err != nil {
		return fmt.Errorf("uplink pull: %w", err)
	}
	head, _ := strconv.ParseUint(resp.Header.Get(HeaderManifestHead), 10, 64)
	c.update(func(s *State) { s.ManifestHead, s.Pulling = head, true })
	defer c.update(func(s *State) { s.Pulling = false })
	body := &wholeLines{br: bufio.NewReaderSize(&idleReader{r: resp.Body, timer: idle, timeout: c.cfg.RequestTimeout}, 256<<10)}
	applied, err := dev.ImportManifest(ctx, body, func() {
		seq := dev.ManifestSeq()
		c.update(func(s *State) { s.ManifestSeq = seq })
	})
	if err != nil {
		return fmt.Errorf("uplink pull: after %d changes applied: %w", applied, c.timedOut(err))
	}
	if got := dev.ManifestSeq(); got < head {
		return fmt.Errorf("uplink pull: stream ended at change %d of %d (cut): the next pull resumes", got, head)
	}
	if applied > 0 {
		c.cfg.Logger.Info("uplink: manifest pulled", "applied", applied, "manifest_seq", dev.ManifestSeq())
	}
	return nil
}

// wholeLines passes on only complete lines: a stream cut inside a change
// ends with an error, not with half a change for the ledger to refuse as
// malformed.
type wholeLines struct {
	br  *bufio.Reader
	buf []byte
	err error
}

func (w *wholeLines) Read(p []byte) (int, error) {
	for len(w.buf) == 0 {
		if w.err != nil {
			return 0, w.err
		}
		line, err := w.br.ReadBytes('\n')
		switch {
		case err == nil:
			w.buf = line
		case len(line) > 0:
			w.err = fmt.Errorf("stream cut inside a change: %w", io.ErrUnexpectedEOF)
		default:
			w.err = err
		}
	}
	n := copy(p, w.buf)
	w.buf = w.buf[n:]
	return n, nil
}

// idleReader pushes a deadline back with every read that brings bytes.
type idleReader struct {
	r       io.Reader
	timer   *time.Timer
	timeout time.Duration
}

func (r *idleReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.timer.Reset(r.timeout)
	}
	return n, err
}

// timedOut names a cancellation by the client's own timeout.
func (c *Client) timedOut(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("central sent nothing for %s: %w", c.cfg.RequestTimeout, err)
	}
	return err
}

func (c *Client) request(ctx context.Context, method, path string, body []byte) (*http.Request, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, r)
	if err != nil {
		return nil, fmt.Errorf("uplink: %w", err)
	}
	c.mu.Lock()
	cred := c.cred
	c.mu.Unlock()
	req.Header.Set("Authorization", "Bearer "+cred)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// RequestQuota asks central for another block of an event and ticket type.
// A grant is signed into the manifest too: pull (or Wake the loop) to
// install it. Over the limit ops set, the error is an *Error with code
// ErrCodeQuotaLimit.
func (c *Client) RequestQuota(ctx context.Context, event, typ uint64) (QuotaGrant, error) {
	var g QuotaGrant
	if err := c.post(ctx, PathQuotaRequest, QuotaRequest{Event: event, Type: typ}, &g); err != nil {
		return QuotaGrant{}, fmt.Errorf("quota request: %w", err)
	}
	return g, nil
}

func (c *Client) get(ctx context.Context, path string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	req, err := c.request(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	return c.timedOut(c.do(req, out))
}

func (c *Client) post(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	req, err := c.request(ctx, http.MethodPost, path, body)
	if err != nil {
		return err
	}
	return c.timedOut(c.do(req, out))
}

// do sends a request of the device and notes what central asks of it.
func (c *Client) do(req *http.Request, out any) error {
	return doWith(c.cfg.HTTP, req, out, c.saw)
}

// saw notes a roll asked for in an answer of central.
func (c *Client) saw(resp *http.Response) {
	if resp.Header.Get(HeaderRollCredential) != "" {
		if !c.rollWanted.Swap(true) {
			c.cfg.Logger.Info("uplink: central asks for a new API credential: rolling")
		}
	}
}

func do(hc *http.Client, req *http.Request, out any) error { return doWith(hc, req, out, nil) }

func doWith(hc *http.Client, req *http.Request, out any, saw func(*http.Response)) error {
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if saw != nil {
		saw(resp)
	}
	if err := checkStatus(resp); err != nil {
		return err
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out); err != nil {
		return fmt.Errorf("%s %s: central's answer is not the expected JSON: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

// checkStatus turns a failed response into an *Error with central's
// message.
func checkStatus(resp *http.Response) error {
	if resp.StatusCode/100 == 2 {
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e Error
	if json.Unmarshal(body, &e) == nil && e.Code != "" {
		return &e
	}
	return &Error{Code: ErrCodeInternal, Message: fmt.Sprintf("%s %s: central answered %s", resp.Request.Method, resp.Request.URL.Path, resp.Status)}
}

// Enroll sends an enrollment to central at url and checks the answer.
func Enroll(ctx context.Context, hc *http.Client, centralURL string, req EnrollRequest) (EnrollResponse, error) {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	if err := req.Check(); err != nil {
		return EnrollResponse{}, err
	}
	body, _ := json.Marshal(req)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(centralURL, "/")+PathEnroll, bytes.NewReader(body))
	if err != nil {
		return EnrollResponse{}, fmt.Errorf("enroll: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	var resp EnrollResponse
	if err := do(hc, hr, &resp); err != nil {
		var ue *Error
		if errors.As(err, &ue) {
			return resp, ue
		}
		return resp, fmt.Errorf("enroll: %w", err)
	}
	if err := resp.Check(req.Key); err != nil {
		return resp, err
	}
	return resp, nil
}
