package devices

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/tixgate/tixgate/central/catalog"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
	"github.com/tixgate/tixgate/uplink"
)

// Config is what enrollment needs.
type Config struct {
	Store   *store.DB
	Keys    *keyfile.Keys
	Catalog *catalog.Catalog
	// TokenTTL is how long a setup token works: long enough to walk to the
	// gate and scan it, short enough that a photo of it found the next day
	// is worthless.
	TokenTTL time.Duration
	// CertValidity is the device certificate's lifetime (ticket.CertValidity
	// when 0); a revoked device is cut off by revocation, not by expiry.
	CertValidity time.Duration
	Clock        ticket.Clock
	Logger       *slog.Logger
}

// DefaultConfig enrolls devices with tokens valid for a day.
func DefaultConfig(db *store.DB, keys *keyfile.Keys, cat *catalog.Catalog) Config {
	return Config{Store: db, Keys: keys, Catalog: cat, TokenTTL: 24 * time.Hour, Clock: ticket.SystemClock{}, Logger: slog.Default()}
}

// Registry adds and enrolls devices and authenticates their requests.
type Registry struct{ cfg Config }

// New makes a registry.
func New(cfg Config) *Registry {
	if cfg.Clock == nil {
		cfg.Clock = ticket.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = 24 * time.Hour
	}
	return &Registry{cfg: cfg}
}

// Device says what device to create.
type Device struct {
	Name  string
	Role  ticket.Role // gate or seller
	Venue string
	Gate  string // required for a gate: one of the venue's gates
}

// Setup is a new device's one-time setup token, shown once.
type Setup struct {
	Device  string
	Token   string
	Expires time.Time
}

// Code is the setup QR's text for a central reachable at url.
func (s Setup) Code(url string) string {
	return uplink.SetupCode{V: 1, URL: url, Token: s.Token}.Marshal()
}

// Add creates a device waiting to enroll and returns its setup token.
func (r *Registry) Add(ctx context.Context, d Device) (Setup, error) {
	return r.AddAs(ctx, "", d)
}

// AddAs is Add by a staff member, written to the audit log with the
// device.
func (r *Registry) AddAs(ctx context.Context, by string, d Device) (Setup, error) {
	switch {
	case !ticket.ValidName(d.Name):
		return Setup{}, fmt.Errorf("add device: name %q: use 1-64 letters, digits, '.', '_' or '-'", d.Name)
	case d.Role != ticket.RoleGate && d.Role != ticket.RoleSeller:
		return Setup{}, fmt.Errorf("add device %s: role %q: want gate or seller", d.Name, d.Role)
	}
	v, err := r.cfg.Store.Venue(ctx, d.Venue)
	if errors.Is(err, store.ErrNotFound) {
		return Setup{}, fmt.Errorf("add device %s: venue %q is not known: import it first (tixgate central venue import)", d.Name, d.Venue)
	}
	if err != nil {
		return Setup{}, fmt.Errorf("add device %s: %w", d.Name, err)
	}
	if d.Role == ticket.RoleGate || d.Gate != "" {
		var names []string
		for _, g := range v.Gates {
			names = append(names, g.Name)
		}
		if !slices.Contains(names, d.Gate) {
			return Setup{}, fmt.Errorf("add device %s: gate %q is not one of venue %s's gates %v", d.Name, d.Gate, d.Venue, names)
		}
	}
	token, hash, err := newSecret("tgs_")
	if err != nil {
		return Setup{}, fmt.Errorf("add device %s: %w", d.Name, err)
	}
	now := r.cfg.Clock.Now()
	s := Setup{Device: d.Name, Token: token, Expires: now.Add(r.cfg.TokenTTL)}
	err = r.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.AddDevice(store.Device{Name: d.Name, Role: string(d.Role), Venue: d.Venue, Gate: d.Gate}, hash, s.Expires, now)
		if err != nil || by == "" {
			return err
		}
		detail := fmt.Sprintf("%s of venue %s", d.Role, d.Venue)
		if d.Gate != "" {
			detail += ", gate " + d.Gate
		}
		return tx.Audit(store.AuditEntry{At: now, Actor: by, Action: "device.add", Target: d.Name, Detail: detail})
	})
	if err != nil {
		return Setup{}, err
	}
	r.cfg.Logger.Info("device added", "device", d.Name, "role", d.Role, "venue", d.Venue, "gate", d.Gate, "token_expires", s.Expires)
	return s, nil
}

