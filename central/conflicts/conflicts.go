package conflicts

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"

	"github.com/tixgate/tixgate/central/reconcile"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ledger/replay"
	"github.com/tixgate/tixgate/ticket"
)

// Config is what the keeper needs.
type Config struct {
	Store *store.DB
	// Root is the organizer's root public key: the device certificates of
	// the manifest name the devices by it.
	Root ed25519.PublicKey
	// Reconcile bounds a ticket's replay.
	Reconcile reconcile.Config
	Clock     ticket.Clock
	Logger    *slog.Logger
}

// DefaultConfig keeps conflicts in db.
func DefaultConfig(db *store.DB, root ed25519.PublicKey) Config {
	return Config{Store: db, Root: root, Reconcile: reconcile.DefaultConfig(), Clock: ticket.SystemClock{}, Logger: slog.Default()}
}

// Keeper reconciles tickets and keeps their conflicts.
type Keeper struct {
	cfg Config

	mu     sync.Mutex
	venues map[string]*venueFacts // a cache of each venue's manifest
}

// venueFacts is a venue's facts as of manifest change seq. A value is
// never changed once made: a newer manifest makes a new one, so a
// reconciliation in flight keeps reading the facts it began with.
type venueFacts struct {
	seq   uint64
	facts reconcile.Facts
	trust *ticket.TrustStore // adds are safe beside reads
	rec   *reconcile.Reconciler
}

