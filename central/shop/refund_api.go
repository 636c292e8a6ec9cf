package shop

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tixgate/tixgate/pricing"
)

// refundRoutes are the refund API's routes: a buyer's (or the box
// office's) quote and refund of an order's tickets, and an event's rules.
func (s *Shop) refundRoutes() []route {
	return []route{
		{"GET", "orders/{id}/refund", append([]string{roleBoxOffice}, BuyerRoles...), s.apiRefundQuote},
		{"POST", "orders/{id}/refund", append([]string{roleBoxOffice}, BuyerRoles...), s.apiRefund},
		{"GET", "orders/{id}/exchange", append([]string{roleBoxOffice}, BuyerRoles...), s.apiExchangeQuote},
		{"POST", "orders/{id}/exchange", append([]string{roleBoxOffice}, BuyerRoles...), s.apiExchange},
		{"GET", "events/{event}/refund-policy", public, s.apiRefundPolicy},
		{"PUT", "events/{event}/refund-policy", staffRoles, s.apiPutRefundPolicy},
	}
}

// RefundQuoteView is a refund quote as the API answers it.
type RefundQuoteView struct {
	Order  int64               `json:"order"`
	Quote  pricing.RefundQuote `json:"quote"`
	Back   pricing.Money       `json:"back"`
	Fee    pricing.Money       `json:"fee"`
	Method string              `json:"method"`
	// Used lists the tickets asked for that a gate admitted.
	Used []uint64 `json:"used,omitempty"`
	OK   bool     `json:"ok"`
}

func quoteView(p RefundPlan) RefundQuoteView {
	back, fee := p.Total()
	return RefundQuoteView{Order: p.Order.ID, Quote: p.Quote, Back: back, Fee: fee, Method: p.Method, Used: p.Used, OK: p.OK()}
}

func (s *Shop) apiRefundQuote(w http.ResponseWriter, r *http.Request, c caller) {
	o, _, ok := s.order(w, r, c)
	if !ok {
		return
	}
	var serials []uint64
	for _, v := range r.URL.Query()["ticket"] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 || len(serials) == maxTickets {
			fail(w, http.StatusBadRequest, "bad_request", "ticket: want up to 50 ticket numbers")
			return
		}
		serials = append(serials, n)
	}
	p, err := s.PlanRefund(r.Context(), RefundAsk{Order: o.ID, Serials: serials})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, quoteView(p))
}

type refundRequest struct {
	Tickets []uint64 `json:"tickets,omitempty"` // empty: every valid ticket
	Reason  string   `json:"reason,omitempty"`  // the box office must give one
	// Supervisor approves the refund of tickets scanned in: only with an
	// ops API token of the admin scope.
	Supervisor bool `json:"supervisor,omitempty"`
}

// RefundMade is a refund made, as the API answers it.
type RefundMade struct {
	ID      int64         `json:"id"`
	Order   int64         `json:"order"`
	Tickets []uint64      `json:"tickets"`
	Back    pricing.Money `json:"back"`
	Fee     pricing.Money `json:"fee"`
	State   string        `json:"state"`
	Actor   string        `json:"actor"`
	Reason  string        `json:"reason"`
}

