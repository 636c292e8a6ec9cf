package edge

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tixgate/tixgate/edge/receipt"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/pricing"
)

// The seller's till: shifts, cash moves, the closing report, and the
// documents a seller prints (receipts and shift reports as PDF).

// ShiftOpenRequest is the body of POST /api/v1/shift/open.
type ShiftOpenRequest struct {
	Float string `json:"float"` // the cash in the till at the start, "200.00"
	// Currency of the till; empty: the currency of the device's price lists.
	Currency string `json:"currency,omitempty"`
}

// CashRequest is the body of POST /api/v1/shift/cash.
type CashRequest struct {
	Direction string `json:"direction"` // "in" or "out"
	Amount    string `json:"amount"`
	Reason    string `json:"reason"`
}

// CountLine is how many of one note or coin were counted.
type CountLine struct {
	Value string `json:"value"` // "100.00"
	Count int64  `json:"count"`
}

// ShiftCloseRequest is the body of POST /api/v1/shift/close: the cash
// counted as a total or by denomination (one of the two), and a note when
// it differs from what the till should hold.
type ShiftCloseRequest struct {
	Counted string      `json:"counted,omitempty"`
	Count   []CountLine `json:"count,omitempty"`
	Note    string      `json:"note,omitempty"`
}

// MethodView is what one payment method took, in decimal form.
type MethodView struct {
	Tickets  int    `json:"tickets"`
	Receipts int    `json:"receipts"`
	Amount   string `json:"amount"`
}

// MoveView is one cash move.
type MoveView struct {
	At     time.Time `json:"at"`
	Amount string    `json:"amount"`
	Reason string    `json:"reason"`
	Staff  string    `json:"staff"`
}

// ShiftView is a shift's report in decimal form: the body of the shift
// endpoints. Its sums are the ledger's, recomputed from the records.
type ShiftView struct {
	Number      uint64                `json:"number"`
	Open        bool                  `json:"open"`
	Opened      time.Time             `json:"opened"`
	Closed      time.Time             `json:"closed,omitzero"`
	Seller      string                `json:"seller"`
	Till        string                `json:"till"`
	Currency    string                `json:"currency"`
	Float       string                `json:"float"`
	Sales       map[string]MethodView `json:"sales"`
	Voids       map[string]MethodView `json:"voids"`
	ChangeGiven string                `json:"change_given"`
	Moves       []MoveView            `json:"cash_moves"`
	Expected    string                `json:"expected"`
	Counted     string                `json:"counted,omitempty"`
	Count       string                `json:"count,omitempty"`
	Difference  string                `json:"difference,omitempty"`
	Note        string                `json:"note,omitempty"`
	// Denominations are the notes and coins a till of the currency counts,
	// largest first.
	Denominations []string `json:"denominations,omitempty"`
	ReportPDF     string   `json:"report_pdf"`
}

func shiftView(rep ledger.ShiftReport) (ShiftView, error) {
	cur, err := pricing.ParseCurrency(rep.Currency)
	if err != nil {
		return ShiftView{}, err
	}
	f := func(minor int64) string { return pricing.New(minor, cur).Format() }
	v := ShiftView{Number: rep.Number, Open: rep.Closed.IsZero(), Opened: rep.Opened, Closed: rep.Closed, Seller: rep.Seller, Till: rep.Till,
		Currency: rep.Currency, Float: f(rep.Float), Sales: map[string]MethodView{}, Voids: map[string]MethodView{},
		ChangeGiven: f(rep.ChangeGiven), Moves: []MoveView{}, Expected: f(rep.Expected), Note: rep.Note, Count: rep.Count,
		ReportPDF: fmt.Sprintf("/api/v1/shifts/%d/report.pdf", rep.Number)}
	for _, m := range []string{record.MethodCash, record.MethodCard} {
		s, vd := rep.Sales[m], rep.Voids[m]
		v.Sales[m] = MethodView{Tickets: s.Tickets, Receipts: s.Receipts, Amount: f(s.Amount)}
		v.Voids[m] = MethodView{Tickets: vd.Tickets, Receipts: vd.Receipts, Amount: f(vd.Amount)}
	}
	for _, mv := range rep.Moves {
		v.Moves = append(v.Moves, MoveView{At: mv.At, Amount: f(mv.Amount), Reason: mv.Reason, Staff: mv.Staff})
	}
	if !v.Open {
		v.Counted, v.Difference = f(rep.Counted), f(rep.Difference)
	}
	if ds, ok := pricing.Denominations(cur); ok {
		for _, d := range ds {
			v.Denominations = append(v.Denominations, d.Value.Format())
		}
	}
	return v, nil
}