// New makes a keeper.
func New(cfg Config) *Keeper {
	if cfg.Clock == nil {
		cfg.Clock = ticket.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Keeper{cfg: cfg, venues: map[string]*venueFacts{}}
}

// Stats counts what a reconciliation did.
type Stats struct {
	Tickets int `json:"tickets"`
	New     int `json:"new"`
	Changed int `json:"changed"`
	Closed  int `json:"closed"`
}

func (s *Stats) add(t store.TicketConflicts) {
	s.Tickets++
	s.New += t.New
	s.Changed += t.Changed
	s.Closed += t.Closed
}

// Tickets reconciles the given tickets (each once, whatever the repeats).
func (k *Keeper) Tickets(ctx context.Context, refs []store.TicketRef) (Stats, error) {
	var st Stats
	seen := map[store.TicketRef]bool{}
	venues := map[uint64]string{}
	for _, ref := range refs {
		if seen[ref] {
			continue
		}
		seen[ref] = true
		venue, ok := venues[ref.Event]
		if !ok {
			v, err := k.cfg.Store.EventVenue(ctx, ref.Event)
			if err != nil {
				return st, fmt.Errorf("reconcile: venue of event %d: %w", ref.Event, err)
			}
			venues[ref.Event], venue = v, v
		}
		if err := k.ticket(ctx, venue, ref, &st); err != nil {
			return st, err
		}
	}
	return st, nil
}

// All reconciles every ticket the store holds records of: after a
// revocation, or to check.
func (k *Keeper) All(ctx context.Context) (Stats, error) {
	var st Stats
	err := k.cfg.Store.RecordTickets(ctx, func(venue string, ref store.TicketRef) error {
		return k.ticket(ctx, venue, ref, &st)
	})
	return st, err
}

// ForRecords reconciles the tickets of records just stored. It is the
// intake's hook: a failure is logged, not returned, as the records are
// stored and the next pass finds what this one missed.
func (k *Keeper) ForRecords(ctx context.Context, recs []store.Record) {
	refs := make([]store.TicketRef, 0, len(recs))
	for _, r := range recs {
		if r.Event != 0 || r.Serial != 0 {
			refs = append(refs, store.TicketRef{Event: r.Event, Serial: r.Serial})
		}
	}
	if len(refs) == 0 {
		return
	}
	st, err := k.Tickets(ctx, refs)
	if err != nil {
		k.cfg.Logger.Error("reconcile after upload", "tickets", len(refs), "err", err)
		return
	}
	if st.New+st.Changed+st.Closed > 0 {
		k.cfg.Logger.Info("conflicts", "tickets", st.Tickets, "new", st.New, "changed", st.Changed, "closed", st.Closed)
	}
}

func (k *Keeper) ticket(ctx context.Context, venue string, ref store.TicketRef, st *Stats) error {
	vf, err := k.facts(ctx, venue)
	if err != nil {
		return err
	}
	tc, err := k.cfg.Store.ReconcileTicket(ctx, venue, ref.Event, ref.Serial, k.cfg.Clock.Now(), func(rows []store.Record) ([]store.Conflict, error) {
		recs := make([]record.Record, 0, len(rows))
		for _, row := range rows {
			r, err := record.Unmarshal(row.Raw)
			if err != nil {
				return nil, fmt.Errorf("record %s/%d: %w", row.Origin, row.Seq, err)
			}
			recs = append(recs, r)
		}
		cs, err := vf.rec.Ticket(recs)
		if err != nil {
			return nil, err
		}
		out := make([]store.Conflict, len(cs))
		for i, c := range cs {
			b, err := json.Marshal(c.Records)
			if err != nil {
				return nil, err
			}
			out[i] = store.Conflict{ID: c.ID, Venue: venue, Kind: string(c.Kind), Reason: string(c.Reason), Event: c.Event, Serial: c.Serial, Detail: c.Detail, Records: b}
		}
		return out, nil
	})
	if err != nil {
		return fmt.Errorf("reconcile ticket %d/%d: %w", ref.Event, ref.Serial, err)
	}
	st.add(tc)
	return nil
}

// facts returns the venue's facts as of its manifest's head, applying the
// changes signed since the cached ones.
func (k *Keeper) facts(ctx context.Context, venue string) (*venueFacts, error) {
	head, err := k.cfg.Store.ManifestHead(ctx, venue)
	if err != nil {
		return nil, fmt.Errorf("reconcile: manifest of %s: %w", venue, err)
	}
	k.mu.Lock()
	old := k.venues[venue]
	k.mu.Unlock()
	if old != nil && old.seq >= head {
		return old, nil
	}
	vf := &venueFacts{trust: ticket.NewTrustStore(k.cfg.Root)}
	if old != nil {
		vf.seq, vf.trust, vf.facts = old.seq, old.trust, old.facts
		vf.facts.Events = maps.Clone(old.facts.Events)
		vf.facts.Types = maps.Clone(old.facts.Types)
		vf.facts.RevokedTickets = maps.Clone(old.facts.RevokedTickets)
		vf.facts.RevokedDevices = maps.Clone(old.facts.RevokedDevices)
	}
	err = k.cfg.Store.Changes(ctx, venue, vf.seq, 0, func(sc store.Change) error {
		c, err := manifest.Parse(sc.Line)
		if err != nil {
			return fmt.Errorf("change %d: %w", sc.Seq, err)
		}
		body, err := c.Decode()
		if err != nil {
			return fmt.Errorf("change %d: %w", sc.Seq, err)
		}
		if dc, ok := body.(*ticket.DeviceCert); ok {
			if err := vf.trust.AddDevice(*dc); err != nil {
				k.cfg.Logger.Warn("reconcile: device certificate of the manifest not trusted", "venue", venue, "change", sc.Seq, "err", err)
			}
		}
		vf.facts.Apply(body)
		vf.seq = sc.Seq
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reconcile: manifest of %s: %w", venue, err)
	}
	vf.facts.Names = replay.TrustNames(vf.trust)
	vf.rec = reconcile.New(vf.facts, k.cfg.Reconcile)
	k.mu.Lock()
	if cur := k.venues[venue]; cur == nil || cur.seq < vf.seq {
		k.venues[venue] = vf
	}
	k.mu.Unlock()
	return vf, nil
}

// ErrNotFound is returned for a conflict central does not hold.
var ErrNotFound = errors.New("no such conflict")

// Resolve validates a resolution and stores it, with an entry in the audit
// log, and returns the conflict as it now stands. A closed conflict may be
// resolved too: what it named happened.
func (k *Keeper) Resolve(ctx context.Context, res reconcile.Resolution) (store.Conflict, error) {
	if res.At.IsZero() {
		res.At = k.cfg.Clock.Now()
	}
	if err := res.Validate(); err != nil {
		return store.Conflict{}, err
	}
	err := k.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.Resolve(store.Resolution{Conflict: res.Conflict, Action: string(res.Action), By: res.By, At: res.At, Note: res.Note}); err != nil {
			return err
		}
		return tx.Audit(store.AuditEntry{At: res.At, Actor: res.By, Action: "conflict." + string(res.Action), Target: res.Conflict, Detail: res.Note})
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.Conflict{}, fmt.Errorf("resolve %s: %w", res.Conflict, ErrNotFound)
	}
	if err != nil {
		return store.Conflict{}, err
	}
	return k.cfg.Store.Conflict(ctx, res.Conflict)
}
