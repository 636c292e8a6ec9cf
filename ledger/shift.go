package ledger

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ticket"
)

// A seller's shift: opened with a float of cash, closed with the cash
// counted. Everything in it is a signed record of the device's own log
// (shift_open, cash_in, cash_out, shift_close, and the sales and voids
// between), and the closing report is recomputed from those records, never
// kept apart from them. A seller sells only within an open shift, in the
// shift's currency.

// Errors of shifts.
var (
	ErrNoShift     = errors.New("no shift is open: open one with its float first")
	ErrShiftOpen   = errors.New("a shift is already open")
	ErrNeedsNote   = errors.New("the counted cash differs from what is expected: say why in a note")
	ErrNoSuchShift = errors.New("no such shift")
)

// Shift is the open shift.
type Shift struct {
	Number   uint64    `json:"number"`
	Opened   time.Time `json:"opened"`
	Seller   string    `json:"seller"`
	Till     string    `json:"till"`
	Float    int64     `json:"float"`
	Currency string    `json:"currency"`
}

// MethodTotals is what one payment method took, or gave back.
type MethodTotals struct {
	Tickets  int   `json:"tickets"`
	Receipts int   `json:"receipts"`
	Amount   int64 `json:"amount"`
}

// CashMove is cash paid into or taken out of the till.
type CashMove struct {
	At     time.Time `json:"at"`
	Amount int64     `json:"amount"` // positive in, negative out
	Reason string    `json:"reason"`
	Staff  string    `json:"staff"`
}

// ShiftReport is a shift's account, computed from its records.
type ShiftReport struct {
	Shift
	Closed      time.Time               `json:"closed,omitzero"`
	Sales       map[string]MethodTotals `json:"sales"` // by payment method
	Voids       map[string]MethodTotals `json:"voids"`
	ChangeGiven int64                   `json:"change_given"`
	Moves       []CashMove              `json:"cash_moves,omitempty"`
	// Expected is the cash the till should hold: the float, plus cash
	// sales, less cash voids, plus cash in, less cash out.
	Expected int64  `json:"expected"`
	Counted  int64  `json:"counted"`
	Count    string `json:"count,omitempty"` // by denomination, as counted
	// Difference is counted less expected; a shift closes with one only
	// with a note.
	Difference int64  `json:"difference"`
	Note       string `json:"note,omitempty"`
}

// shiftRecords returns the records of shift n of this device, in log
// order: from its opening to its closing (or the end of the log).
func (l *Ledger) shiftRecords(n uint64) ([]record.Record, error) {
	var out []record.Record
	in := false
	err := l.eachOwnMoney(func(r *record.Record) error {
		switch {
		case r.Kind == record.KindShiftOpen && r.Money.Receipt == n:
			in = true
		case in && r.Kind == record.KindShiftOpen:
			in = false
		}
		if in {
			out = append(out, *r)
		}
		if in && r.Kind == record.KindShiftClose {
			in = false
		}
		return nil
	})
	if err == nil && len(out) == 0 {
		err = fmt.Errorf("shift %d: %w", n, ErrNoSuchShift)
	}
	return out, err
}

