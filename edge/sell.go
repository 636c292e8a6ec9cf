package edge

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tixgate/tixgate/edge/deviceapi"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/pricing"
	"github.com/tixgate/tixgate/scanner"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/strict"
)

// Selling on a seller device: the ledger's price list becomes the pricing
// package's catalog and promotions, and pricing.Quote prices every sale,
// so a handheld charges what the box office would and no discount is
// computed anywhere else. What each ticket is recorded as sold for is what
// Quote allocated to it.

// Reason codes of the sales API's errors, in deviceapi.Error.Reason.
const (
	ReasonBadRequest     = "bad_request"
	ReasonNotSeller      = "not_seller"
	ReasonNoPriceList    = "no_price_list"
	ReasonNotPriced      = "not_priced"
	ReasonQuotaExhausted = "quota_exhausted"
	ReasonNoShift        = "no_shift"
	ReasonShiftOpen      = "shift_open"
	ReasonNoteRequired   = "note_required"
	ReasonCashShort      = "cash_short"
	ReasonCurrency       = "wrong_currency"
	ReasonNoReceipt      = "no_receipt"
	ReasonVoided         = "already_voided"
	ReasonNotInShift     = "not_in_shift"
	ReasonPromo          = "promo_refused"
)

// catalogOf turns a seller price list into what pricing.Quote reads: one
// list price per type, and each offer a promotion on each ticket, rounded
// half up as a till rounds.
func catalogOf(pl manifest.PriceList, names map[uint64]string) (pricing.Catalog, []pricing.Promotion, error) {
	cur, err := pricing.ParseCurrency(pl.Currency)
	if err != nil {
		return pricing.Catalog{}, nil, fmt.Errorf("price list of event %d: %w", pl.Event, err)
	}
	var cat pricing.Catalog
	for _, p := range pl.Prices {
		cat.Types = append(cat.Types, pricing.TicketType{ID: pricing.TypeID(p.Type), Name: names[p.Type], Currency: cur,
			Prices: []pricing.PriceRule{{Name: "list", Price: pricing.New(p.Amount, cur)}}})
	}
	promos := make([]pricing.Promotion, 0, len(pl.Offers))
	for _, o := range pl.Offers {
		p := pricing.Promotion{ID: o.ID, Name: o.Name, Code: o.Code, Off: pricing.Rate(o.OffBP), Rounding: pricing.RoundHalfUp,
			Scope: pricing.PerItem, MinQuantity: o.MinQuantity, From: o.From, Until: o.Until}
		if o.Amount != 0 {
			p.Amount = pricing.New(o.Amount, cur)
		}
		for _, t := range o.Types {
			p.Types = append(p.Types, pricing.TypeID(t))
		}
		promos = append(promos, p)
	}
	return cat, promos, nil
}

// apiError is an error of the sales API: a status, a reason code and a
// message.
type apiError struct {
	status int
	reason string
	err    error
}

func (e *apiError) Error() string { return e.err.Error() }
func (e *apiError) Unwrap() error { return e.err }

func badRequest(format string, args ...any) error {
	return &apiError{http.StatusBadRequest, ReasonBadRequest, fmt.Errorf(format, args...)}
}

// classify gives a ledger error its status and reason.
func classify(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	for _, c := range []struct {
		target error
		status int
		reason string
	}{
		{ledger.ErrNotSeller, http.StatusForbidden, ReasonNotSeller},
		{ledger.ErrNoPriceList, http.StatusConflict, ReasonNoPriceList},
		{ledger.ErrQuotaExhausted, http.StatusConflict, ReasonQuotaExhausted},
		{ledger.ErrNoShift, http.StatusConflict, ReasonNoShift},
		{ledger.ErrShiftOpen, http.StatusConflict, ReasonShiftOpen},
		{ledger.ErrNeedsNote, http.StatusUnprocessableEntity, ReasonNoteRequired},
		{ledger.ErrNoReceipt, http.StatusNotFound, ReasonNoReceipt},
		{ledger.ErrNoSuchShift, http.StatusNotFound, ReasonNoReceipt},
		{ledger.ErrVoided, http.StatusConflict, ReasonVoided},
		{ledger.ErrNotInShift, http.StatusConflict, ReasonNotInShift},
		{pricing.ErrShort, http.StatusUnprocessableEntity, ReasonCashShort},
		{ledger.ErrClosed, http.StatusServiceUnavailable, "closed"},
	} {
		if errors.Is(err, c.target) {
			return &apiError{c.status, c.reason, err}
		}
	}
	return &apiError{http.StatusBadRequest, ReasonBadRequest, err}
}