// tillCurrency is the currency of the open shift, else of the device's
// price lists.
func (n *Node) tillCurrency(want string) (pricing.Currency, error) {
	if want != "" {
		return pricing.ParseCurrency(want)
	}
	if _, cur, err := n.openShift(); err == nil {
		return cur, nil
	}
	for _, e := range n.ledger.Events() {
		if pl, err := n.ledger.PriceList(e.ID); err == nil {
			return pricing.ParseCurrency(pl.Currency)
		}
	}
	return pricing.Currency{}, fmt.Errorf("%w: the till's currency is unknown, name it", ledger.ErrNoPriceList)
}

// report answers shift num's report.
func (n *Node) report(num uint64) (ShiftView, error) {
	rep, err := n.ledger.ShiftReport(num)
	if err != nil {
		return ShiftView{}, err
	}
	return shiftView(rep)
}

// openShift is the open shift and its till's currency.
func (n *Node) openShift() (ledger.Shift, pricing.Currency, error) {
	s, err := n.ledger.CurrentShift()
	if err != nil {
		return s, pricing.Currency{}, err
	}
	cur, err := pricing.ParseCurrency(s.Currency)
	return s, cur, err
}

func (n *Node) handleShift(r *http.Request) (any, error) {
	s, _, err := n.openShift()
	if err != nil {
		return nil, err
	}
	return n.report(s.Number)
}

func (n *Node) handleShiftByNumber(r *http.Request) (any, error) {
	num, err := shiftOf(r)
	if err != nil {
		return nil, err
	}
	return n.report(num)
}

func shiftOf(r *http.Request) (uint64, error) {
	num, err := strconv.ParseUint(r.PathValue("shift"), 10, 64)
	if err != nil {
		return 0, badRequest("shift %q: want its number", r.PathValue("shift"))
	}
	return num, nil
}

func (n *Node) handleShiftOpen(r *http.Request) (any, error) {
	var req ShiftOpenRequest
	if err := readBody(r, &req); err != nil {
		return nil, err
	}
	if err := mayKeepTill(r); err != nil {
		return nil, err
	}
	cur, err := n.tillCurrency(req.Currency)
	if err != nil {
		return nil, err
	}
	float, err := pricing.Parse(req.Float, cur)
	if err != nil || float.Sign() < 0 {
		return nil, badRequest("float %q: want a non-negative amount in %s (%v)", req.Float, cur.Code(), err)
	}
	s, err := n.ledger.OpenShift(r.Context(), staffName(r), n.ledger.Identity().Cert.Device, float.Minor(), cur.Code())
	if err != nil {
		return nil, err
	}
	n.log.Info("shift opened", "shift", s.Number, "seller", s.Seller, "float", s.Float, "currency", s.Currency)
	return n.report(s.Number)
}

func (n *Node) handleCash(r *http.Request) (any, error) {
	var req CashRequest
	if err := readBody(r, &req); err != nil {
		return nil, err
	}
	if err := mayKeepTill(r); err != nil {
		return nil, err
	}
	if req.Direction != "in" && req.Direction != "out" {
		return nil, badRequest(`direction %q: want "in" or "out"`, req.Direction)
	}
	if strings.TrimSpace(req.Reason) == "" || len(req.Reason) > record.MaxActorLen {
		return nil, badRequest("a cash move needs a reason of at most %d characters", record.MaxActorLen)
	}
	s, cur, err := n.openShift()
	if err != nil {
		return nil, err
	}
	m, err := pricing.Parse(req.Amount, cur)
	if err != nil || m.Sign() <= 0 {
		return nil, badRequest("amount %q: want a positive amount in %s (%v)", req.Amount, cur.Code(), err)
	}
	if err := n.ledger.MoveCash(r.Context(), req.Direction == "in", m.Minor(), req.Reason, staffName(r)); err != nil {
		return nil, err
	}
	n.log.Info("cash moved", "direction", req.Direction, "amount", m.Minor(), "reason", req.Reason, "staff", staffName(r))
	return n.report(s.Number)
}