// Renew gives a device that has not enrolled yet a new setup token, for
// one lost or expired; its older tokens stop working. by is the staff
// member, for the audit log.
func (r *Registry) Renew(ctx context.Context, by, name string) (Setup, error) {
	dev, err := r.cfg.Store.DeviceByName(ctx, name)
	if err != nil {
		return Setup{}, fmt.Errorf("new setup token for %s: %w", name, err)
	}
	if dev.Status != store.DevicePending {
		return Setup{}, fmt.Errorf("new setup token for %s: it is %s: a setup token is for a device not enrolled yet", name, dev.Status)
	}
	token, hash, err := newSecret("tgs_")
	if err != nil {
		return Setup{}, fmt.Errorf("new setup token for %s: %w", name, err)
	}
	now := r.cfg.Clock.Now()
	s := Setup{Device: name, Token: token, Expires: now.Add(r.cfg.TokenTTL)}
	err = r.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.ExpireSetupTokens(dev.ID, now); err != nil {
			return err
		}
		if err := tx.AddSetupToken(dev.ID, hash, s.Expires); err != nil {
			return err
		}
		return tx.Audit(store.AuditEntry{At: now, Actor: by, Action: "device.setup_token", Target: name, Detail: "until " + s.Expires.UTC().Format(time.RFC3339)})
	})
	if err != nil {
		return Setup{}, fmt.Errorf("new setup token for %s: %w", name, err)
	}
	r.cfg.Logger.Info("device setup token renewed", "device", name, "by", by, "token_expires", s.Expires)
	return s, nil
}

// Errors of an enrollment, each with its wire code.
var (
	ErrTokenUnknown = &uplink.Error{Code: uplink.ErrCodeTokenUnknown, Message: "enroll: the setup token is not known to this central (mistyped, or for another central)"}
	ErrTokenUsed    = &uplink.Error{Code: uplink.ErrCodeTokenUsed, Message: "enroll: the setup token was used already: ask ops for a new one"}
	ErrTokenExpired = &uplink.Error{Code: uplink.ErrCodeTokenExpired, Message: "enroll: the setup token has expired: ask ops for a new one"}
)

// Enroll answers a device's enrollment, once per token. Everything it does
// (the token used up, the device's key, certificate and credential, the
// certificate's manifest change) is one transaction: a failure leaves the
// token usable.
func (r *Registry) Enroll(ctx context.Context, req uplink.EnrollRequest) (uplink.EnrollResponse, error) {
	if err := req.Check(); err != nil {
		return uplink.EnrollResponse{}, &uplink.Error{Code: uplink.ErrCodeBadRequest, Message: err.Error()}
	}
	th := hashOf(req.Token)
	credential, ch, err := newSecret("tgd_")
	if err != nil {
		return uplink.EnrollResponse{}, err
	}
	now := r.cfg.Clock.Now()
	var resp uplink.EnrollResponse
	err = r.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		dev, err := tx.TakeSetupToken(th, now)
		switch {
		case errors.Is(err, store.ErrTokenUnknown):
			return ErrTokenUnknown
		case errors.Is(err, store.ErrTokenUsed):
			return ErrTokenUsed
		case errors.Is(err, store.ErrTokenExpired):
			return ErrTokenExpired
		case err != nil:
			return err
		}
		cert, err := r.cfg.Keys.CertifyDevice(keyfile.DeviceRequest{Device: dev.Name, Role: ticket.Role(dev.Role), Venue: dev.Venue,
			Key: req.Key, Now: now, Validity: r.cfg.CertValidity})
		if err != nil {
			return err
		}
		certJSON, err := json.Marshal(cert)
		if err != nil {
			return err
		}
		if err := tx.Enroll(dev.ID, cert.ID().String(), req.Key, string(certJSON), ch, req.Version, req.Hardware, now); err != nil {
			if errors.Is(err, store.ErrExists) {
				return &uplink.Error{Code: uplink.ErrCodeBadRequest, Message: "enroll: this identity key is enrolled already for another device: make a new one"}
			}
			return err
		}
		if _, err := r.cfg.Catalog.EmitDevice(tx, cert); err != nil {
			return err
		}
		head, err := tx.ManifestHead(dev.Venue)
		if err != nil {
			return err
		}
		resp = uplink.EnrollResponse{Cert: cert, Root: r.cfg.Keys.RootPublic(), Keyring: [][]byte{r.cfg.Keys.MeshKey},
			Venue: dev.Venue, Gate: dev.Gate, Credential: credential, ManifestHead: head}
		if cert.Role == ticket.RoleGate {
			resp.GateKey = r.cfg.Keys.GateKey
		}
		return nil
	})
	if err != nil {
		var ue *uplink.Error
		if errors.As(err, &ue) {
			r.cfg.Logger.Warn("enrollment refused", "reason", ue.Code)
			return uplink.EnrollResponse{}, ue
		}
		return uplink.EnrollResponse{}, fmt.Errorf("enroll: %w", err)
	}
	r.cfg.Logger.Info("device enrolled", "device", resp.Cert.Device, "key", resp.Cert.ID(), "version", req.Version, "hardware", req.Hardware,
		"skew", req.Time.Sub(now).Round(time.Millisecond))
	return resp, nil
}

// ErrRevoked is returned, with the device, for the credential of a device
// ops revoked: it is told so, and stops admitting.
var ErrRevoked = errors.New("the device is revoked")

// ErrUnauthorized is returned for a credential that is no enrolled
// device's.
var ErrUnauthorized = errors.New("not an enrolled device's credential")

