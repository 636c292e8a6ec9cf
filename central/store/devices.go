package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Device is a gate or seller handheld known to central.
type Device struct {
	ID       int64
	Name     string
	Role     string // gate or seller
	Venue    string
	Gate     string // the gate it serves, for a gate
	Status   string // pending until enrolled, then enrolled
	KeyID    string // its identity key's id, once enrolled
	Key      []byte // its identity public key
	Cert     string // its certificate (JSON), once enrolled
	Created  time.Time
	Enrolled time.Time
	Revoked  time.Time
	LastSeen time.Time
	Version  string
	Hardware string
	// What the device said at its last sync.
	ManifestSeq uint64
	Backlog     int64
	SkewMillis  int64
	UplinkState string
	// Suspended, while not zero, is when central suspended the device: its
	// uploads and pulls are refused, for SuspendReason; its records stay
	// valid (no revocation is signed).
	Suspended     time.Time
	SuspendReason string
	// RollRequested, while not zero, is when ops asked the device to roll
	// its API credential at its next sync.
	RollRequested time.Time
	// CredentialRolled is when the credential in use replaced the one
	// before it (zero: the one from enrollment).
	CredentialRolled time.Time
	// RollPending: a rolled credential was issued and is not used yet.
	RollPending bool
}

// Device states.
const (
	DevicePending  = "pending"
	DeviceEnrolled = "enrolled"
	DeviceRevoked  = "revoked"
)

// Errors callers branch on.
var (
	ErrExists       = errors.New("already exists")
	ErrTokenUnknown = errors.New("setup token is not known")
	ErrTokenUsed    = errors.New("setup token was used already")
	ErrTokenExpired = errors.New("setup token has expired")
)

// AddDevice creates a pending device with a one-time setup token (its
// SHA-256 hash) valid until expires.
func (t *Tx) AddDevice(dev Device, tokenHash []byte, expires, now time.Time) (int64, error) {
	var id int64
	err := t.queryRow(`INSERT INTO devices (name, role, venue, gate, status, created) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (name) DO NOTHING RETURNING id`,
		dev.Name, dev.Role, dev.Venue, dev.Gate, DevicePending, micros(now)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("add device %s: a device of that name %w", dev.Name, ErrExists)
	}
	if err != nil {
		return 0, fmt.Errorf("add device %s: %w", dev.Name, err)
	}
	if err := t.AddSetupToken(id, tokenHash, expires); err != nil {
		return 0, err
	}
	return id, nil
}

// AddSetupToken gives a device another setup token.
func (t *Tx) AddSetupToken(device int64, tokenHash []byte, expires time.Time) error {
	if _, err := t.exec(`INSERT INTO setup_tokens (hash, device, expires) VALUES ($1, $2, $3)`, tokenHash, device, micros(expires)); err != nil {
		return fmt.Errorf("setup token for device %d: %w", device, err)
	}
	return nil
}

// TakeSetupToken uses up a setup token and returns its device. A token
// works once: a second use, even racing the first, fails with ErrTokenUsed.
func (t *Tx) TakeSetupToken(tokenHash []byte, now time.Time) (Device, error) {
	var id, expires, used int64
	err := t.queryRow(`SELECT device, expires, used_at FROM setup_tokens WHERE hash = $1`, tokenHash).Scan(&id, &expires, &used)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Device{}, ErrTokenUnknown
	case err != nil:
		return Device{}, fmt.Errorf("setup token: %w", err)
	case used != 0:
		return Device{}, ErrTokenUsed
	case micros(now) >= expires:
		return Device{}, ErrTokenExpired
	}
	res, err := t.exec(`UPDATE setup_tokens SET used_at = $2 WHERE hash = $1 AND used_at = 0`, tokenHash, micros(now))
	if err != nil {
		return Device{}, fmt.Errorf("setup token: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return Device{}, ErrTokenUsed
	}
	return scanDevice(t.queryRow(`SELECT `+deviceColumns+` FROM devices WHERE id = $1`, id))
}