// report computes the account of a shift from its records.
func report(recs []record.Record) ShiftReport {
	rep := ShiftReport{Sales: map[string]MethodTotals{}, Voids: map[string]MethodTotals{}}
	type receipt struct {
		given, total int64
		cash         bool
	}
	receipts := map[uint64]*receipt{}
	voided := map[uint64]bool{}
	for _, r := range recs {
		m := r.Money
		switch r.Kind {
		case record.KindShiftOpen:
			rep.Shift = Shift{Number: m.Receipt, Opened: r.HLC.Time(), Seller: r.Actor, Till: r.Gate, Float: m.Amount, Currency: m.Currency}
		case record.KindSale:
			t := rep.Sales[m.Method]
			t.Tickets++
			t.Amount += m.Amount
			rc := receipts[m.Receipt]
			if rc == nil {
				rc = &receipt{cash: m.Method == record.MethodCash}
				receipts[m.Receipt] = rc
				t.Receipts++
			}
			rc.given += m.Given
			rc.total += m.Amount
			rep.Sales[m.Method] = t
		case record.KindVoid:
			t := rep.Voids[m.Method]
			t.Tickets++
			t.Amount += m.Amount
			if !voided[m.Receipt] {
				voided[m.Receipt] = true
				t.Receipts++
			}
			rep.Voids[m.Method] = t
		case record.KindCashIn, record.KindCashOut:
			mv := CashMove{At: r.HLC.Time(), Amount: m.Amount, Reason: r.Reason, Staff: r.Actor}
			if r.Kind == record.KindCashOut {
				mv.Amount = -mv.Amount
			}
			rep.Moves = append(rep.Moves, mv)
		case record.KindShiftClose:
			rep.Closed, rep.Counted, rep.Count, rep.Note = r.HLC.Time(), m.Amount, r.Reason, r.Note
		}
	}
	for _, rc := range receipts {
		if rc.cash {
			rep.ChangeGiven += rc.given - rc.total
		}
	}
	rep.Expected = rep.Float + rep.Sales[record.MethodCash].Amount - rep.Voids[record.MethodCash].Amount
	for _, mv := range rep.Moves {
		rep.Expected += mv.Amount
	}
	rep.Difference = rep.Counted - rep.Expected
	sort.SliceStable(rep.Moves, func(i, j int) bool { return rep.Moves[i].At.Before(rep.Moves[j].At) })
	return rep
}

