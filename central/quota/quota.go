package quota

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tixgate/tixgate/central/catalog"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

// Config is what quotas need.
type Config struct {
	Store   *store.DB
	Keys    *keyfile.Keys // the root signs the sellers' issuer certificates
	Catalog *catalog.Catalog
	// MaxBlock bounds one block: a lost handheld can sell no more than it
	// before its quota is revoked, and a revocation names every unsold
	// serial (manifest.MaxTicketsPerBatch per change).
	MaxBlock uint64
	// Skew starts a certificate this much before it is signed, so a
	// handheld whose clock is a little behind can sell at once.
	Skew   time.Duration
	Clock  ticket.Clock
	Logger *slog.Logger
}

// DefaultConfig allocates blocks of up to 10,000 serials.
func DefaultConfig(db *store.DB, keys *keyfile.Keys, cat *catalog.Catalog) Config {
	return Config{Store: db, Keys: keys, Catalog: cat, MaxBlock: 10_000, Skew: 5 * time.Minute, Clock: ticket.SystemClock{}, Logger: slog.Default()}
}

// Quotas allocates, caps and revokes seller quotas.
type Quotas struct{ cfg Config }

// New makes quotas.
func New(cfg Config) *Quotas {
	if cfg.Clock == nil {
		cfg.Clock = ticket.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBlock == 0 {
		cfg.MaxBlock = 10_000
	}
	return &Quotas{cfg: cfg}
}

// Allocation is what ops give a seller device.
type Allocation struct {
	Device   string
	Event    uint64
	Type     uint64
	Count    uint64 // serials in the block
	Price    int64  // one ticket, minor units of Currency
	Currency string // ISO 4217
	// Until ends the certificate (and so the block's tickets at the
	// gates); zero: the event's end.
	Until time.Time
	// RequestBlock and RequestMax let the device ask for more on its own:
	// blocks of RequestBlock serials while it holds at most RequestMax of
	// this event and type. Zero RequestBlock leaves the limit as it was.
	RequestBlock, RequestMax uint64
	asked                    bool
}

// Errors callers branch on.
var (
	ErrNotSeller = errors.New("not an enrolled seller device")
	ErrLimit     = errors.New("beyond the limit ops set")
)

// Allocate reserves a block for a seller device, signs its issuer
// certificate and price list into the venue's manifest, and stores it, in
// one transaction.
func (q *Quotas) Allocate(ctx context.Context, a Allocation) (store.Quota, error) {
	var out store.Quota
	err := q.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		var err error
		out, err = q.allocate(ctx, tx, a)
		return err
	})
	if err != nil {
		return store.Quota{}, fmt.Errorf("allocate quota to %s: %w", a.Device, err)
	}
	q.cfg.Logger.Info("quota allocated", "device", out.Device, "event", out.Event, "type", out.Type, "serials", fmt.Sprintf("%d-%d", out.SerialMin, out.SerialMax),
		"price", out.Price, "currency", out.Currency, "until", out.NotAfter, "asked", out.Asked)
	return out, nil
}