func (s *Shop) apiRefund(w http.ResponseWriter, r *http.Request, c caller) {
	var req refundRequest
	if !readJSON(w, r, &req) {
		return
	}
	o, _, ok := s.order(w, r, c)
	if !ok {
		return
	}
	if len(req.Tickets) > maxTickets {
		fail(w, http.StatusBadRequest, "bad_request", "tickets: at most 50")
		return
	}
	ask := RefundAsk{Order: o.ID, Serials: req.Tickets, Reason: req.Reason, Key: r.Header.Get("Idempotency-Key")}
	if c.role == roleBoxOffice {
		ask.Actor = c.staff
		if req.Supervisor {
			if !s.adminToken(r) {
				fail(w, http.StatusForbidden, "forbidden", "a supervisor's approval needs an ops API token with the admin scope")
				return
			}
			ask.Supervisor = true
		}
	} else if req.Supervisor {
		fail(w, http.StatusForbidden, "forbidden", "a buyer cannot approve as a supervisor")
		return
	}
	res, err := s.Refund(r.Context(), ask)
	var re *RefundRefusedError
	if errors.As(err, &re) {
		writeJSON(w, http.StatusConflict, apiError{Code: "refund_refused", Message: err.Error(), Refused: re.Refused})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c2 := mustCurrency(res.Refund.Currency)
	v := RefundMade{ID: res.Refund.ID, Order: res.Refund.Order, Back: pricing.New(res.Refund.Amount, c2), Fee: pricing.New(res.Refund.Fee, c2),
		State: res.Refund.State, Actor: res.Refund.Actor, Reason: res.Refund.Reason}
	for _, t := range res.Refund.Tickets {
		v.Tickets = append(v.Tickets, t.Serial)
	}
	writeJSON(w, http.StatusOK, v)
}

// adminToken reports whether the request's ops API token has the admin
// scope.
func (s *Shop) adminToken(r *http.Request) bool {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	t, err := s.db.APITokenByHash(r.Context(), sum[:])
	return err == nil && slices.Contains(t.Scopes, "admin")
}

func eventOf(w http.ResponseWriter, r *http.Request) (uint64, bool) {
	ev, err := strconv.ParseUint(r.PathValue("event"), 10, 64)
	if err != nil || ev == 0 {
		fail(w, http.StatusBadRequest, "bad_request", "event: want a positive number")
		return 0, false
	}
	return ev, true
}

// PolicyDoc is an event's refund rules as the API reads and writes
// them: hours rather than nanoseconds, fees as percentages ("20%").
type PolicyDoc struct {
	// FreeWithinHours waives the fee this many hours after the purchase.
	FreeWithinHours int64 `json:"free_within_hours"`
	// Ladder is the steps, longest first; nearer the start than the last,
	// no refunds.
	Ladder     []PolicyStep `json:"ladder"`
	RefundUsed bool         `json:"refund_used"`
	// ExchangeFee is charged per ticket exchanged; absent: free.
	ExchangeFee *pricing.Money `json:"exchange_fee,omitempty"`
}

// PolicyStep is one rung: Fee while the start is at least HoursBefore away.
type PolicyStep struct {
	HoursBefore int64  `json:"hours_before"`
	Fee         string `json:"fee"`
}

func policyDoc(p pricing.RefundPolicy) PolicyDoc {
	d := PolicyDoc{FreeWithinHours: int64(p.FreeWithin / time.Hour), RefundUsed: p.RefundUsed, Ladder: []PolicyStep{}}
	for _, st := range p.Ladder {
		d.Ladder = append(d.Ladder, PolicyStep{HoursBefore: int64(st.Before / time.Hour), Fee: st.Fee.String()})
	}
	if !p.ExchangeFee.IsZero() {
		f := p.ExchangeFee
		d.ExchangeFee = &f
	}
	return d
}

func (d PolicyDoc) policy() (pricing.RefundPolicy, error) {
	if d.FreeWithinHours < 0 || d.FreeWithinHours > 24*3650 {
		return pricing.RefundPolicy{}, fmt.Errorf("free_within_hours %d: want 0 to 87600: %w", d.FreeWithinHours, ErrBadRequest)
	}
	p := pricing.RefundPolicy{FreeWithin: time.Duration(d.FreeWithinHours) * time.Hour, RefundUsed: d.RefundUsed, Rounding: pricing.RoundHalfEven}
	if len(d.Ladder) > 20 {
		return p, fmt.Errorf("ladder: at most 20 steps: %w", ErrBadRequest)
	}
	for i, st := range d.Ladder {
		fee, err := pricing.ParseRate(st.Fee)
		if err != nil || st.HoursBefore < 0 || st.HoursBefore > 24*3650 {
			return p, fmt.Errorf("ladder step %d: want hours_before 0 to 87600 and a fee such as \"20%%\": %w", i, ErrBadRequest)
		}
		p.Ladder = append(p.Ladder, pricing.RefundStep{Before: time.Duration(st.HoursBefore) * time.Hour, Fee: fee})
	}
	if d.ExchangeFee != nil {
		p.ExchangeFee = *d.ExchangeFee
	}
	return p, nil
}

func (s *Shop) apiRefundPolicy(w http.ResponseWriter, r *http.Request, c caller) {
	ev, ok := eventOf(w, r)
	if !ok {
		return
	}
	if _, err := s.db.Event(r.Context(), ev); err != nil {
		fail(w, http.StatusNotFound, "not_found", "event "+strconv.FormatUint(ev, 10)+": not found")
		return
	}
	p, err := s.RefundPolicy(r.Context(), ev)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, policyDoc(p))
}

