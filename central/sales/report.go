package sales

import (
	"fmt"
	"time"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/pricing"
)

// CashReport is a seller's shift as central accounts for it, computed from
// the shift's records by pricing.CloseShift. Amounts are minor units of
// Currency.
type CashReport struct {
	Device   string    `json:"device"`
	Day      string    `json:"day"` // the venue's local date the shift opened on
	Number   uint64    `json:"shift"`
	Seller   string    `json:"seller"`
	Till     string    `json:"till"`
	Currency string    `json:"currency"`
	Opened   time.Time `json:"opened"`
	Closed   time.Time `json:"closed,omitzero"` // zero while open
	Float    int64     `json:"float"`
	// Sales and Voids are by payment method.
	Sales       map[string]Totals `json:"sales"`
	Voids       map[string]Totals `json:"voids"`
	ChangeGiven int64             `json:"change_given"`
	CashIn      int64             `json:"cash_in"`
	CashOut     int64             `json:"cash_out"`
	Moves       []CashMove        `json:"cash_moves,omitempty"`
	// Expected is what the till should hold: the float, plus cash sales,
	// less cash voids, plus cash in, less cash out.
	Expected int64 `json:"expected"`
	// Counted, Count (by denomination, as the seller entered it),
	// Difference (counted less expected) and Note are the closing's; zero
	// while the shift is open.
	Counted    int64  `json:"counted"`
	Count      string `json:"count,omitempty"`
	Difference int64  `json:"difference"`
	Note       string `json:"note,omitempty"`
}

// Totals is what one payment method took or gave back.
type Totals struct {
	Tickets  int   `json:"tickets"`
	Receipts int   `json:"receipts"`
	Amount   int64 `json:"amount"`
}

// CashMove is cash paid into (positive) or taken out of the till.
type CashMove struct {
	At     time.Time `json:"at"`
	Amount int64     `json:"amount"`
	Reason string    `json:"reason"`
	Staff  string    `json:"staff"`
}

// Report computes the cash report of one shift from its lines, in log
// order, starting with its opening.
func Report(lines []store.SellerLine) (CashReport, error) {
	if len(lines) == 0 || record.Kind(lines[0].Kind) != record.KindShiftOpen {
		return CashReport{}, fmt.Errorf("shift report: the lines do not start with the shift's opening")
	}
	open := lines[0]
	cur, err := pricing.ParseCurrency(open.Currency)
	if err != nil {
		return CashReport{}, fmt.Errorf("shift report: %w", err)
	}
	rep := CashReport{Number: open.Receipt, Seller: open.Actor, Till: open.Till, Currency: open.Currency, Opened: open.At, Float: open.Amount,
		Sales: map[string]Totals{}, Voids: map[string]Totals{}}
	// One movement per receipt: the change is given on the whole receipt.
	type sum struct {
		kind          pricing.MovementKind
		method        string
		amount, given int64
		tickets       int
	}
	var order []receiptKey
	sums := map[receiptKey]*sum{}
	var moves []pricing.Movement
	counted := int64(0)
	for _, l := range lines {
		switch k := record.Kind(l.Kind); k {
		case record.KindSale, record.KindVoid:
			mk := pricing.Sale
			if k == record.KindVoid {
				mk = pricing.Void
			}
			key := receiptKey{origin: fmt.Sprint(mk), receipt: l.Receipt}
			s := sums[key]
			if s == nil {
				s = &sum{kind: mk, method: l.Method}
				sums[key] = s
				order = append(order, key)
			}
			s.amount += l.Amount
			s.given += l.Given
			s.tickets++
		case record.KindCashIn, record.KindCashOut:
			mk, sign := pricing.CashIn, int64(1)
			if k == record.KindCashOut {
				mk, sign = pricing.CashOut, -1
			}
			moves = append(moves, pricing.Movement{Kind: mk, Amount: pricing.New(l.Amount, cur), Reason: l.Reason})
			rep.Moves = append(rep.Moves, CashMove{At: l.At, Amount: sign * l.Amount, Reason: l.Reason, Staff: l.Actor})
		case record.KindShiftClose:
			rep.Closed, rep.Count, rep.Note = l.At, l.Reason, l.Note
			counted = l.Amount
		}
	}
	for _, key := range order {
		s := sums[key]
		m := pricing.Movement{Kind: s.kind, Method: s.method, Amount: pricing.New(s.amount, cur)}
		if s.kind == pricing.Sale && s.method == record.MethodCash && s.given > 0 {
			m.Given = pricing.New(s.given, cur)
		}
		moves = append(moves, m)
		totals := rep.Sales
		if s.kind == pricing.Void {
			totals = rep.Voids
		}
		t := totals[s.method]
		t.Tickets += s.tickets
		t.Receipts++
		t.Amount += s.amount
		totals[s.method] = t
	}
	sc, err := pricing.CloseShift(pricing.New(rep.Float, cur), moves, pricing.New(counted, cur))
	if err != nil {
		return CashReport{}, fmt.Errorf("shift %d: %w", rep.Number, err)
	}
	rep.ChangeGiven, rep.CashIn, rep.CashOut, rep.Expected = sc.ChangeGiven.Minor(), sc.CashIn.Minor(), sc.CashOut.Minor(), sc.Expected.Minor()
	if !rep.Closed.IsZero() {
		rep.Counted, rep.Difference = sc.Counted.Minor(), sc.Difference.Minor()
	}
	return rep, nil
}
