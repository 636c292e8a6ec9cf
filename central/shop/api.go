package shop

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/pricing"
	"github.com/tixgate/tixgate/ticket/strict"
)

// PathPrefix is where the API lives.
const PathPrefix = "/api/v1/shop/"

// Who may call a route, besides buyers' own roles.
const (
	roleAnonymous = "anonymous"  // no credentials
	roleBoxOffice = "box_office" // staff: an ops API token with the box_office (or admin) scope
	roleOps       = "ops"        // staff: an ops API token with the ops scope (venue setup), not box_office
)

// Roles are every role a caller can have, for the route table and its test.
var Roles = append([]string{roleAnonymous, roleBoxOffice, roleOps}, BuyerRoles...)

// staffRoles may set up waiting rooms, grant sponsors and read the
// blocked log.
var staffRoles = []string{roleBoxOffice, roleOps}

var public = Roles

// caller is who sent a request.
type caller struct {
	role    string
	account store.Account // a buyer's
	staff   string        // a staff user's name
}

type route struct {
	method, path string
	allow        []string
	h            func(http.ResponseWriter, *http.Request, caller)
}

func (s *Shop) routes() []route {
	return append([]route{
		{"POST", "accounts", []string{roleAnonymous}, s.apiRegister},
		{"GET", "verify", public, s.apiVerify},
		{"POST", "login", []string{roleAnonymous}, s.apiLogin},
		{"POST", "login/sms", []string{roleAnonymous}, s.apiSendCode},
		{"POST", "login/sms/verify", []string{roleAnonymous}, s.apiLoginByCode},
		{"GET", "events", public, s.apiEvents},
		{"POST", "orders", BuyerRoles, s.apiPlace},
		{"GET", "orders/{id}", append([]string{roleBoxOffice}, BuyerRoles...), s.apiOrder},
		{"POST", "orders/{id}/pay", append([]string{roleBoxOffice}, BuyerRoles...), s.apiPay},
		{"POST", "orders/{id}/cancel", append([]string{roleBoxOffice}, BuyerRoles...), s.apiCancel},
		{"GET", "captcha", public, s.apiCaptcha},
		{"GET", "captcha.js", public, s.apiCaptchaScript},
		{"GET", "blocked", staffRoles, s.apiBlocked},
		{"GET", "me", BuyerRoles, s.apiMe},
		{"PATCH", "me", BuyerRoles, s.apiPatchMe},
		{"GET", "me/export", BuyerRoles, s.apiExportMe},
		{"DELETE", "me", BuyerRoles, s.apiDeleteMe},
		{"POST", "waitlist", BuyerRoles, s.apiJoinWaitlist},
		{"GET", "waitlist", BuyerRoles, s.apiWaitlist},
		{"DELETE", "waitlist/{id}", BuyerRoles, s.apiLeaveWaitlist},
		{"GET", "waitlist/offer", public, s.apiOffer},
		{"POST", "queue", public, s.apiJoinQueue},
		{"GET", "queue", public, s.apiQueue},
		{"PUT", "rooms/{event}", staffRoles, s.apiPutRoom},
		{"POST", "allocations", staffRoles, s.apiGrant},
		{"GET", "allocations", append([]string{RoleSponsor}, staffRoles...), s.apiAllocations},
		{"POST", "allocations/{id}/issue", []string{RoleSponsor}, s.apiIssueComp},
	}, s.refundRoutes()...)
}

// Mount registers the API's routes on mux.
func (s *Shop) Mount(mux *http.ServeMux) {
	for _, rt := range s.routes() {
		mux.HandleFunc(rt.method+" "+PathPrefix+rt.path, s.guard(rt))
	}
}

// guard authenticates a request and lets it through only for the route's
// roles.
func (s *Shop) guard(rt route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := s.authenticate(r.Context(), r)
		if errors.Is(err, ErrNotFound) {
			fail(w, http.StatusUnauthorized, "unauthorized", "unknown or expired credentials")
			return
		}
		if err != nil {
			s.internal(w, r, err)
			return
		}
		if !slices.Contains(rt.allow, c.role) {
			if c.role == roleAnonymous {
				fail(w, http.StatusUnauthorized, "unauthorized", "log in first: Authorization: Bearer TOKEN")
			} else {
				fail(w, http.StatusForbidden, "forbidden", "the "+c.role+" role may not "+rt.method+" "+rt.path)
			}
			return
		}
		rt.h(w, r, c)
	}
}