func (q *Quotas) allocate(ctx context.Context, tx *store.Tx, a Allocation) (store.Quota, error) {
	switch {
	case a.Count == 0 || a.Count > q.cfg.MaxBlock:
		return store.Quota{}, fmt.Errorf("count %d: a block holds 1 to %d serials", a.Count, q.cfg.MaxBlock)
	case a.Price < 0:
		return store.Quota{}, errors.New("a negative price")
	case !ticket.ValidCurrency(a.Currency):
		return store.Quota{}, fmt.Errorf("currency %q is not an ISO 4217 code", a.Currency)
	}
	dev, err := q.cfg.Store.DeviceByName(ctx, a.Device)
	if errors.Is(err, store.ErrNotFound) {
		return store.Quota{}, fmt.Errorf("%w: no device %q", ErrNotSeller, a.Device)
	}
	if err != nil {
		return store.Quota{}, err
	}
	if dev.Role != string(ticket.RoleSeller) || len(dev.Key) == 0 || !dev.Revoked.IsZero() {
		if dev.Role == "seller" && dev.Status == "pending" {
			return store.Quota{}, fmt.Errorf("%w: %s is not enrolled yet: run tixgate enroll on the handheld with its setup token, then allocate", ErrNotSeller, dev.Name)
		}
		return store.Quota{}, fmt.Errorf("%w: %s is a %s device, %s", ErrNotSeller, dev.Name, dev.Role, dev.Status)
	}
	ev, err := q.cfg.Store.Event(ctx, a.Event)
	if err != nil {
		return store.Quota{}, err
	}
	if ev.Venue != dev.Venue {
		return store.Quota{}, fmt.Errorf("event %d is at venue %s, device %s belongs to %s", ev.ID, ev.Venue, dev.Name, dev.Venue)
	}
	tt, err := q.cfg.Store.TicketType(ctx, a.Event, a.Type)
	if err != nil {
		return store.Quota{}, err
	}
	now := q.cfg.Clock.Now()
	until := a.Until
	if until.IsZero() {
		until = ev.Ends
	}
	if !until.After(now) {
		return store.Quota{}, fmt.Errorf("the block would end at %s, which has passed", until.Format(time.RFC3339))
	}
	if a.RequestBlock > 0 {
		if err := tx.PutSellerLimit(store.SellerLimit{Device: dev.Name, Event: a.Event, Type: a.Type, Block: min(a.RequestBlock, q.cfg.MaxBlock), MaxTotal: a.RequestMax}); err != nil {
			return store.Quota{}, err
		}
	}
	lo, hi, err := tx.ReserveSellerSerials(a.Event, a.Count)
	if err != nil {
		return store.Quota{}, err
	}
	if hi > ticket.MaxSerial {
		return store.Quota{}, fmt.Errorf("event %d's seller serials are used up", a.Event)
	}
	zones := manifest.MaskOf(tt.Zones)
	cert, err := ticket.SignIssuerCert(ticket.IssuerCert{Name: dev.Name, Key: dev.Key, Events: []uint64{a.Event}, Types: []uint64{a.Type},
		Zones: zones, SerialMin: lo, SerialMax: hi, NotBefore: now.Add(-q.cfg.Skew), NotAfter: until}, q.cfg.Keys.Root)
	if err != nil {
		return store.Quota{}, err
	}
	certJSON, err := json.Marshal(cert)
	if err != nil {
		return store.Quota{}, err
	}
	qt := store.Quota{Device: dev.Name, Venue: dev.Venue, Event: a.Event, Type: a.Type, SerialMin: lo, SerialMax: hi, Zones: zones,
		NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, Price: a.Price, Currency: a.Currency, Cert: string(certJSON),
		Status: store.QuotaActive, KeptMax: hi, Asked: a.asked, Created: now}
	if qt.ID, err = tx.AddQuota(qt); err != nil {
		return store.Quota{}, err
	}
	if _, err := q.cfg.Catalog.Emit(tx, dev.Venue, manifest.KindIssuer, fmt.Sprintf("quota:%d", qt.ID), &cert); err != nil {
		return store.Quota{}, err
	}
	if err := q.emitPrices(ctx, tx, dev, a); err != nil {
		return store.Quota{}, err
	}
	return qt, nil
}

// emitPrices signs the device's price list of the event: the price of each
// type it holds a quota of, the latest allocation's.
func (q *Quotas) emitPrices(ctx context.Context, tx *store.Tx, dev store.Device, a Allocation) error {
	held, err := q.cfg.Store.Quotas(ctx, dev.Name)
	if err != nil {
		return err
	}
	list := manifest.PriceList{Event: a.Event, Seller: dev.Name, Currency: a.Currency}
	prices := map[uint64]int64{a.Type: a.Price}
	order := []uint64{a.Type}
	for _, h := range held {
		if h.Event != a.Event || h.Currency != a.Currency || h.Type == a.Type {
			continue
		}
		if _, ok := prices[h.Type]; !ok {
			order = append(order, h.Type)
		}
		prices[h.Type] = h.Price
	}
	for _, t := range order {
		list.Prices = append(list.Prices, manifest.Price{Type: t, Amount: prices[t]})
	}
	_, err = q.cfg.Catalog.Emit(tx, dev.Venue, manifest.KindPrices, fmt.Sprintf("prices:%d:%s", a.Event, dev.Name), &list)
	return err
}