func writeAPIError(w http.ResponseWriter, err error) {
	e := classify(err)
	writeJSON(w, e.status, deviceapi.Error{Error: e.err.Error(), Reason: e.reason})
}

// salesCall serves a sales or till call whose handler returns its answer
// or an error: the answer as JSON, the error with its status and reason
// (a refused state change logged as refused, as why).
func (n *Node) salesCall(why string, h func(r *http.Request) (any, error)) http.HandlerFunc {
	return n.auth(func(w http.ResponseWriter, r *http.Request) {
		v, err := h(r)
		if err != nil {
			if stateChanging(r.Method) {
				n.refuse(r, why, err.Error())
			}
			writeAPIError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

// readBody reads a JSON body strictly (see decodeBody) into v.
func readBody(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return &apiError{http.StatusUnsupportedMediaType, ReasonBadRequest, errors.New("send application/json")}
	}
	if err := strict.ReadJSON(r.Body, maxBody, v); err != nil {
		if errors.Is(err, strict.ErrTooLarge) {
			return &apiError{http.StatusRequestEntityTooLarge, ReasonBadRequest, err}
		}
		return badRequest("bad request body: %v", err)
	}
	return nil
}

// priced is a quote for one sale.
type priced struct {
	cur     pricing.Currency
	unit    int64   // the list price of one ticket
	amounts []int64 // what each ticket costs after offers
	quote   pricing.Quotation
	total   pricing.Total
}

// price quotes qty tickets of a type of an event, with an optional code.
func (n *Node) price(event, typ uint64, qty int, promo string) (priced, error) {
	pl, err := n.ledger.PriceList(event)
	if err != nil {
		return priced{}, err
	}
	names := map[uint64]string{}
	for _, t := range n.ledger.TicketTypes(event) {
		names[t.ID] = t.Name
	}
	cat, promos, err := catalogOf(pl, names)
	if err != nil {
		return priced{}, err
	}
	cart := pricing.Cart{Items: []pricing.Item{{Type: pricing.TypeID(typ), Quantity: qty}}}
	if promo = strings.TrimSpace(promo); promo != "" {
		cart.Codes = []string{promo}
	}
	q, err := pricing.Quote(cart, cat, promos, n.cfg.Clock.Now())
	if err != nil {
		return priced{}, fmt.Errorf("price list of event %d: %w", event, err)
	}
	if !q.OK() {
		r := q.Refused[0]
		reason := ReasonNotPriced
		if r.Code != "" {
			reason = ReasonPromo
		}
		return priced{}, &apiError{http.StatusUnprocessableEntity, reason, fmt.Errorf("%s: %s", r.Reason, r.Detail)}
	}
	cur, _ := pricing.ParseCurrency(pl.Currency)
	p := priced{cur: cur, quote: q}
	p.total, _ = q.Total(cur)
	for _, l := range q.Lines {
		p.unit = l.Unit.Minor()
		for _, t := range l.Tickets {
			p.amounts = append(p.amounts, t.Paid.Minor())
		}
	}
	if len(p.amounts) != qty {
		return priced{}, fmt.Errorf("quote priced %d tickets of %d", len(p.amounts), qty)
	}
	return p, nil
}

// Quote is the body of GET /api/v1/quote: what a sale would cost.
type Quote struct {
	Event    uint64   `json:"event"`
	Type     uint64   `json:"type"`
	Quantity int      `json:"quantity"`
	Currency string   `json:"currency"`
	Unit     string   `json:"unit"`
	Subtotal string   `json:"subtotal"`
	Discount string   `json:"discount"`
	Total    string   `json:"total"`
	Offers   []string `json:"offers,omitempty"` // the names of the offers applied
	// Display is the total as the reader expects it ("¥256.00").
	Display string `json:"display"`
	// With ?given=: the change due (ChangeDisplay as the reader expects
	// it), or Short when the cash given does not cover the total.
	Change        string `json:"change,omitempty"`
	ChangeDisplay string `json:"change_display,omitempty"`
	Short         bool   `json:"short,omitempty"`
}

func (n *Node) quoteOf(r *http.Request, event, typ uint64, qty int, p priced) Quote {
	q := Quote{Event: event, Type: typ, Quantity: qty, Currency: p.cur.Code(), Unit: pricing.New(p.unit, p.cur).Format(),
		Subtotal: p.total.Subtotal.Format(), Discount: p.total.Discount.Format(), Total: p.total.Total.Format(),
		Display: p.total.Total.Display(langOf(r))}
	for _, l := range p.quote.Lines {
		for _, d := range l.Discounts {
			if !slices.Contains(q.Offers, d.Name) {
				q.Offers = append(q.Offers, d.Name)
			}
		}
	}
	return q
}

func (n *Node) handleQuote(r *http.Request) (any, error) {
	v := r.URL.Query()
	event, err1 := strconv.ParseUint(v.Get("event"), 10, 64)
	typ, err2 := strconv.ParseUint(v.Get("type"), 10, 64)
	qty, err3 := strconv.Atoi(v.Get("quantity"))
	if err := errors.Join(err1, err2, err3); err != nil || qty < 1 || qty > ledger.MaxTicketsPerSale {
		return nil, badRequest("want ?event=N&type=N&quantity=1..%d[&promo=CODE][&given=AMOUNT]", ledger.MaxTicketsPerSale)
	}
	p, err := n.price(event, typ, qty, v.Get("promo"))
	if err != nil {
		return nil, err
	}
	q := n.quoteOf(r, event, typ, qty, p)
	if g := v.Get("given"); g != "" {
		given, err := pricing.Parse(g, p.cur)
		if err != nil {
			return nil, badRequest("cash given: %v", err)
		}
		if ch, err := pricing.Change(p.total.Total, given); err != nil {
			q.Short = true
		} else {
			q.Change, q.ChangeDisplay = ch.Format(), ch.Display(langOf(r))
		}
	}
	return q, nil
}

// Payment is how a sale is paid.
type Payment struct {
	Method string `json:"method"`          // "cash" or "card"
	Given  string `json:"given,omitempty"` // cash: the amount handed over, "100.00"
	Ref    string `json:"ref,omitempty"`   // card: the standalone terminal's reference
}

// SaleRequest is the body of POST /api/v1/sales.
type SaleRequest struct {
	Event    uint64  `json:"event"`
	Type     uint64  `json:"type"`
	Quantity int     `json:"quantity"`
	Payment  Payment `json:"payment"`
	Promo    string  `json:"promo,omitempty"`
	// Nonce makes the request idempotent: a retry with it gets the first
	// sale and records nothing new, across a restart too (the nonce is in
	// the sale's records). Up to 64 characters.
	Nonce string `json:"nonce,omitempty"`
}

// SaleTicket is one ticket of a sale.
type SaleTicket struct {
	Serial uint64 `json:"serial"`
	Code   string `json:"code"`
	Amount string `json:"amount"`
	Record string `json:"record"`
}

// SaleAnswer is a sale as recorded: the answer of POST /api/v1/sales and
// of GET /api/v1/sales/{receipt}.
type SaleAnswer struct {
	Receipt  uint64       `json:"receipt"`
	At       time.Time    `json:"at"`
	Event    uint64       `json:"event"`
	Type     uint64       `json:"type"`
	Tickets  []SaleTicket `json:"tickets"`
	Currency string       `json:"currency"`
	Total    string       `json:"total"`
	Method   string       `json:"method"`
	Given    string       `json:"given,omitempty"`
	Change   string       `json:"change,omitempty"`
	Ref      string       `json:"ref,omitempty"`
	Offer    string       `json:"offer,omitempty"` // the ids of the offers applied
	Seller   string       `json:"seller"`
	Voided   bool         `json:"voided"`
	// Repeat: this answers a retry of an earlier request with the same
	// nonce; nothing new was recorded.
	Repeat bool `json:"repeat,omitempty"`
	// TotalDisplay and ChangeDisplay are the amounts as the reader
	// expects them ("¥256.00").
	TotalDisplay  string `json:"total_display"`
	ChangeDisplay string `json:"change_display,omitempty"`
	// ReceiptPDF is the path of the receipt as a PDF (add ?lang=zh|en).
	ReceiptPDF string `json:"receipt_pdf"`
}

func answerOf(r *http.Request, s ledger.Sold) (SaleAnswer, error) {
	cur, err := pricing.ParseCurrency(s.Currency)
	if err != nil {
		return SaleAnswer{}, err
	}
	lang := langOf(r)
	f := func(minor int64) string { return pricing.New(minor, cur).Format() }
	a := SaleAnswer{Receipt: s.Receipt, At: s.At, Event: s.Event, Type: s.Type, Currency: s.Currency, Total: f(s.Total),
		Method: s.Method, Ref: s.Ref, Offer: s.Offer, Seller: s.Seller, Voided: s.Voided,
		ReceiptPDF: fmt.Sprintf("/api/v1/sales/%d/receipt.pdf", s.Receipt)}
	a.TotalDisplay = pricing.New(s.Total, cur).Display(lang)
	if s.Method == record.MethodCash {
		a.Given, a.Change = f(s.Given), f(s.Change)
		a.ChangeDisplay = pricing.New(s.Change, cur).Display(lang)
	}
	for _, t := range s.Tickets {
		a.Tickets = append(a.Tickets, SaleTicket{Serial: t.Serial, Code: t.Code, Amount: f(t.Amount), Record: t.Record})
	}
	return a, nil
}

// saleNonces maps the nonces of this device's sales to their receipts,
// read from the ledger once; sales with a nonce run one at a time under
// mu (the ledger sells one at a time anyway).
type saleNonces struct {
	mu       sync.Mutex
	receipts map[string]uint64
}

// staffName is who sells: the staff member, or "api" with the bearer token.
func staffName(r *http.Request) string {
	if s := staffOf(r); s != nil {
		return s.Name
	}
	return "api"
}

// mayKeepTill refuses a staff session whose role does not sell.
func mayKeepTill(r *http.Request) error {
	if s := staffOf(r); s != nil && s.Role != RoleSeller && s.Role != RoleSupervisor {
		return &apiError{http.StatusForbidden, ReasonNotSeller, fmt.Errorf("staff role %s does not sell: log in as a seller", s.Role)}
	}
	return nil
}

func (n *Node) handleSale(r *http.Request) (any, error) {
	var req SaleRequest
	if err := readBody(r, &req); err != nil {
		return nil, err
	}
	return n.sell(r, req)
}

// sell checks, prices and records a sale, once per nonce.
func (n *Node) sell(r *http.Request, req SaleRequest) (SaleAnswer, error) {
	if err := mayKeepTill(r); err != nil {
		return SaleAnswer{}, err
	}
	pay := req.Payment
	switch {
	case req.Quantity < 1 || req.Quantity > ledger.MaxTicketsPerSale:
		return SaleAnswer{}, badRequest("quantity %d: sell 1 to %d tickets at once", req.Quantity, ledger.MaxTicketsPerSale)
	case pay.Method != record.MethodCash && pay.Method != record.MethodCard:
		return SaleAnswer{}, badRequest(`payment method %q: want "cash" or "card"`, pay.Method)
	case pay.Method == record.MethodCash && (pay.Given == "" || pay.Ref != ""):
		return SaleAnswer{}, badRequest("a cash payment needs the amount given, and no card reference")
	case pay.Method == record.MethodCard && (pay.Ref == "" || pay.Given != ""):
		return SaleAnswer{}, badRequest("a card payment needs the terminal's reference, and no cash given")
	case len(pay.Ref) > record.MaxActorLen:
		return SaleAnswer{}, badRequest("card reference longer than %d characters", record.MaxActorLen)
	case len(req.Nonce) > maxNonce || len(req.Promo) > maxNonce:
		return SaleAnswer{}, badRequest("nonce or promo code longer than %d characters", maxNonce)
	}
	do := func() (ledger.Sold, error) {
		p, err := n.price(req.Event, req.Type, req.Quantity, req.Promo)
		if err != nil {
			return ledger.Sold{}, err
		}
		var given int64
		if pay.Method == record.MethodCash {
			g, err := pricing.Parse(pay.Given, p.cur)
			if err != nil {
				return ledger.Sold{}, badRequest("cash given: %v", err)
			}
			if _, err := pricing.Change(p.total.Total, g); err != nil {
				return ledger.Sold{}, err
			}
			given = g.Minor()
		}
		offer := strings.Join(p.quote.Applied, ",")
		if len(offer) > record.MaxActorLen {
			offer = offer[:record.MaxActorLen]
		}
		sold, err := n.ledger.Sell(r.Context(), ledger.Sale{Event: req.Event, Type: req.Type, Quantity: req.Quantity, Price: p.unit,
			Amounts: p.amounts, Currency: p.cur.Code(), Method: pay.Method, Given: given, Ref: pay.Ref, Offer: offer, Nonce: req.Nonce,
			Seller: staffName(r), Till: n.ledger.Identity().Cert.Device})
		if err == nil {
			n.log.Info("sale", "receipt", sold.Receipt, "event", sold.Event, "type", sold.Type, "tickets", len(sold.Tickets),
				"total", sold.Total, "currency", sold.Currency, "method", sold.Method, "seller", sold.Seller)
		}
		return sold, err
	}
	if req.Nonce == "" {
		sold, err := do()
		if err != nil {
			return SaleAnswer{}, err
		}
		return answerOf(r, sold)
	}
	sn := &n.saleNonces
	sn.mu.Lock()
	defer sn.mu.Unlock()
	if sn.receipts == nil {
		m, err := n.ledger.SaleNonces()
		if err != nil {
			return SaleAnswer{}, err
		}
		sn.receipts = m
	}
	if receipt, ok := sn.receipts[req.Nonce]; ok {
		sold, err := n.ledger.Receipt(receipt)
		if err != nil {
			return SaleAnswer{}, err
		}
		a, err := answerOf(r, sold)
		a.Repeat = true
		return a, err
	}
	sold, err := do()
	if err != nil {
		return SaleAnswer{}, err
	}
	sn.receipts[req.Nonce] = sold.Receipt
	return answerOf(r, sold)
}

func receiptOf(r *http.Request) (uint64, error) {
	n, err := strconv.ParseUint(r.PathValue("receipt"), 10, 64)
	if err != nil || n == 0 {
		return 0, badRequest("receipt %q: want its number", r.PathValue("receipt"))
	}
	return n, nil
}

// sale answers receipt num as its records tell it.
func (n *Node) sale(r *http.Request, num uint64) (SaleAnswer, error) {
	sold, err := n.ledger.Receipt(num)
	if err != nil {
		return SaleAnswer{}, err
	}
	return answerOf(r, sold)
}

func (n *Node) handleGetSale(r *http.Request) (any, error) {
	num, err := receiptOf(r)
	if err != nil {
		return nil, err
	}
	return n.sale(r, num)
}

// VoidRequest is the body of POST /api/v1/sales/{receipt}/void.
type VoidRequest struct {
	Reason string `json:"reason"`
}

func (n *Node) handleVoid(r *http.Request) (any, error) {
	var req VoidRequest
	if err := readBody(r, &req); err != nil {
		return nil, err
	}
	num, err := receiptOf(r)
	if err != nil {
		return nil, err
	}
	if err := mayKeepTill(r); err != nil {
		return nil, err
	}
	if strings.TrimSpace(req.Reason) == "" {
		return nil, badRequest("a void needs a reason")
	}
	if _, err := n.ledger.Void(r.Context(), num, req.Reason, staffName(r)); err != nil {
		return nil, err
	}
	n.log.Warn("void", "receipt", num, "reason", req.Reason, "staff", staffName(r))
	return n.sale(r, num)
}

// isSeller reports whether the device sells.
func (n *Node) isSeller() bool {
	id := n.ledger.Identity()
	return id != nil && id.Cert.Role == ticket.RoleSeller
}

// qrSize is the side of a ticket's QR image in pixels: large enough for a
// phone camera to read it off the seller's screen.
const qrSize = 480

// handleQR renders a ticket of a sale as a QR code (PNG), for the buyer to
// photograph off the seller's screen.
func (n *Node) handleQR(w http.ResponseWriter, r *http.Request) {
	num, err := receiptOf(r)
	serial, serr := strconv.ParseUint(r.PathValue("serial"), 10, 64)
	if err == nil && serr != nil {
		err = badRequest("serial %q: want a number", r.PathValue("serial"))
	}
	var sold ledger.Sold
	if err == nil {
		sold, err = n.ledger.Receipt(num)
	}
	if err != nil {
		writeAPIError(w, err)
		return
	}
	for _, t := range sold.Tickets {
		if t.Serial == serial {
			png, err := scanner.RenderPNG(t.Code, qrSize)
			if err != nil {
				writeAPIError(w, err)
				return
			}
			w.Header().Set("Content-Type", "image/png")
			w.Header().Set("Cache-Control", "no-store")
			w.Write(png)
			return
		}
	}
	writeAPIError(w, &apiError{http.StatusNotFound, ReasonNoReceipt, fmt.Errorf("receipt %d has no ticket %d", num, serial)})
}

// QuotaLine is what this device may sell of one type of one event: the
// body of GET /api/v1/quotas is a list of them.
type QuotaLine struct {
	Event     uint64         `json:"event"`
	EventName string         `json:"event_name"`
	Type      uint64         `json:"type"`
	TypeName  string         `json:"type_name"`
	Left      uint64         `json:"left"`
	Blocks    []ledger.Quota `json:"blocks"`
	// Currency and Price are the list price of one ticket; empty when
	// central sent no price list (the type cannot be sold yet).
	Currency string           `json:"currency,omitempty"`
	Price    string           `json:"price,omitempty"`
	Display  string           `json:"display,omitempty"`
	Offers   []manifest.Offer `json:"offers,omitempty"`
}

func (n *Node) quotaLines(lang string) ([]QuotaLine, error) {
	events := n.ledger.Events()
	slices.SortFunc(events, func(a, b manifest.Event) int { return a.Starts.Compare(b.Starts) })
	out := []QuotaLine{}
	for _, e := range events {
		pl, plErr := n.ledger.PriceList(e.ID)
		for _, t := range n.ledger.TicketTypes(e.ID) {
			qs, err := n.ledger.Quotas(e.ID, t.ID)
			if err != nil {
				return nil, err
			}
			if len(qs) == 0 {
				continue
			}
			l := QuotaLine{Event: e.ID, EventName: e.Name, Type: t.ID, TypeName: t.Name, Blocks: qs}
			for _, q := range qs {
				l.Left += q.Left
			}
			if plErr == nil {
				if amount, ok := pl.PriceOf(t.ID); ok {
					if cur, err := pricing.ParseCurrency(pl.Currency); err == nil {
						m := pricing.New(amount, cur)
						l.Currency, l.Price, l.Display = cur.Code(), m.Format(), m.Display(lang)
					}
					for _, o := range pl.Offers {
						if len(o.Types) == 0 || slices.Contains(o.Types, t.ID) {
							o.Code = "" // a code is for the buyer to say
							l.Offers = append(l.Offers, o)
						}
					}
				}
			}
			out = append(out, l)
		}
	}
	return out, nil
}

func (n *Node) handleQuotas(r *http.Request) (any, error) { return n.quotaLines(langOf(r)) }