func (s *Shop) authenticate(ctx context.Context, r *http.Request) (caller, error) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		if h != "" {
			return caller{}, ErrNotFound
		}
		return caller{role: roleAnonymous}, nil
	}
	tok = strings.TrimSpace(tok)
	if strings.HasPrefix(tok, "tgo_") {
		sum := sha256.Sum256([]byte(tok))
		t, err := s.db.APITokenByHash(ctx, sum[:])
		if errors.Is(err, store.ErrNotFound) {
			return caller{}, ErrNotFound
		}
		if err != nil {
			return caller{}, err
		}
		if !slices.Contains(t.Scopes, roleBoxOffice) && !slices.Contains(t.Scopes, "admin") {
			if slices.Contains(t.Scopes, roleOps) {
				return caller{role: roleOps, staff: t.User}, nil
			}
			return caller{role: "staff without the box_office scope"}, nil
		}
		return caller{role: roleBoxOffice, staff: t.User}, nil
	}
	a, err := s.Session(ctx, tok)
	if err != nil {
		return caller{}, err
	}
	return caller{role: a.Role, account: a}, nil
}

func (s *Shop) apiRegister(w http.ResponseWriter, r *http.Request, _ caller) {
	var req Registration
	if !readJSON(w, r, &req) {
		return
	}
	req.IP = clientIP(r)
	a, err := s.Register(r.Context(), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": a.ID, "email": a.Email, "role": a.Role, "verified": false})
}

func (s *Shop) apiVerify(w http.ResponseWriter, r *http.Request, _ caller) {
	if err := s.Verify(r.Context(), r.URL.Query().Get("token")); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"verified": true})
}

func (s *Shop) apiLogin(w http.ResponseWriter, r *http.Request, _ caller) {
	var req struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	if err := s.CheckRate(r.Context(), clientIP(r), 0, "login"); err != nil {
		s.fail(w, r, err)
		return
	}
	tok, a, err := s.Login(r.Context(), req.Email, req.Password)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": tok, "account": a.ID, "role": a.Role, "verified": !a.VerifiedAt.IsZero(),
		"expires": s.now().Add(s.cfg.Session)})
}

func (s *Shop) apiSendCode(w http.ResponseWriter, r *http.Request, _ caller) {
	var req struct {
		Phone string `json:"phone"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	ip := clientIP(r)
	if err := s.CheckRate(r.Context(), ip, 0, "sms code"); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.SendCode(r.Context(), req.Phone, ip); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"sent": true, "expires_in": int(s.cfg.SMS.Life.Seconds())})
}

func (s *Shop) apiLoginByCode(w http.ResponseWriter, r *http.Request, _ caller) {
	var req struct {
		Phone string `json:"phone"`
		Code  string `json:"code"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	if err := s.CheckRate(r.Context(), clientIP(r), 0, "sms login"); err != nil {
		s.fail(w, r, err)
		return
	}
	tok, a, err := s.LoginByCode(r.Context(), req.Phone, req.Code)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": tok, "account": a.ID, "role": a.Role, "verified": true,
		"expires": s.now().Add(s.cfg.Session)})
}

// EventView is an event on sale as the API lists it.
type EventView struct {
	ID     uint64     `json:"id"`
	Venue  string     `json:"venue"`
	Name   string     `json:"name"`
	Starts time.Time  `json:"starts"`
	Ends   time.Time  `json:"ends"`
	Days   []string   `json:"days"`
	Types  []TypeView `json:"types"`
	// WaitingRoom is set while the event's waiting room is on: orders
	// need a token from POST queue.
	WaitingRoom bool `json:"waiting_room,omitempty"`
}

