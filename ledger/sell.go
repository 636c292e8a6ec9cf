package ledger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ticket"
)

// Selling offline: a seller device signs tickets with its own device key,
// within the issuer certificates central signed for that key (its quota: a
// block of serials of some events and types). Each ticket sold is a sale
// record carrying its money; the records of one sale, and the serials they
// take, are one transaction, so a sale is whole or absent whatever happens
// to the process. Serials are taken in order from each block: a serial is
// taken when the ledger holds any record of it, which is how the ledger
// knows what it sold after a restart or a repair, without a counter of its
// own.

// MaxTicketsPerSale bounds one sale.
const MaxTicketsPerSale = 50

// Errors of Sell and Void.
var (
	ErrNotSeller      = errors.New("this device is not a seller")
	ErrQuotaExhausted = errors.New("quota exhausted")
	ErrNoReceipt      = errors.New("no such receipt")
	ErrVoided         = errors.New("already voided")
)

// Sale is what a seller sells at once: tickets of one type of one event,
// paid together.
type Sale struct {
	Event, Type uint64
	Quantity    int
	Price       int64  // of one ticket, in minor units of Currency
	Currency    string // ISO 4217
	Method      string // record.MethodCash or record.MethodCard
	Given       int64  // cash handed over: at least the total; 0 for card
	Ref         string // the card terminal's reference
	Seller      string // who sells (the staff member)
	Till        string // where: the seller's till or device name
}

// Sold is a sale as recorded.
type Sold struct {
	Receipt  uint64       `json:"receipt"`
	At       time.Time    `json:"at"`
	Tickets  []SoldTicket `json:"tickets"`
	Total    int64        `json:"total"`
	Change   int64        `json:"change"`
	Currency string       `json:"currency"`
	Method   string       `json:"method"`
}

// SoldTicket is one ticket of a sale: its code for the buyer.
type SoldTicket struct {
	Serial uint64 `json:"serial"`
	Code   string `json:"code"`
	Record string `json:"record"` // the sale record, origin/seq
}

// Quota is one block a seller may sell from, and how much of it is left.
type Quota struct {
	Issuer    string    `json:"issuer"`
	Events    []uint64  `json:"events,omitempty"`
	Types     []uint64  `json:"types,omitempty"`
	SerialMin uint64    `json:"serial_min"`
	SerialMax uint64    `json:"serial_max"`
	Left      uint64    `json:"left"` // for each event the block covers
	NotAfter  time.Time `json:"not_after"`
}

// quotaBlocks returns the issuer certificates of this device's key that let
// it sell tickets of the event and type at at, by serial.
func (l *Ledger) quotaBlocks(event, typ uint64, at time.Time) []ticket.IssuerCert {
	own := l.id.Cert.Key
	var out []ticket.IssuerCert
	for _, c := range l.trust.Issuers() {
		if !c.Key.Equal(own) || l.trust.Revoked(ticket.KeyIDOf(c.Key)) || at.Before(c.NotBefore) || !at.Before(c.NotAfter) {
			continue
		}
		if (len(c.Events) > 0 && !slices.Contains(c.Events, event)) || (len(c.Types) > 0 && !slices.Contains(c.Types, typ)) {
			continue
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b ticket.IssuerCert) int { return cmpU64(a.SerialMin, b.SerialMin) })
	return out
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// freeSerials returns up to n serials of the block that the ledger holds no
// record of and no revocation of, in order, reading the tickets' marks in
// txn.
func freeSerials(txn *badger.Txn, event uint64, c *ticket.IssuerCert, n int) []uint64 {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: key(tTicketMark, u64(event))})
	defer it.Close()
	var out []uint64
	next := c.SerialMin
	for it.Seek(markKey(event, next)); len(out) < n && next <= c.SerialMax; {
		taken := uint64(0)
		if it.Valid() {
			taken = decodeU64(it.Item().Key()[9:17])
		}
		if !it.Valid() || taken > next {
			// next has no mark: free, unless central revoked it (a capped
			// or revoked quota's unsold rest).
			if _, err := txn.Get(revokedTicketKey(event, next)); err != nil {
				out = append(out, next)
			}
			next++
			continue
		}
		if taken == next {
			next++
		}
		it.Next()
	}
	return out
}