// Enroll records a device's identity key, certificate and the hash of its
// API credential. It leaves last_seen alone: that is the device's last
// sync, and an enrolled device that never synced is not online.
func (t *Tx) Enroll(id int64, keyID string, key []byte, cert string, credentialHash []byte, version, hardware string, now time.Time) error {
	res, err := t.exec(`UPDATE devices SET status = $2, key_id = $3, public_key = $4, cert = $5, credential_hash = $6,
		version = $7, hardware = $8, enrolled_at = $9 WHERE id = $1 AND status = $10`,
		id, DeviceEnrolled, keyID, key, cert, credentialHash, version, hardware, micros(now), DevicePending)
	if err != nil {
		if uniqueViolation(err) {
			return fmt.Errorf("enroll device %d: key %s is enrolled for another device: %w", id, keyID, ErrExists)
		}
		return fmt.Errorf("enroll device %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("enroll device %d: not pending", id)
	}
	return nil
}

const deviceColumns = `id, name, role, venue, gate, status, COALESCE(key_id, ''), public_key, cert, created, enrolled_at, revoked_at,
	last_seen, version, hardware, manifest_seq, backlog, skew_ms, uplink_state,
	suspended_at, suspend_reason, roll_requested, credential_rolled_at, next_credential_hash IS NOT NULL`

func scanDevice(s interface{ Scan(...any) error }, extra ...any) (Device, error) {
	var d Device
	var created, enrolled, revoked, seen, mseq, suspended, rollReq, rolled int64
	dest := []any{&d.ID, &d.Name, &d.Role, &d.Venue, &d.Gate, &d.Status, &d.KeyID, &d.Key, &d.Cert, &created, &enrolled, &revoked,
		&seen, &d.Version, &d.Hardware, &mseq, &d.Backlog, &d.SkewMillis, &d.UplinkState,
		&suspended, &d.SuspendReason, &rollReq, &rolled, &d.RollPending}
	err := s.Scan(append(dest, extra...)...)
	if err != nil {
		return d, err
	}
	d.Created, d.Enrolled, d.Revoked, d.LastSeen, d.ManifestSeq = fromMicros(created), fromMicros(enrolled), fromMicros(revoked), fromMicros(seen), uint64(mseq)
	d.Suspended, d.RollRequested, d.CredentialRolled = fromMicros(suspended), fromMicros(rollReq), fromMicros(rolled)
	return d, nil
}

// DeviceByCredential finds the enrolled device whose API credential hashes
// to hash. next is true when hash is the device's rolled credential, not
// used yet: the caller puts it in place with TakeRolledCredential.
func (d *DB) DeviceByCredential(ctx context.Context, hash []byte) (dev Device, next bool, err error) {
	dev, err = scanDevice(d.db.QueryRowContext(ctx, `SELECT `+deviceColumns+`, next_credential_hash IS NOT NULL AND next_credential_hash = $1
		FROM devices WHERE (credential_hash = $1 OR next_credential_hash = $1) AND status = $2`, hash, DeviceEnrolled), &next)
	if err != nil {
		return dev, false, notFound(err, "device credential")
	}
	return dev, next, nil
}

// RevokedDeviceByCredential finds the revoked device whose API credential
// hashed to hash, so central can tell it it is revoked.
func (d *DB) RevokedDeviceByCredential(ctx context.Context, hash []byte) (Device, error) {
	var next bool
	dev, err := scanDevice(d.db.QueryRowContext(ctx, `SELECT `+deviceColumns+`, FALSE
		FROM devices WHERE credential_hash = $1 AND status = $2`, hash, DeviceRevoked), &next)
	return dev, notFound(err, "revoked device credential")
}

// TakeRolledCredential puts a device's rolled credential (its hash) in
// place of the one before, which stops working. It reports false when
// hash is no longer the device's rolled credential (another request took
// it first, or a newer roll replaced it).
func (t *Tx) TakeRolledCredential(id int64, hash []byte, now time.Time) (bool, error) {
	res, err := t.exec(`UPDATE devices SET credential_hash = next_credential_hash, next_credential_hash = NULL, roll_requested = 0,
		credential_rolled_at = $3 WHERE id = $1 AND next_credential_hash = $2 AND status = $4`, id, hash, micros(now), DeviceEnrolled)
	if err != nil {
		return false, fmt.Errorf("device %d: take rolled credential: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// RollCredential issues a device a new credential (its hash) beside the
// one in use, which keeps working until the new one is first used. A
// rolled credential not used yet is replaced: only the last one issued
// can take over.
func (t *Tx) RollCredential(id int64, hash []byte) error {
	res, err := t.exec(`UPDATE devices SET next_credential_hash = $2 WHERE id = $1 AND status = $3`, id, hash, DeviceEnrolled)
	if err != nil {
		return fmt.Errorf("device %d: roll credential: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("device %d: roll credential: not enrolled", id)
	}
	return nil
}

// RequestRoll asks a device to roll its credential at its next sync.
func (t *Tx) RequestRoll(name string, at time.Time) (Device, error) {
	dev, err := t.deviceByName(name)
	if err != nil {
		return dev, err
	}
	if dev.Status != DeviceEnrolled {
		return dev, fmt.Errorf("roll credential of %s: it is %s: only an enrolled device has a credential to roll", name, dev.Status)
	}
	if _, err := t.exec(`UPDATE devices SET roll_requested = $2 WHERE id = $1`, dev.ID, micros(at)); err != nil {
		return dev, fmt.Errorf("roll credential of %s: %w", name, err)
	}
	dev.RollRequested = at
	return dev, nil
}

// Errors of a suspension callers branch on.
var (
	ErrSuspended    = errors.New("suspended already")
	ErrNotSuspended = errors.New("not suspended")
)

// SuspendDevice suspends a device at at for reason: central refuses its
// uploads and pulls until ResumeDevice. Only an enrolled device can be
// suspended (a revoked one is cut off for good).
func (t *Tx) SuspendDevice(name, reason string, at time.Time) (Device, error) {
	dev, err := t.deviceByName(name)
	if err != nil {
		return dev, err
	}
	switch {
	case dev.Status != DeviceEnrolled:
		return dev, fmt.Errorf("suspend device %s: it is %s: only an enrolled device can be suspended", name, dev.Status)
	case !dev.Suspended.IsZero():
		return dev, fmt.Errorf("suspend device %s: %w", name, ErrSuspended)
	}
	if _, err := t.exec(`UPDATE devices SET suspended_at = $2, suspend_reason = $3 WHERE id = $1`, dev.ID, micros(at), reason); err != nil {
		return dev, fmt.Errorf("suspend device %s: %w", name, err)
	}
	dev.Suspended, dev.SuspendReason = at, reason
	return dev, nil
}

// ResumeDevice ends a device's suspension.
func (t *Tx) ResumeDevice(name string) (Device, error) {
	dev, err := t.deviceByName(name)
	if err != nil {
		return dev, err
	}
	if dev.Suspended.IsZero() {
		return dev, fmt.Errorf("resume device %s: %w", name, ErrNotSuspended)
	}
	if _, err := t.exec(`UPDATE devices SET suspended_at = 0, suspend_reason = '' WHERE id = $1`, dev.ID); err != nil {
		return dev, fmt.Errorf("resume device %s: %w", name, err)
	}
	dev.Suspended, dev.SuspendReason = time.Time{}, ""
	return dev, nil
}

func (t *Tx) deviceByName(name string) (Device, error) {
	dev, err := scanDevice(t.queryRow(`SELECT `+deviceColumns+` FROM devices WHERE name = $1`, name))
	if err != nil {
		return dev, notFound(err, "device "+name)
	}
	return dev, nil
}

// DeviceByName reads a device.
func (d *DB) DeviceByName(ctx context.Context, name string) (Device, error) {
	dev, err := scanDevice(d.db.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM devices WHERE name = $1`, name))
	if err != nil {
		return dev, notFound(err, "device "+name)
	}
	return dev, nil
}

// Devices lists every device by name.
func (d *DB) Devices(ctx context.Context) ([]Device, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+deviceColumns+` FROM devices ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("devices: %w", err)
	}
	defer rows.Close()
	var out []Device
	for rows.Next() {
		dev, err := scanDevice(rows)
		if err != nil {
			return nil, fmt.Errorf("devices: %w", err)
		}
		out = append(out, dev)
	}
	return out, rows.Err()
}

// Sync is what a device says of itself when it syncs.
type Sync struct {
	At          time.Time // central's time
	ManifestSeq uint64
	Backlog     int64
	SkewMillis  int64 // the device's clock minus central's
	State       string
	Version     string
}

// Seen records a device's sync.
func (d *DB) Seen(ctx context.Context, id int64, s Sync) error {
	_, err := d.db.ExecContext(ctx, `UPDATE devices SET last_seen = $2, manifest_seq = $3, backlog = $4, skew_ms = $5,
		uplink_state = $6, version = CASE WHEN $7 = '' THEN version ELSE $7 END WHERE id = $1`,
		id, micros(s.At), int64(s.ManifestSeq), s.Backlog, s.SkewMillis, s.State, s.Version)
	if err != nil {
		return fmt.Errorf("device %d seen: %w", id, err)
	}
	return nil
}

// RevokeDevice revokes a device at at: its credential stops working, and
// its records made from then on are refused.
func (t *Tx) RevokeDevice(name string, at time.Time) (Device, error) {
	res, err := t.exec(`UPDATE devices SET status = $2, revoked_at = $3 WHERE name = $1 AND status <> $2`, name, DeviceRevoked, micros(at))
	if err != nil {
		return Device{}, fmt.Errorf("revoke device %s: %w", name, err)
	}
	dev, err := scanDevice(t.queryRow(`SELECT `+deviceColumns+` FROM devices WHERE name = $1`, name))
	if err != nil {
		return dev, notFound(err, "device "+name)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return dev, fmt.Errorf("revoke device %s: revoked already", name)
	}
	return dev, nil
}

// DevicesStamp changes whenever a device enrolls or is revoked, through any
// central process: what a cache of certificates compares to know it is
// stale.
func (d *DB) DevicesStamp(ctx context.Context) (string, error) {
	var n, enrolled, revoked int64
	err := d.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(MAX(enrolled_at), 0), COALESCE(MAX(revoked_at), 0) FROM devices WHERE status <> $1`,
		DevicePending).Scan(&n, &enrolled, &revoked)
	if err != nil {
		return "", fmt.Errorf("devices: %w", err)
	}
	return fmt.Sprintf("%d/%d/%d", n, enrolled, revoked), nil
}