// openShift is the open shift, read from the log once and then kept;
// sellMu must be held.
func (l *Ledger) openShift() (*Shift, error) {
	if l.shiftRead {
		return l.shift, nil
	}
	var open *Shift
	err := l.eachOwnMoney(func(r *record.Record) error {
		switch r.Kind {
		case record.KindShiftOpen:
			open = &Shift{Number: r.Money.Receipt, Opened: r.HLC.Time(), Seller: r.Actor, Till: r.Gate, Float: r.Money.Amount, Currency: r.Money.Currency}
		case record.KindShiftClose:
			open = nil
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	l.shift, l.shiftRead = open, true
	return open, nil
}

// CurrentShift returns the open shift, or ErrNoShift.
func (l *Ledger) CurrentShift() (Shift, error) {
	l.sellMu.Lock()
	defer l.sellMu.Unlock()
	s, err := l.openShift()
	if err != nil {
		return Shift{}, err
	}
	if s == nil {
		return Shift{}, ErrNoShift
	}
	return *s, nil
}

// appendShiftRecord signs and commits one shift record of this seller.
func (l *Ledger) appendShiftRecord(rec record.Record) error {
	var raw []byte
	err := l.update(func(txn *badger.Txn) error {
		h, err := readHead(txn, l.id.ID())
		if err != nil {
			return err
		}
		r := rec
		raw, err = l.appendOwn(txn, &r, &h)
		return err
	})
	if err != nil {
		return err
	}
	l.notifyRecords([][]byte{raw}, true)
	return nil
}

// OpenShift opens a shift with a float of cash in the till.
func (l *Ledger) OpenShift(ctx context.Context, seller, till string, float int64, currency string) (Shift, error) {
	if l.id.Cert.Role != ticket.RoleSeller {
		return Shift{}, ErrNotSeller
	}
	l.sellMu.Lock()
	defer l.sellMu.Unlock()
	if err := l.holdOpen(); err != nil {
		return Shift{}, err
	}
	defer l.closeMu.RUnlock()
	open, err := l.openShift()
	if err != nil {
		return Shift{}, err
	}
	if open != nil {
		return Shift{}, fmt.Errorf("%w: shift %d since %s", ErrShiftOpen, open.Number, open.Opened.Format(time.DateTime))
	}
	var last uint64
	if err := l.eachOwnMoney(func(r *record.Record) error {
		if r.Kind == record.KindShiftOpen {
			last = r.Money.Receipt
		}
		return nil
	}); err != nil {
		return Shift{}, err
	}
	rec := record.Record{Kind: record.KindShiftOpen, Gate: till, Actor: seller,
		Money: record.Money{Receipt: last + 1, Amount: float, Currency: currency, Method: record.MethodCash}}
	if err := l.appendShiftRecord(rec); err != nil {
		return Shift{}, fmt.Errorf("open shift: %w", err)
	}
	l.shiftRead = false // read again from the log, with the record's time
	s, err := l.openShift()
	if err != nil || s == nil {
		return Shift{}, fmt.Errorf("open shift: %v", err)
	}
	return *s, nil
}

// MoveCash records cash paid into (in) or taken out of the till, and why.
func (l *Ledger) MoveCash(ctx context.Context, in bool, amount int64, reason, staff string) error {
	if l.id.Cert.Role != ticket.RoleSeller {
		return ErrNotSeller
	}
	if amount <= 0 || reason == "" {
		return errors.New("cash move: a positive amount and a reason")
	}
	l.sellMu.Lock()
	defer l.sellMu.Unlock()
	if err := l.holdOpen(); err != nil {
		return err
	}
	defer l.closeMu.RUnlock()
	open, err := l.openShift()
	if err != nil {
		return err
	}
	if open == nil {
		return ErrNoShift
	}
	kind := record.KindCashOut
	if in {
		kind = record.KindCashIn
	}
	return l.appendShiftRecord(record.Record{Kind: kind, Gate: open.Till, Actor: staff, Reason: reason,
		Money: record.Money{Receipt: open.Number, Amount: amount, Currency: open.Currency, Method: record.MethodCash}})
}

// CloseShift closes the open shift with the cash counted (and, if given,
// the count by denomination, at most 64 bytes). A count that differs from
// what the records say the till should hold needs a note. It returns the
// shift's report.
func (l *Ledger) CloseShift(ctx context.Context, counted int64, count, note, staff string) (ShiftReport, error) {
	if l.id.Cert.Role != ticket.RoleSeller {
		return ShiftReport{}, ErrNotSeller
	}
	l.sellMu.Lock()
	defer l.sellMu.Unlock()
	if err := l.holdOpen(); err != nil {
		return ShiftReport{}, err
	}
	defer l.closeMu.RUnlock()
	open, err := l.openShift()
	if err != nil {
		return ShiftReport{}, err
	}
	if open == nil {
		return ShiftReport{}, ErrNoShift
	}
	recs, err := l.shiftRecords(open.Number)
	if err != nil {
		return ShiftReport{}, err
	}
	rep := report(recs)
	if counted < 0 {
		return ShiftReport{}, errors.New("close shift: a negative count")
	}
	if counted != rep.Expected && note == "" {
		return rep, fmt.Errorf("%w (expected %d, counted %d)", ErrNeedsNote, rep.Expected, counted)
	}
	rec := record.Record{Kind: record.KindShiftClose, Gate: open.Till, Actor: staff, Reason: count, Note: note,
		Money: record.Money{Receipt: open.Number, Amount: counted, Currency: open.Currency, Method: record.MethodCash}}
	if err := l.appendShiftRecord(rec); err != nil {
		return ShiftReport{}, fmt.Errorf("close shift: %w", err)
	}
	l.shift = nil
	return l.shiftReportLocked(open.Number)
}

// ShiftReport is the account of shift n, open or closed.
func (l *Ledger) ShiftReport(n uint64) (ShiftReport, error) {
	l.sellMu.Lock()
	defer l.sellMu.Unlock()
	return l.shiftReportLocked(n)
}

func (l *Ledger) shiftReportLocked(n uint64) (ShiftReport, error) {
	recs, err := l.shiftRecords(n)
	if err != nil {
		return ShiftReport{}, err
	}
	return report(recs), nil
}