func (s *Shop) apiPutRefundPolicy(w http.ResponseWriter, r *http.Request, c caller) {
	ev, ok := eventOf(w, r)
	if !ok {
		return
	}
	var d PolicyDoc
	if !readJSON(w, r, &d) {
		return
	}
	p, err := d.policy()
	if err == nil {
		err = s.SetRefundPolicy(r.Context(), c.staff, ev, p)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, policyDoc(p))
}

func (s *Shop) apiExchangeQuote(w http.ResponseWriter, r *http.Request, c caller) {
	o, _, ok := s.order(w, r, c)
	if !ok {
		return
	}
	serial, err1 := strconv.ParseUint(r.URL.Query().Get("ticket"), 10, 64)
	to, err2 := strconv.ParseUint(r.URL.Query().Get("to"), 10, 64)
	if err1 != nil || err2 != nil {
		fail(w, http.StatusBadRequest, "bad_request", "want ticket=SERIAL&to=TYPE")
		return
	}
	p, err := s.PlanExchange(r.Context(), ExchangeAsk{Order: o.ID, Serial: serial, To: to})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"order": o.ID, "quote": p.Quote, "left": p.Left, "ok": p.OK()})
}

type exchangeRequest struct {
	Ticket uint64 `json:"ticket"`
	To     uint64 `json:"to"`
	Reason string `json:"reason,omitempty"`
	// PaidAtCounter: staff took the difference at the counter.
	PaidAtCounter bool `json:"paid_at_counter,omitempty"`
}

func (s *Shop) apiExchange(w http.ResponseWriter, r *http.Request, c caller) {
	var req exchangeRequest
	if !readJSON(w, r, &req) {
		return
	}
	o, _, ok := s.order(w, r, c)
	if !ok {
		return
	}
	ask := ExchangeAsk{Order: o.ID, Serial: req.Ticket, To: req.To, Reason: req.Reason, Key: r.Header.Get("Idempotency-Key")}
	if c.role == roleBoxOffice {
		ask.Actor, ask.PaidAtCounter = c.staff, req.PaidAtCounter
	} else if req.PaidAtCounter {
		fail(w, http.StatusForbidden, "forbidden", "only the box office takes a difference at the counter")
		return
	}
	res, tk, err := s.Exchange(r.Context(), ask)
	var re *RefundRefusedError
	switch {
	case errors.As(err, &re):
		writeJSON(w, http.StatusConflict, apiError{Code: "exchange_refused", Message: err.Error(), Refused: re.Refused})
		return
	case errors.Is(err, ErrPayDifference):
		fail(w, http.StatusConflict, "pay_difference", said(err, ErrPayDifference)+": the box office exchanges it once the difference is paid")
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	cur := mustCurrency(res.Refund.Currency)
	writeJSON(w, http.StatusOK, map[string]any{"order": o.ID, "ticket": TicketView{Serial: tk.Serial, Type: tk.Type, Status: tk.Status, Code: tk.Code}, "back": pricing.New(res.Refund.Amount, cur),
		"fee": pricing.New(res.Refund.Fee, cur), "state": res.Refund.State})
}
