package sales

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/tixgate/tixgate/central/catalog"
	"github.com/tixgate/tixgate/central/reconcile"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ticket"
)

// Config is what the sales accounts need.
type Config struct {
	Store   *store.DB
	Catalog *catalog.Catalog // signs the revocations of voided tickets
	// Batch is how many records one transaction reads: larger is faster,
	// smaller holds the write lock for less time.
	Batch  int
	Clock  ticket.Clock
	Logger *slog.Logger
}

// DefaultConfig reads 2000 records a transaction.
func DefaultConfig(db *store.DB, cat *catalog.Catalog) Config {
	return Config{Store: db, Catalog: cat, Batch: 2000, Clock: ticket.SystemClock{}, Logger: slog.Default()}
}

// Sales keeps central's accounts of the sellers.
type Sales struct{ cfg Config }

// New makes the accounts.
func New(cfg Config) *Sales {
	if cfg.Clock == nil {
		cfg.Clock = ticket.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 2000
	}
	return &Sales{cfg: cfg}
}

// moneyKinds are the records a seller signs.
var moneyKinds = []int{int(record.KindSale), int(record.KindVoid), int(record.KindShiftOpen), int(record.KindCashIn),
	int(record.KindCashOut), int(record.KindShiftClose)}

// Catch reads every stored seller record not read yet into the accounts
// and returns how many it read. It must be idempotent: it may run on
// several central processes at once and after every upload.
func (s *Sales) Catch(ctx context.Context) (int, error) {
	total := 0
	for {
		recs, err := s.cfg.Store.UnreadRecords(ctx, moneyKinds, s.cfg.Batch)
		if err != nil {
			return total, err
		}
		if len(recs) == 0 {
			return total, nil
		}
		n, err := s.read(ctx, recs)
		total += n
		if err != nil {
			return total, err
		}
		if n == 0 { // another process read them meanwhile
			continue
		}
	}
}

// who names origins and their venues' time zones.
type who struct {
	names map[string]store.Device
	zones map[string]*time.Location
}

func (s *Sales) who(ctx context.Context) (*who, error) {
	devs, err := s.cfg.Store.Devices(ctx)
	if err != nil {
		return nil, err
	}
	w := &who{names: map[string]store.Device{}, zones: map[string]*time.Location{}}
	for _, d := range devs {
		if d.KeyID == "" {
			continue
		}
		w.names[d.KeyID] = d
		if _, ok := w.zones[d.Venue]; ok {
			continue
		}
		loc := time.UTC
		if v, err := s.cfg.Store.Venue(ctx, d.Venue); err == nil && v.TimeZone != "" {
			if l, err := time.LoadLocation(v.TimeZone); err == nil {
				loc = l
			}
		}
		w.zones[d.Venue] = loc
	}
	return w, nil
}

type receiptKey struct {
	origin  string
	receipt uint64
}

type shiftKey struct {
	origin string
	open   uint64 // the sequence of its shift_open record
}