// Quotas lists what this device may still sell of an event and type.
func (l *Ledger) Quotas(event, typ uint64) ([]Quota, error) {
	blocks := l.quotaBlocks(event, typ, l.cfg.Clock.Now())
	out := make([]Quota, 0, len(blocks))
	err := l.db.View(func(txn *badger.Txn) error {
		for i := range blocks {
			c := &blocks[i]
			left := uint64(len(freeSerials(txn, event, c, int(min(c.SerialMax-c.SerialMin+1, 1<<20)))))
			out = append(out, Quota{Issuer: c.Name, Events: c.Events, Types: c.Types, SerialMin: c.SerialMin, SerialMax: c.SerialMax,
				Left: left, NotAfter: c.NotAfter})
		}
		return nil
	})
	return out, err
}

func (s *Sale) check() error {
	switch {
	case s.Quantity < 1 || s.Quantity > MaxTicketsPerSale:
		return fmt.Errorf("quantity %d: sell 1 to %d tickets at once", s.Quantity, MaxTicketsPerSale)
	case s.Price < 0:
		return errors.New("a negative price")
	case s.Method == record.MethodCard && s.Given != 0:
		return errors.New("cash given on a card payment")
	case s.Method == record.MethodCash && s.Given < s.Price*int64(s.Quantity):
		return fmt.Errorf("cash given (%d) is less than the total (%d)", s.Given, s.Price*int64(s.Quantity))
	}
	m := record.Money{Receipt: 1, Amount: s.Price, Currency: s.Currency, Method: s.Method, Given: s.Given, Ref: s.Ref}
	r := record.Record{Seq: 1, Kind: record.KindSale, Gate: s.Till, Actor: s.Seller, Money: m}
	return r.Check()
}

// Sell sells tickets from this device's quota: it takes the next free
// serials of its blocks, signs a code for each with the device key, and
// records one sale record per ticket, all in one transaction, before it
// answers. The receipt number is the device's next, without gaps.
func (l *Ledger) Sell(ctx context.Context, s Sale) (Sold, error) {
	if l.id.Cert.Role != ticket.RoleSeller {
		return Sold{}, ErrNotSeller
	}
	if err := s.check(); err != nil {
		return Sold{}, fmt.Errorf("sale: %w", err)
	}
	if l.repairing.Load() != nil {
		if err := l.CheckSound(); err != nil {
			return Sold{}, err
		}
	}
	l.mu.RLock()
	_, typeKnown := l.types[[2]uint64{s.Event, s.Type}]
	l.mu.RUnlock()
	if !typeKnown {
		return Sold{}, fmt.Errorf("sale: ticket type %d is not defined for event %d", s.Type, s.Event)
	}
	l.sellMu.Lock()
	defer l.sellMu.Unlock()
	if err := l.holdOpen(); err != nil {
		return Sold{}, err
	}
	defer l.closeMu.RUnlock()
	if err := ctx.Err(); err != nil {
		return Sold{}, err
	}
	shift, err := l.openShift()
	if err != nil {
		return Sold{}, err
	}
	if shift == nil {
		return Sold{}, fmt.Errorf("sale: %w", ErrNoShift)
	}
	if shift.Currency != s.Currency {
		return Sold{}, fmt.Errorf("sale: in %s, but the shift's till is in %s", s.Currency, shift.Currency)
	}
	receipt, err := l.lastReceipt()
	if err != nil {
		return Sold{}, err
	}
	receipt++
	at := l.cfg.Clock.Now()
	blocks := l.quotaBlocks(s.Event, s.Type, at)
	var sold Sold
	var raws [][]byte
	err = l.update(func(txn *badger.Txn) error {
		sold = Sold{Receipt: receipt, At: at, Currency: s.Currency, Method: s.Method}
		raws = raws[:0]
		type pick struct {
			serial uint64
			zones  uint64
		}
		var picks []pick
		for i := range blocks {
			for _, serial := range freeSerials(txn, s.Event, &blocks[i], s.Quantity-len(picks)) {
				picks = append(picks, pick{serial, blocks[i].Zones})
			}
		}
		if len(picks) < s.Quantity {
			return fmt.Errorf("%w: %d left of event %d type %d, %d asked for", ErrQuotaExhausted, len(picks), s.Event, s.Type, s.Quantity)
		}
		h, err := readHead(txn, l.id.ID())
		if err != nil {
			return err
		}
		for i, p := range picks {
			code, err := ticket.Issue(ticket.Ticket{Event: s.Event, Serial: p.serial, Type: s.Type, Zones: p.zones}, l.id.Key)
			if err != nil {
				return fmt.Errorf("sign ticket %d: %w", p.serial, err)
			}
			m := record.Money{Receipt: receipt, Amount: s.Price, Currency: s.Currency, Method: s.Method, Ref: s.Ref}
			if i == 0 {
				m.Given = s.Given
			}
			rec := record.Record{Kind: record.KindSale, Event: s.Event, Serial: p.serial, Type: s.Type, Gate: s.Till, Actor: s.Seller, Money: m}
			raw, err := l.appendOwn(txn, &rec, &h)
			if err != nil {
				return err
			}
			raws = append(raws, raw)
			sold.Tickets = append(sold.Tickets, SoldTicket{Serial: p.serial, Code: code, Record: rec.ID()})
		}
		return nil
	})
	if errors.Is(err, ErrQuotaExhausted) {
		return Sold{}, fmt.Errorf("sale: %w: ask central for another block", err)
	}
	if err != nil {
		return Sold{}, fmt.Errorf("record sale: %w", err)
	}
	l.receipt = receipt
	sold.Total = s.Price * int64(s.Quantity)
	if s.Method == record.MethodCash {
		sold.Change = s.Given - sold.Total
	}
	l.notifyRecords(raws, true)
	return sold, nil
}