// counted is a closing count: the total and, by denomination, the count
// as the record keeps it ("10000x3 5000x1", minor units).
func counted(req ShiftCloseRequest, cur pricing.Currency) (int64, string, error) {
	switch {
	case (req.Counted == "") == (len(req.Count) == 0):
		return 0, "", badRequest("give the cash counted as a total or by denomination, one of the two")
	case req.Counted != "":
		m, err := pricing.Parse(req.Counted, cur)
		if err != nil || m.Sign() < 0 {
			return 0, "", badRequest("counted %q: want a non-negative amount in %s (%v)", req.Counted, cur.Code(), err)
		}
		return m.Minor(), "", nil
	}
	var counts []pricing.Count
	var parts []string
	for _, c := range req.Count {
		v, err := pricing.Parse(c.Value, cur)
		if err != nil {
			return 0, "", badRequest("denomination %q: %v", c.Value, err)
		}
		if c.Count == 0 {
			continue
		}
		counts = append(counts, pricing.Count{Value: v, Count: c.Count})
		parts = append(parts, fmt.Sprintf("%dx%d", v.Minor(), c.Count))
	}
	total, err := pricing.Counted(cur, counts)
	if err != nil {
		return 0, "", badRequest("%v", err)
	}
	s := strings.Join(parts, " ")
	if len(s) > record.MaxActorLen {
		s = "" // the total is kept; the breakdown does not fit the record
	}
	return total.Minor(), s, nil
}

func (n *Node) handleShiftClose(r *http.Request) (any, error) {
	var req ShiftCloseRequest
	if err := readBody(r, &req); err != nil {
		return nil, err
	}
	if err := mayKeepTill(r); err != nil {
		return nil, err
	}
	if len(req.Note) > record.MaxNoteLen {
		return nil, badRequest("note longer than %d characters", record.MaxNoteLen)
	}
	_, cur, err := n.openShift()
	if err != nil {
		return nil, err
	}
	total, count, err := counted(req, cur)
	if err != nil {
		return nil, err
	}
	rep, err := n.ledger.CloseShift(r.Context(), total, count, strings.TrimSpace(req.Note), staffName(r))
	if errors.Is(err, ledger.ErrNeedsNote) {
		return nil, &apiError{http.StatusUnprocessableEntity, ReasonNoteRequired, fmt.Errorf("the count differs from what the till should hold (expected %s, counted %s): say why in the note",
			pricing.New(rep.Expected, cur).Format(), pricing.New(total, cur).Format())}
	}
	if err != nil {
		return nil, err
	}
	n.log.Info("shift closed", "shift", rep.Number, "expected", rep.Expected, "counted", rep.Counted, "difference", rep.Difference)
	return shiftView(rep)
}

// docLang is the language of a document: ?lang=, else the reader's.
func docLang(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == "zh" || l == "en" {
		return l
	}
	return langOf(r)
}

// venueName is the venue's name, empty before a manifest names it.
func (n *Node) venueName() string {
	v, _ := n.ledger.Venue()
	return v.Name
}