// read takes one batch of records into the accounts in one transaction.
func (s *Sales) read(ctx context.Context, raws []store.Record) (int, error) {
	w, err := s.who(ctx)
	if err != nil {
		return 0, err
	}
	recs := make([]record.Record, 0, len(raws))
	for _, r := range raws {
		rec, err := record.Unmarshal(r.Raw)
		if err != nil { // stored records were verified: this is damage
			return 0, fmt.Errorf("seller record %s/%d: %w", r.Origin, r.Seq, err)
		}
		recs = append(recs, rec)
	}
	var read int
	var doubles [][2]uint64
	err = s.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		read, doubles = 0, doubles[:0]
		orders := map[receiptKey]bool{}
		shifts := map[shiftKey]bool{}
		locked := ""
		for i := range recs {
			r := &recs[i]
			origin := r.Origin.String()
			dev := w.names[origin]
			if origin != locked {
				// One reader of an origin at a time, whichever central
				// process: its orders and shifts are recomputed from lines
				// another reader may be adding. The batch is in origin
				// order, so the locks are taken in one order everywhere.
				if _, err := tx.Next("seller-lines:"+origin, 1); err != nil {
					return err
				}
				locked = origin
			}
			fresh, err := tx.AddSellerLine(lineOf(r, dev.Name))
			if err != nil {
				return err
			}
			if !fresh {
				continue
			}
			read++
			switch r.Kind {
			case record.KindSale:
				orders[receiptKey{origin, r.Money.Receipt}] = true
				status := "valid"
				if q, err := tx.QuotaOf(r.Event, r.Serial); err == nil && r.Serial > q.KeptMax {
					status = "revoked" // sold from a block's revoked rest: the gates refuse it
				}
				sold, err := tx.AddSoldTicket(store.Ticket{Event: r.Event, Serial: r.Serial, Type: r.Type, Status: status, Issuer: origin,
					IssuedAt: r.HLC.Time()})
				if err != nil {
					return err
				}
				if !sold {
					doubles = append(doubles, [2]uint64{r.Event, r.Serial})
					break
				}
				loc := w.zones[dev.Venue]
				if loc == nil {
					loc = time.UTC
				}
				at := r.HLC.Time()
				err = tx.AddSaleFact(store.SaleFact{Event: r.Event, Serial: r.Serial, Type: r.Type, Channel: store.ChannelSeller, Method: r.Money.Method,
					Currency: r.Money.Currency, Amount: r.Money.Amount, SoldAt: at, Day: at.In(loc).Format(time.DateOnly), Hour: at.In(loc).Hour()})
				if err != nil {
					return err
				}
			case record.KindVoid:
				orders[receiptKey{origin, r.Money.Receipt}] = true
				if err := s.revoke(ctx, tx, dev, r); err != nil {
					return err
				}
			}
			open, err := tx.ShiftOpenAt(origin, int(record.KindShiftOpen), r.Seq)
			if errors.Is(err, store.ErrNotFound) {
				continue // a sale outside a shift: a device before shifts existed
			}
			if err != nil {
				return err
			}
			shifts[shiftKey{origin, open}] = true
		}
		for k := range orders {
			if err := s.putOrder(tx, w.names[k.origin], k); err != nil {
				return err
			}
		}
		for k := range shifts {
			dev := w.names[k.origin]
			if err := s.putShift(tx, dev, w.zones[dev.Venue], k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("read seller records: %w", err)
	}
	for _, d := range doubles {
		if err := s.doubleSale(ctx, w, d[0], d[1]); err != nil {
			return read, err
		}
	}
	if read > 0 {
		s.cfg.Logger.Info("seller records read", "records", read, "double_sales", len(doubles))
	}
	return read, nil
}

func lineOf(r *record.Record, device string) store.SellerLine {
	m := r.Money
	return store.SellerLine{Origin: r.Origin.String(), Seq: r.Seq, Device: device, Kind: int(r.Kind), Receipt: m.Receipt, Event: r.Event,
		Serial: r.Serial, Type: r.Type, Amount: m.Amount, Currency: m.Currency, Method: m.Method, Given: m.Given, Ref: m.Ref, Till: r.Gate,
		Actor: r.Actor, Reason: r.Reason, Note: r.Note, At: r.HLC.Time()}
}

// revoke turns a void into a revocation every gate learns from the
// manifest. As at the gates, a void counts only from the device that sold
// the ticket.
func (s *Sales) revoke(ctx context.Context, tx *store.Tx, dev store.Device, r *record.Record) error {
	sales, err := tx.SellerLines(r.Origin.String(), []int{int(record.KindSale)}, r.Money.Receipt, 0, 0)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(sales, func(l store.SellerLine) bool { return l.Event == r.Event && l.Serial == r.Serial })
	if i < 0 {
		s.cfg.Logger.Warn("void of a ticket its device did not sell", "device", dev.Name, "record", r.ID(), "ticket", fmt.Sprintf("%d/%d", r.Event, r.Serial))
		return nil
	}
	if err := tx.RefundFact(r.Event, r.Serial, sales[i].Amount, r.HLC.Time()); err != nil {
		return err
	}
	reason := "voided by " + dev.Name
	if r.Reason != "" {
		reason += ": " + r.Reason
	}
	venue := dev.Venue
	if ev, err := s.cfg.Store.Event(ctx, r.Event); err == nil {
		venue = ev.Venue
	}
	return s.cfg.Catalog.RevokeTicketIn(tx, venue, r.Event, r.Serial, reason, r.HLC.Time())
}

// putOrder recomputes one receipt's order and payments from its lines.
func (s *Sales) putOrder(tx *store.Tx, dev store.Device, k receiptKey) error {
	lines, err := tx.SellerLines(k.origin, []int{int(record.KindSale), int(record.KindVoid)}, k.receipt, 0, 0)
	if err != nil {
		return err
	}
	o := store.Order{Device: dev.Name, Origin: k.origin, Receipt: k.receipt, Status: store.OrderPaid}
	for _, l := range lines {
		switch record.Kind(l.Kind) {
		case record.KindSale:
			if o.Tickets == 0 {
				o.Event, o.Type, o.Currency, o.Method, o.Ref, o.Seller, o.Till, o.SoldAt = l.Event, l.Type, l.Currency, l.Method, l.Ref, l.Actor, l.Till, l.At
			}
			o.Tickets++
			o.Total += l.Amount
			o.Given += l.Given
		case record.KindVoid:
			o.Refunded += l.Amount
			o.VoidedAt = l.At
		}
	}
	if o.Tickets == 0 {
		return nil // a void whose sale has not arrived: central holds no gaps, so it never happens
	}
	if o.Method == record.MethodCash {
		o.Change = o.Given - o.Total
	}
	if o.Refunded > 0 {
		o.Status = store.OrderVoided
	}
	id, err := tx.PutOrder(o)
	if err != nil {
		return err
	}
	if err := tx.PutPayment(id, store.Payment{Kind: "payment", Method: o.Method, Amount: o.Total, Currency: o.Currency, Ref: o.Ref, At: o.SoldAt}); err != nil {
		return err
	}
	if o.Refunded > 0 {
		return tx.PutPayment(id, store.Payment{Kind: "refund", Method: o.Method, Amount: o.Refunded, Currency: o.Currency, Ref: o.Ref, At: o.VoidedAt})
	}
	return nil
}

// putShift recomputes one shift's cash report from its lines.
func (s *Sales) putShift(tx *store.Tx, dev store.Device, loc *time.Location, k shiftKey) error {
	lines, err := tx.SellerLines(k.origin, moneyKinds, 0, k.open, 0)
	if err != nil {
		return err
	}
	for i, l := range lines { // the shift ends at its close, or before the next opening
		if (i > 0 && record.Kind(l.Kind) == record.KindShiftOpen) || record.Kind(l.Kind) == record.KindShiftClose {
			if record.Kind(l.Kind) == record.KindShiftClose {
				i++
			}
			lines = lines[:i]
			break
		}
	}
	rep, err := Report(lines)
	if err != nil {
		s.cfg.Logger.Error("shift report", "device", dev.Name, "shift", k.open, "err", err)
		return nil // kept as lines; the report is made again when its next record arrives
	}
	if loc == nil {
		loc = time.UTC
	}
	rep.Device, rep.Day = dev.Name, rep.Opened.In(loc).Format(time.DateOnly)
	body, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	return tx.PutShift(store.Shift{Origin: k.origin, Number: rep.Number, Device: dev.Name, Day: rep.Day, Seller: rep.Seller, Till: rep.Till,
		Currency: rep.Currency, Opened: rep.Opened, Closed: rep.Closed, Report: body})
}

// doubleSale records the conflict of a serial sold twice, as reconcile
// finds it over the ticket's records.
func (s *Sales) doubleSale(ctx context.Context, w *who, event, serial uint64) error {
	var recs []record.Record
	err := s.cfg.Store.Records(ctx, event, serial, func(r store.Record, _ time.Time, _ string) error {
		rec, err := record.Unmarshal(r.Raw)
		if err == nil {
			recs = append(recs, rec)
		}
		return err
	})
	if err != nil {
		return err
	}
	names := func(id ticket.KeyID, _ time.Time) string {
		if d, ok := w.names[id.String()]; ok {
			return d.Name
		}
		return id.String()
	}
	facts := reconcile.Facts{Names: names}
	if len(recs) > 0 {
		facts.Location = w.zones[w.names[recs[0].Origin.String()].Venue]
	}
	cs, err := reconcile.New(facts, reconcile.DefaultConfig()).Ticket(recs)
	if err != nil {
		return err
	}
	venue := ""
	if len(recs) > 0 {
		venue = w.names[recs[0].Origin.String()].Venue
	}
	now := s.cfg.Clock.Now()
	return s.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		for _, c := range cs {
			if c.Kind != reconcile.DoubleSale || len(c.Records) < 2 {
				continue
			}
			// The same ID as reconciliation's own pass gives it: one
			// conflict in the one table, whichever finds it first.
			b, err := json.Marshal(c.Records)
			if err != nil {
				return err
			}
			added, err := tx.AddConflict(store.Conflict{ID: c.ID, Venue: venue, Kind: string(c.Kind), Reason: string(c.Reason),
				Event: event, Serial: serial, Detail: c.Detail, Records: b}, now)
			if err != nil {
				return err
			}
			if added {
				s.cfg.Logger.Warn("serial sold twice", "ticket", fmt.Sprintf("%d/%d", event, serial), "conflict", c.ID, "detail", c.Detail)
			}
		}
		return nil
	})
}