// TypeView is a ticket type on sale.
type TypeView struct {
	ID        uint64        `json:"id"`
	Name      string        `json:"name"`
	Price     pricing.Money `json:"price"`
	Left      int64         `json:"left"`
	OnSale    bool          `json:"on_sale"`
	SaleFrom  time.Time     `json:"sale_from,omitzero"`
	SaleUntil time.Time     `json:"sale_until,omitzero"`
	Roles     []string      `json:"roles,omitempty"`
	// Waiting is how many buyers are on the type's waiting list: while
	// any are, it is not sold to others (join the list instead).
	Waiting int `json:"waiting,omitempty"`
}

func (s *Shop) apiEvents(w http.ResponseWriter, r *http.Request, c caller) {
	out, err := s.Events(r.Context(), c.role)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out})
}

// OrderView is an order as the API shows it.
type OrderView struct {
	ID      int64             `json:"id"`
	Event   uint64            `json:"event"`
	Status  string            `json:"status"`
	Total   pricing.Money     `json:"total"`
	Expires time.Time         `json:"expires,omitzero"`
	Method  string            `json:"method,omitempty"`
	PaidAt  time.Time         `json:"paid_at,omitzero"`
	Items   []pricing.Item    `json:"items"`
	Quote   pricing.Quotation `json:"quote"`
	Tickets []TicketView      `json:"tickets,omitempty"`
	// Guest is the named guest of a sponsor's complimentary order.
	Guest string `json:"guest,omitempty"`
}

// TicketView is an issued ticket: its code is what the QR carries.
type TicketView struct {
	Serial uint64 `json:"serial"`
	Type   uint64 `json:"type"`
	Status string `json:"status"`
	Code   string `json:"code"`
}

func view(o store.ShopOrder, tickets []store.Ticket) OrderView {
	v := OrderView{ID: o.ID, Event: o.Event, Status: o.Status, Total: pricing.New(o.Total, mustCurrency(o.Currency)), Method: o.Method, PaidAt: o.PaidAt, Guest: o.Guest}
	if o.Status == StatusPending {
		v.Expires = o.Expires
	}
	for _, it := range o.Items {
		v.Items = append(v.Items, pricing.Item{Type: pricing.TypeID(it.Type), Quantity: it.Quantity})
	}
	json.Unmarshal(o.Quote, &v.Quote)
	for _, t := range tickets {
		v.Tickets = append(v.Tickets, TicketView{Serial: t.Serial, Type: t.Type, Status: t.Status, Code: t.Code})
	}
	return v
}

func (s *Shop) apiPlace(w http.ResponseWriter, r *http.Request, c caller) {
	var req OrderRequest
	if !readJSON(w, r, &req) {
		return
	}
	req.IP = clientIP(r)
	o, err := s.Place(r.Context(), c.account, req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, view(o, nil))
}

// order reads the order of the path for a caller who may see it: its buyer
// or staff. Another buyer's order is not found, not forbidden, so ids do
// not tell what exists.
func (s *Shop) order(w http.ResponseWriter, r *http.Request, c caller) (store.ShopOrder, []store.Ticket, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		fail(w, http.StatusBadRequest, "bad_request", "order id: want a positive number")
		return store.ShopOrder{}, nil, false
	}
	o, tickets, err := s.Order(r.Context(), id)
	if err == nil && c.role != roleBoxOffice && o.Account != c.account.ID {
		err = fmt.Errorf("order %d: %w", id, ErrNotFound)
	}
	if err != nil {
		s.fail(w, r, err)
		return o, nil, false
	}
	return o, tickets, true
}

func (s *Shop) apiOrder(w http.ResponseWriter, r *http.Request, c caller) {
	o, tickets, ok := s.order(w, r, c)
	if ok {
		writeJSON(w, http.StatusOK, view(o, tickets))
	}
}