func (n *Node) writePDF(w http.ResponseWriter, name string, draw func(*bytes.Buffer) error) {
	var b bytes.Buffer
	if err := draw(&b); err != nil {
		n.log.Error("document could not be drawn", "document", name, "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error(), "reason": "no_document"})
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `inline; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b.Bytes())
}

// docText is how a document says things: in its language, amounts in a
// currency as its reader expects them.
type docText struct {
	lang string
	t    func(string, ...string) string
	f    func(minor int64) string
}

func (n *Node) docText(r *http.Request, currency string) (docText, error) {
	cur, err := pricing.ParseCurrency(currency)
	if err != nil {
		return docText{}, err
	}
	lang := docLang(r)
	return docText{lang: lang, t: n.ui.translate(lang), f: func(minor int64) string { return pricing.New(minor, cur).Display(lang) }}, nil
}

func (n *Node) handleReceiptPDF(w http.ResponseWriter, r *http.Request) {
	num, err := receiptOf(r)
	var sold ledger.Sold
	if err == nil {
		sold, err = n.ledger.Receipt(num)
	}
	var d docText
	if err == nil {
		d, err = n.docText(r, sold.Currency)
	}
	if err != nil {
		writeAPIError(w, err)
		return
	}
	lang, t, f := d.lang, d.t, d.f
	loc, venue := n.venueLocation(), n.venueName()
	doc := receipt.Receipt{Lang: lang, Number: sold.Receipt, Device: n.ledger.Identity().Cert.Device, Venue: venue, At: sold.At.In(loc),
		Event: n.eventName(sold.Event), Type: n.typeName(sold.Event, sold.Type), Voided: sold.Voided}
	for _, tk := range sold.Tickets {
		doc.Tickets = append(doc.Tickets, receipt.Line{Label: "#" + strconv.FormatUint(tk.Serial, 10), Value: f(tk.Amount)})
	}
	if sold.Offer != "" {
		doc.Totals = append(doc.Totals, receipt.Line{Label: t("sell.offer"), Value: n.offerNames(sold.Event, sold.Offer)})
	}
	doc.Totals = append(doc.Totals, receipt.Line{Label: t("sell.total"), Value: f(sold.Total), Bold: true})
	if sold.Method == record.MethodCash {
		doc.Totals = append(doc.Totals, receipt.Line{Label: t("sell.cash"), Value: f(sold.Given)},
			receipt.Line{Label: t("sell.change"), Value: f(sold.Change)})
	} else {
		doc.Totals = append(doc.Totals, receipt.Line{Label: t("sell.card"), Value: sold.Ref})
	}
	n.writePDF(w, fmt.Sprintf("receipt-%d.pdf", sold.Receipt), func(b *bytes.Buffer) error { return n.printer.Receipt(b, doc) })
}

func (n *Node) handleShiftPDF(w http.ResponseWriter, r *http.Request) {
	num, err := shiftOf(r)
	var rep ledger.ShiftReport
	if err == nil {
		rep, err = n.ledger.ShiftReport(num)
	}
	var d docText
	if err == nil {
		d, err = n.docText(r, rep.Currency)
	}
	if err != nil {
		writeAPIError(w, err)
		return
	}
	lang, t, f := d.lang, d.t, d.f
	loc := n.venueLocation()
	doc := receipt.ShiftReport{Lang: lang, Number: rep.Number, Device: n.ledger.Identity().Cert.Device, Seller: rep.Seller,
		Opened: rep.Opened.In(loc)}
	if !rep.Closed.IsZero() {
		doc.Closed = rep.Closed.In(loc)
	}
	doc.Lines = append(doc.Lines, receipt.Line{Label: t("shift.float"), Value: f(rep.Float)})
	for _, m := range []string{record.MethodCash, record.MethodCard} {
		s, v := rep.Sales[m], rep.Voids[m]
		doc.Lines = append(doc.Lines,
			receipt.Line{Label: t("shift.sales."+m, "n", strconv.Itoa(s.Tickets)), Value: f(s.Amount)},
			receipt.Line{Label: t("shift.voids."+m, "n", strconv.Itoa(v.Tickets)), Value: f(-v.Amount)})
	}
	doc.Lines = append(doc.Lines, receipt.Line{Label: t("shift.change_given"), Value: f(rep.ChangeGiven)},
		receipt.Line{Label: t("shift.expected"), Value: f(rep.Expected), Bold: true})
	if !rep.Closed.IsZero() {
		doc.Lines = append(doc.Lines, receipt.Line{Label: t("shift.counted"), Value: f(rep.Counted), Bold: true},
			receipt.Line{Label: t("shift.difference"), Value: f(rep.Difference)})
		if rep.Note != "" {
			doc.Lines = append(doc.Lines, receipt.Line{Label: t("shift.note"), Value: rep.Note})
		}
	}
	for _, mv := range rep.Moves {
		doc.Moves = append(doc.Moves, receipt.Line{Label: mv.At.In(loc).Format("15:04") + " " + mv.Reason, Value: f(mv.Amount)})
	}
	n.writePDF(w, fmt.Sprintf("shift-%d.pdf", rep.Number), func(b *bytes.Buffer) error { return n.printer.Shift(b, doc) })
}

func (n *Node) eventName(id uint64) string {
	for _, e := range n.ledger.Events() {
		if e.ID == id {
			return e.Name
		}
	}
	return strconv.FormatUint(id, 10)
}

func (n *Node) typeName(event, typ uint64) string {
	for _, t := range n.ledger.TicketTypes(event) {
		if t.ID == typ {
			return t.Name
		}
	}
	return strconv.FormatUint(typ, 10)
}

// offerNames names the offers a sale recorded by id ("ten,group"), by the
// event's price list; an id the list no longer has is said as it is.
func (n *Node) offerNames(event uint64, ids string) string {
	pl, _ := n.ledger.PriceList(event)
	var names []string
	for _, id := range strings.Split(ids, ",") {
		name := id
		for _, o := range pl.Offers {
			if o.ID == id && o.Name != "" {
				name = o.Name
			}
		}
		names = append(names, name)
	}
	return strings.Join(names, ", ")
}