// Request grants a seller device's own request for another block, within
// the limit ops set for it: a block of the limit's size, while what the
// device holds stays within the limit's total. The block's price is that
// of the device's latest quota of the event and type.
func (q *Quotas) Request(ctx context.Context, dev store.Device, event, typ uint64) (store.Quota, error) {
	var out store.Quota
	err := q.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		lim, err := tx.SellerLimit(dev.Name, event, typ)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: ops let %s ask for no blocks of event %d type %d", ErrLimit, dev.Name, event, typ)
		}
		if err != nil {
			return err
		}
		held, err := tx.HeldSerials(dev.Name, event, typ)
		if err != nil {
			return err
		}
		if held+lim.Block > lim.MaxTotal {
			return fmt.Errorf("%w: %s holds %d serials of event %d type %d, another block of %d would pass its %d", ErrLimit, dev.Name, held, event, typ, lim.Block, lim.MaxTotal)
		}
		all, err := q.cfg.Store.Quotas(ctx, dev.Name)
		if err != nil {
			return err
		}
		var last *store.Quota
		for i := range all {
			if all[i].Event == event && all[i].Type == typ {
				last = &all[i]
			}
		}
		if last == nil {
			return fmt.Errorf("%w: %s has no quota of event %d type %d to price another by", ErrLimit, dev.Name, event, typ)
		}
		out, err = q.allocate(ctx, tx, Allocation{Device: dev.Name, Event: event, Type: typ, Count: lim.Block, Price: last.Price,
			Currency: last.Currency, Until: last.NotAfter, asked: true})
		return err
	})
	if err != nil {
		return store.Quota{}, fmt.Errorf("quota request of %s: %w", dev.Name, err)
	}
	q.cfg.Logger.Info("quota granted on request", "device", dev.Name, "event", event, "type", typ, "serials", fmt.Sprintf("%d-%d", out.SerialMin, out.SerialMax))
	return out, nil
}

// Cap keeps the first keep serials of a quota and revokes the unsold rest
// everywhere; keep 0 revokes the whole unsold block. Serials central knows
// were sold stay valid whatever keep says. It returns the quota and how
// many serials it revoked.
func (q *Quotas) Cap(ctx context.Context, id int64, keep uint64, reason string) (store.Quota, int, error) {
	var out store.Quota
	var revoked int
	err := q.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		qt, err := tx.Quota(id)
		if err != nil {
			return err
		}
		size := qt.SerialMax - qt.SerialMin + 1
		if keep > size {
			return fmt.Errorf("keep %d: the block holds %d serials", keep, size)
		}
		kept := qt.SerialMin + keep - 1 // SerialMin-1 when keep is 0
		switch {
		case qt.KeptMax < qt.SerialMin:
			return fmt.Errorf("quota %d is revoked already: nothing of it is left to sell", id)
		case kept >= qt.KeptMax:
			return fmt.Errorf("quota %d keeps serials %d-%d already: a cap can only narrow it", id, qt.SerialMin, qt.KeptMax)
		}
		sold, err := tx.SoldSerials(int(record.KindSale), qt.Event, kept+1, qt.KeptMax)
		if err != nil {
			return err
		}
		var refs []manifest.TicketRef
		for s := kept + 1; s <= qt.KeptMax; s++ {
			if !sold[s] {
				refs = append(refs, manifest.TicketRef{Event: qt.Event, Serial: s})
			}
		}
		now := q.cfg.Clock.Now()
		status := store.QuotaCapped
		if keep == 0 {
			status = store.QuotaRevoked
		}
		if err := tx.CapQuota(id, kept, status, reason, now); err != nil {
			return err
		}
		for i := 0; i < len(refs); i += manifest.MaxTicketsPerBatch {
			part := refs[i:min(i+manifest.MaxTicketsPerBatch, len(refs))]
			subject := fmt.Sprintf("revoke:quota:%d/%d-%d", id, part[0].Serial, part[len(part)-1].Serial)
			if _, err := q.cfg.Catalog.Emit(tx, qt.Venue, manifest.KindRevoke, subject, &manifest.Revoke{Tickets: part, Reason: reason, At: now}); err != nil {
				return err
			}
		}
		revoked = len(refs)
		out, err = tx.Quota(id)
		return err
	})
	if err != nil {
		return store.Quota{}, 0, fmt.Errorf("cap quota %d: %w", id, err)
	}
	q.cfg.Logger.Info("quota capped", "quota", id, "device", out.Device, "kept_max", out.KeptMax, "revoked", revoked, "reason", reason)
	return out, revoked, nil
}