// Authenticate finds the enrolled device a credential belongs to. The
// first use of a rolled credential puts it in place: from then on the
// credential before it is refused.
func (r *Registry) Authenticate(ctx context.Context, credential string) (store.Device, error) {
	if credential == "" {
		return store.Device{}, ErrUnauthorized
	}
	h := hashOf(credential)
	d, next, err := r.cfg.Store.DeviceByCredential(ctx, h)
	if errors.Is(err, store.ErrNotFound) {
		if rd, rerr := r.cfg.Store.RevokedDeviceByCredential(ctx, h); rerr == nil {
			return rd, ErrRevoked
		}
		return d, ErrUnauthorized
	}
	if err != nil || !next {
		return d, err
	}
	now := r.cfg.Clock.Now()
	var took bool
	err = r.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		var err error
		if took, err = tx.TakeRolledCredential(d.ID, h, now); err != nil || !took {
			return err
		}
		return tx.Audit(store.AuditEntry{At: now, Actor: "device:" + d.Name, Action: "device.credential_rolled", Target: d.Name,
			Detail: "the rolled credential is in use; the one before no longer works"})
	})
	if err != nil {
		return d, fmt.Errorf("device %s: %w", d.Name, err)
	}
	if !took { // a newer roll replaced it meanwhile, or a racing request took it: ask again
		d, next, err = r.cfg.Store.DeviceByCredential(ctx, h)
		if errors.Is(err, store.ErrNotFound) || next {
			return d, ErrUnauthorized
		}
		return d, err
	}
	d.RollPending, d.RollRequested, d.CredentialRolled = false, time.Time{}, now
	r.cfg.Logger.Info("device credential rolled", "device", d.Name)
	return d, nil
}

// Roll issues a device a new API credential, beside the one it used to
// ask: that one keeps working until the new one is first used, so a lost
// answer costs nothing (the device asks again, and the credential in the
// lost answer stops working). A suspended device cannot roll.
func (r *Registry) Roll(ctx context.Context, dev store.Device) (uplink.CredentialResponse, error) {
	credential, h, err := newSecret("tgd_")
	if err != nil {
		return uplink.CredentialResponse{}, err
	}
	now := r.cfg.Clock.Now()
	err = r.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.RollCredential(dev.ID, h); err != nil {
			return err
		}
		return tx.Audit(store.AuditEntry{At: now, Actor: "device:" + dev.Name, Action: "device.credential_issued", Target: dev.Name,
			Detail: "a rolled credential, working once used"})
	})
	if err != nil {
		return uplink.CredentialResponse{}, fmt.Errorf("roll credential of %s: %w", dev.Name, err)
	}
	r.cfg.Logger.Info("device credential issued", "device", dev.Name)
	return uplink.CredentialResponse{Credential: credential}, nil
}

// RequestRoll asks a device to roll its credential at its next sync (a
// credential leaked, or one kept too long): central tells it on every
// answer until it has, and the old credential stops working as soon as
// the device uses the new one. by is the staff member, for the audit log.
func (r *Registry) RequestRoll(ctx context.Context, by, name, reason string) (store.Device, error) {
	detail := "at its next sync"
	if reason != "" {
		detail += ": " + reason
	}
	now := r.cfg.Clock.Now()
	var dev store.Device
	err := r.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		var err error
		if dev, err = tx.RequestRoll(name, now); err != nil {
			return err
		}
		return tx.Audit(store.AuditEntry{At: now, Actor: by, Action: "device.roll_requested", Target: name, Detail: detail})
	})
	if err != nil {
		return dev, err
	}
	r.cfg.Logger.Info("device credential roll requested", "device", name, "by", by)
	return dev, nil
}

// Suspend stops central serving a device (one under investigation, or
// out of service): its uploads and pulls are refused with
// device_suspended until Resume. Unlike a revocation it signs nothing:
// the venue's peers keep accepting its records, and records of it that
// a peer uploads are stored. by is the staff member, for the audit log.
func (r *Registry) Suspend(ctx context.Context, by, name, reason string) (store.Device, error) {
	if reason == "" {
		reason = "suspended at central"
	}
	now := r.cfg.Clock.Now()
	var dev store.Device
	err := r.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		var err error
		if dev, err = tx.SuspendDevice(name, reason, now); err != nil {
			return err
		}
		return tx.Audit(store.AuditEntry{At: now, Actor: by, Action: "device.suspend", Target: name, Detail: reason})
	})
	if err != nil {
		return dev, err
	}
	r.cfg.Logger.Warn("device suspended", "device", name, "by", by, "reason", reason)
	return dev, nil
}

// Resume ends a device's suspension: central serves it again.
func (r *Registry) Resume(ctx context.Context, by, name, reason string) (store.Device, error) {
	now := r.cfg.Clock.Now()
	var dev store.Device
	err := r.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		var err error
		if dev, err = tx.ResumeDevice(name); err != nil {
			return err
		}
		return tx.Audit(store.AuditEntry{At: now, Actor: by, Action: "device.resume", Target: name, Detail: reason})
	})
	if err != nil {
		return dev, err
	}
	r.cfg.Logger.Info("device resumed", "device", name, "by", by)
	return dev, nil
}

// newSecret makes a random credential with a prefix that says what it is,
// and its hash.
func newSecret(prefix string) (string, []byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	s := prefix + base64.RawURLEncoding.EncodeToString(b)
	return s, hashOf(s), nil
}

func hashOf(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}