func (s *Shop) apiPay(w http.ResponseWriter, r *http.Request, c caller) {
	var req Payment
	if !readJSON(w, r, &req) {
		return
	}
	req.IP = clientIP(r)
	o, _, ok := s.order(w, r, c)
	if !ok {
		return
	}
	// A buyer pays with a provider; only staff mark an order paid at the
	// counter.
	if (req.Method == MethodBoxOffice) != (c.role == roleBoxOffice) {
		fail(w, http.StatusForbidden, "forbidden", "the "+c.role+" role may not pay with "+strconv.Quote(req.Method))
		return
	}
	o, tickets, err := s.PayWith(r.Context(), o.ID, req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if c.role == roleBoxOffice {
		s.log.Info("order marked paid at the box office", "order", o.ID, "staff", c.staff)
	}
	writeJSON(w, http.StatusOK, view(o, tickets))
}

func (s *Shop) apiCancel(w http.ResponseWriter, r *http.Request, c caller) {
	o, _, ok := s.order(w, r, c)
	if !ok {
		return
	}
	if o.Status == StatusPaid && c.role != roleBoxOffice {
		fail(w, http.StatusForbidden, "forbidden", "a paid order is cancelled by the box office")
		return
	}
	reason := "order cancelled by the buyer"
	if c.role == roleBoxOffice {
		reason = "order cancelled by the box office"
	}
	o, err := s.Cancel(r.Context(), o.ID, reason)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	o2, tickets, _ := s.Order(r.Context(), o.ID)
	writeJSON(w, http.StatusOK, view(o2, tickets))
}

// apiError is the body of every refusal: a stable code and a sentence.
type apiError struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Refused []pricing.Refusal `json:"refused,omitempty"`
}

func (s *Shop) fail(w http.ResponseWriter, r *http.Request, err error) {
	var re *RefusedError
	if errors.As(err, &re) {
		writeJSON(w, http.StatusConflict, apiError{Code: "refused", Message: err.Error(), Refused: re.Refused})
		return
	}
	for _, k := range failures {
		if errors.Is(err, k.err) {
			msg := k.msg
			switch {
			case msg == "" && k.err == ErrNotFound:
				msg = err.Error() // "order 5: not found" reads as it is
			case msg == "":
				msg = said(err, k.err)
			}
			fail(w, k.status, k.code, msg)
			return
		}
	}
	s.internal(w, r, err)
}

// failures maps the shop's errors to answers: the status, the code, and
// the words (the error's own when empty).
var failures = []struct {
	err    error
	status int
	code   string
	msg    string
}{
	{ErrBadRequest, http.StatusBadRequest, "bad_request", ""},
	{ErrCredentials, http.StatusUnauthorized, "wrong_credentials", "wrong email or password"},
	{ErrUnverified, http.StatusForbidden, "email_not_verified", "confirm your email with the link mailed to you first"},
	{ErrRateLimited, http.StatusTooManyRequests, "rate_limited", ""},
	{ErrBadCode, http.StatusUnauthorized, "wrong_code", ""},
	{ErrLimit, http.StatusConflict, "purchase_limit", ""},
	{ErrSoldOut, http.StatusConflict, "sold_out", ""},
	{ErrExpired, http.StatusConflict, "order_expired", "the order's hold ran out and its tickets went back on sale; order again"},
	{ErrState, http.StatusConflict, "wrong_state", ""},
	{ErrNotFound, http.StatusNotFound, "not_found", ""},
	{ErrCaptcha, http.StatusForbidden, "captcha", ""},
	{ErrQueue, http.StatusForbidden, "waiting_room", ""},
}

// said is an error's words without the sentinel it wraps at its end: the
// code already says that much ("order: want 1 to 10 items", not "…: bad
// request").
func said(err, sentinel error) string {
	msg := err.Error()
	if m, ok := strings.CutSuffix(msg, ": "+sentinel.Error()); ok {
		return m
	}
	return msg
}

func (s *Shop) internal(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("shop request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	fail(w, http.StatusInternalServerError, "internal", "central could not complete the request; it is logged")
}

func fail(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apiError{Code: code, Message: msg})
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		fail(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "send the request body as application/json")
		return false
	}
	if err := strict.ReadJSON(r.Body, maxBody, v); err != nil {
		if errors.Is(err, strict.ErrTooLarge) {
			fail(w, http.StatusRequestEntityTooLarge, "too_large", err.Error())
			return false
		}
		fail(w, http.StatusBadRequest, "bad_request", "bad request body: "+err.Error())
		return false
	}
	return true
}

// maxBody bounds a request body.
const maxBody = 16 << 10

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
