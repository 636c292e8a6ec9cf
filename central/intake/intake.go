package intake

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/uplink"
)

// Config is what intake needs.
type Config struct {
	Store  *store.DB
	Root   ed25519.PublicKey // the organizer's root: device certificates must chain to it
	Clock  ticket.Clock
	Logger *slog.Logger
	// Stored, when set, is called with the records a push stored, after
	// they are committed: reconciliation hangs here.
	Stored func(ctx context.Context, recs []store.Record)
}

// Intake verifies and stores pushed records.
type Intake struct {
	cfg Config

	mu    sync.Mutex
	certs map[ticket.KeyID]origin // enrolled devices, by key id
	stamp string                  // store.DevicesStamp when certs were read
}

type origin struct {
	cert    ticket.DeviceCert
	revoked time.Time // zero when not revoked
}

// New makes an intake.
func New(cfg Config) *Intake {
	if cfg.Clock == nil {
		cfg.Clock = ticket.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Intake{cfg: cfg, certs: map[ticket.KeyID]origin{}}
}

// errUnknown and errRevoked say why an origin is not trusted.
var (
	errUnknown = errors.New("no device enrolled with this key")
	errRevoked = errors.New("device revoked before this record")
)

// loadOrigins reads every enrolled device's certificate: central keeps no
// state outside the database, so another central process's enrollment is
// seen here on the next miss.
func (in *Intake) loadOrigins(ctx context.Context, stamp string) error {
	devs, err := in.cfg.Store.Devices(ctx)
	if err != nil {
		return err
	}
	certs := map[ticket.KeyID]origin{}
	for _, d := range devs {
		if d.Cert == "" {
			continue
		}
		var c ticket.DeviceCert
		if err := json.Unmarshal([]byte(d.Cert), &c); err != nil {
			in.cfg.Logger.Error("device certificate unreadable", "device", d.Name, "err", err)
			continue
		}
		if err := c.Verify(in.cfg.Root); err != nil {
			in.cfg.Logger.Error("device certificate does not verify", "device", d.Name, "err", err)
			continue
		}
		certs[c.ID()] = origin{cert: c, revoked: d.Revoked}
	}
	in.mu.Lock()
	in.certs, in.stamp = certs, stamp
	in.mu.Unlock()
	return nil
}

// refreshOrigins rereads the certificates when a device enrolled or was
// revoked since they were read, by this process or another.
func (in *Intake) refreshOrigins(ctx context.Context) error {
	stamp, err := in.cfg.Store.DevicesStamp(ctx)
	if err != nil {
		return err
	}
	in.mu.Lock()
	fresh := stamp == in.stamp
	in.mu.Unlock()
	if fresh {
		return nil
	}
	return in.loadOrigins(ctx, stamp)
}

func (in *Intake) lookup(id ticket.KeyID) (origin, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	o, ok := in.certs[id]
	return o, ok
}

// Push verifies and stores a device's upload and answers with what became
// of each record and the acknowledgements. via is the uploading device.
func (in *Intake) Push(ctx context.Context, via store.Device, req uplink.PushRequest) (uplink.PushResponse, error) {
	now := in.cfg.Clock.Now()
	var resp uplink.PushResponse
	if len(req.Records) > uplink.MaxPushRecords {
		return resp, &uplink.Error{Code: uplink.ErrCodeBadRequest, Message: fmt.Sprintf("push: %d records, the most in one push is %d", len(req.Records), uplink.MaxPushRecords)}
	}
	if err := in.refreshOrigins(ctx); err != nil {
		return resp, fmt.Errorf("push: %w", err)
	}
	recs, errs := record.VerifyBatch(req.Records, func(r *record.Record) (ed25519.PublicKey, error) {
		o, ok := in.lookup(r.Origin)
		switch {
		case !ok:
			return nil, errUnknown
		case !o.revoked.IsZero() && !r.HLC.Time().Before(o.revoked):
			return nil, errRevoked
		case !o.cert.ValidAt(r.HLC.Time()):
			return nil, fmt.Errorf("certificate of %s not valid at %s", o.cert.Device, r.HLC)
		case o.cert.Role == ticket.RoleCentral:
			return nil, errors.New("central does not scan")
		}
		return o.cert.Key, nil
	})
	var good []int
	for i, err := range errs {
		if err == nil {
			good = append(good, i)
			continue
		}
		rf := uplink.Refusal{Index: i, Detail: err.Error()}
		switch r, derr := record.Unmarshal(req.Records[i]); {
		case derr != nil:
			rf.Reason = uplink.RefusedMalformed
		case recs[i].Seq == 0: // VerifyBatch keeps only records whose origin's key was found
			rf.Reason, rf.Record = uplink.RefusedUnknownOrigin, r.ID()
		default:
			rf.Reason, rf.Record = uplink.RefusedBadSignature, r.ID()
		}
		resp.Refused = append(resp.Refused, rf)
	}
	sort.Slice(good, func(a, b int) bool {
		ra, rb := &recs[good[a]], &recs[good[b]]
		if ra.Origin != rb.Origin {
			return bytes.Compare(ra.Origin[:], rb.Origin[:]) < 0
		}
		return ra.Seq < rb.Seq
	})
	rows := make([]store.Record, len(good))
	for k, i := range good {
		r := &recs[i]
		h := record.HashOf(req.Records[i])
		var prev []byte
		if r.Seq > 1 {
			prev = r.Prev[:]
		}
		rows[k] = store.Record{Origin: r.Origin.String(), Seq: r.Seq, Hash: h[:], Prev: prev, Raw: req.Records[i], Kind: int(r.Kind),
			Event: r.Event, Serial: r.Serial, Type: r.Type, Gate: r.Gate, Zone: r.Zone, At: r.HLC.Time()}
	}
	outcomes, err := in.cfg.Store.StoreRecords(ctx, rows, now, via.Name)
	if err != nil {
		return resp, fmt.Errorf("push: %w", err)
	}
	var stored []store.Record
	for k, o := range outcomes {
		i := good[k]
		switch o {
		case store.Stored:
			resp.Stored++
			stored = append(stored, rows[k])
		case store.Duplicate:
			resp.Duplicates++
		case store.Gap:
			resp.Refused = append(resp.Refused, uplink.Refusal{Index: i, Record: recs[i].ID(), Reason: uplink.RefusedGap,
				Detail: "central lacks the records before it: push from the acknowledged sequence on"})
		case store.Fork:
			resp.Refused = append(resp.Refused, uplink.Refusal{Index: i, Record: recs[i].ID(), Reason: uplink.RefusedFork,
				Detail: "another record signed by the origin holds this number"})
		}
	}
	if in.cfg.Stored != nil && len(stored) > 0 {
		in.cfg.Stored(ctx, stored)
	}
	sort.Slice(resp.Refused, func(a, b int) bool { return resp.Refused[a].Index < resp.Refused[b].Index })
	if err := in.keepRefusals(ctx, resp.Refused, via.Name, now); err != nil {
		return resp, err
	}
	if len(resp.Refused) > 0 {
		in.cfg.Logger.Warn("records refused", "via", via.Name, "refused", len(resp.Refused), "first", resp.Refused[0].Reason, "detail", resp.Refused[0].Detail)
	}
	if err := in.cfg.Store.Seen(ctx, via.ID, store.Sync{At: now, ManifestSeq: req.Status.ManifestSeq, Backlog: req.Status.Backlog,
		SkewMillis: skew(req.Status.Time, now), State: req.Status.State, Version: req.Status.Version}); err != nil {
		return resp, err
	}
	resp.Acks, err = in.Acks(ctx, via)
	return resp, err
}

func skew(device, central time.Time) int64 {
	if device.IsZero() {
		return 0
	}
	return device.Sub(central).Milliseconds()
}

// keepRefusals keeps what was refused for ops to see; a gap is only a
// device pushing ahead and is not kept.
func (in *Intake) keepRefusals(ctx context.Context, rfs []uplink.Refusal, via string, now time.Time) error {
	var keep []store.Refusal
	for _, r := range rfs {
		if r.Reason == uplink.RefusedGap {
			continue
		}
		keep = append(keep, store.Refusal{Record: r.Record, Reason: r.Reason, Detail: r.Detail, Via: via, At: now})
	}
	return in.cfg.Store.AddRefusals(ctx, keep)
}

// Acks is central's acknowledgement of every origin, and the manifest head
// of the asking device's venue.
func (in *Intake) Acks(ctx context.Context, dev store.Device) (uplink.Acks, error) {
	acks, err := in.cfg.Store.Acks(ctx)
	if err != nil {
		return uplink.Acks{}, err
	}
	out := uplink.Acks{Acks: make(map[ticket.KeyID]uint64, len(acks)), Time: in.cfg.Clock.Now()}
	for o, seq := range acks {
		id, err := ticket.ParseKeyID(o)
		if err != nil {
			continue
		}
		out.Acks[id] = seq
	}
	out.ManifestHead, err = in.cfg.Store.ManifestHead(ctx, dev.Venue)
	return out, err
}