// lastReceipt is the highest receipt number of this device's sales, read
// from its log once and kept; sellMu must be held.
func (l *Ledger) lastReceipt() (uint64, error) {
	if l.receiptRead {
		return l.receipt, nil
	}
	var last uint64
	err := l.eachOwnMoney(func(r *record.Record) error {
		if r.Kind == record.KindSale {
			last = max(last, r.Money.Receipt)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("read receipts: %w", err)
	}
	l.receipt, l.receiptRead = last, true
	return last, nil
}

// eachOwnMoney calls fn with each of this device's records that carry money,
// in log order.
func (l *Ledger) eachOwnMoney(fn func(*record.Record) error) error {
	self := l.id.ID()
	return l.db.View(func(txn *badger.Txn) error {
		prefix := key(tLog, self[:])
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			raw, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			if !record.CarriesMoney(raw) {
				continue
			}
			r, err := record.Unmarshal(raw)
			if err != nil {
				return err
			}
			if err := fn(&r); err != nil {
				return err
			}
		}
		return nil
	})
}

// Void takes back a sale of this device, by its receipt number: each of its
// tickets gets a signed void record, paying back what it was sold for, in
// one transaction; gates refuse the tickets once the voids reach them.
func (l *Ledger) Void(ctx context.Context, receipt uint64, reason, staff string) ([]string, error) {
	if l.id.Cert.Role != ticket.RoleSeller {
		return nil, ErrNotSeller
	}
	if len(reason) > record.MaxActorLen || len(staff) > record.MaxActorLen {
		return nil, errors.New("void: reason or staff name too long")
	}
	l.sellMu.Lock()
	defer l.sellMu.Unlock()
	if err := l.holdOpen(); err != nil {
		return nil, err
	}
	defer l.closeMu.RUnlock()
	var sales, voids []record.Record
	err := l.eachOwnMoney(func(r *record.Record) error {
		if r.Money.Receipt == receipt {
			switch r.Kind {
			case record.KindSale:
				sales = append(sales, *r)
			case record.KindVoid:
				voids = append(voids, *r)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("void receipt %d: %w", receipt, err)
	}
	if len(sales) == 0 {
		return nil, fmt.Errorf("void receipt %d: %w", receipt, ErrNoReceipt)
	}
	if len(voids) > 0 {
		return nil, fmt.Errorf("void receipt %d: %w", receipt, ErrVoided)
	}
	var ids []string
	var raws [][]byte
	err = l.update(func(txn *badger.Txn) error {
		ids, raws = ids[:0], raws[:0]
		h, err := readHead(txn, l.id.ID())
		if err != nil {
			return err
		}
		for _, s := range sales {
			m := s.Money
			m.Given = 0
			rec := record.Record{Kind: record.KindVoid, Event: s.Event, Serial: s.Serial, Type: s.Type, Gate: s.Gate, Actor: staff,
				Reason: reason, Money: m}
			raw, err := l.appendOwn(txn, &rec, &h)
			if err != nil {
				return err
			}
			ids, raws = append(ids, rec.ID()), append(raws, raw)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("void receipt %d: %w", receipt, err)
	}
	l.notifyRecords(raws, true)
	return ids, nil
}

// holdOpen keeps the ledger from closing until closeMu is read-unlocked;
// it fails, holding nothing, on a closed ledger.
func (l *Ledger) holdOpen() error {
	l.closeMu.RLock()
	if l.closed {
		l.closeMu.RUnlock()
		return ErrClosed
	}
	return nil
}
