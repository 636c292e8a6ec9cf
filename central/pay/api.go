package pay

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/tixgate/tixgate/central/shop"
)

// PathPrefix is where the payment routes live.
const PathPrefix = "/api/v1/pay/"

// Mount registers the routes: the providers' notifications (no
// credentials: the signature is the credential), a buyer's start of a
// payment, and the box office's refunds and transaction list.
func (p *Payments) Mount(mux *http.ServeMux) {
	mux.HandleFunc("POST "+PathPrefix+"notify/{provider}", p.apiNotify)
	mux.HandleFunc("POST "+PathPrefix+"orders/{id}", p.apiStart)
	mux.HandleFunc("POST "+PathPrefix+"orders/{id}/refund", p.apiRefund)
	mux.HandleFunc("GET "+PathPrefix+"orders/{id}/transactions", p.apiTransactions)
}

func (p *Payments) apiNotify(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("provider")
	pr, ok := p.providers[name]
	if !ok {
		writeJSON(w, http.StatusNotFound, apiError{"not_found", "no payment provider " + strconv.Quote(name) + " is configured"})
		return
	}
	err := p.Notify(r.Context(), name, r)
	if err != nil && !errors.Is(err, ErrForged) && !errors.Is(err, ErrMismatch) && !errors.Is(err, ErrUnknown) {
		p.log.Error("payment notification not applied; the provider will send it again", "provider", name, "err", err)
	}
	pr.Ack(w, err)
}

type startRequest struct {
	Provider string  `json:"provider"`
	Browser  Browser `json:"browser,omitempty"` // "" reads the User-Agent
	OpenID   string  `json:"openid,omitempty"`
}

func (p *Payments) apiStart(w http.ResponseWriter, r *http.Request) {
	id, ok := orderID(w, r)
	if !ok {
		return
	}
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	buyer, err := p.shop.Session(r.Context(), strings.TrimSpace(tok))
	if err != nil {
		writeJSON(w, http.StatusUnauthorized, apiError{"unauthorized", "log in first: Authorization: Bearer TOKEN"})
		return
	}
	var req startRequest
	if !readJSON(w, r, &req) {
		return
	}
	o, err := p.db.Order(r.Context(), id)
	if err != nil || o.Account != buyer.ID {
		writeJSON(w, http.StatusNotFound, apiError{"not_found", "order " + strconv.FormatInt(id, 10) + ": not found"})
		return
	}
	b := req.Browser
	switch b {
	case "":
		b = BrowserOf(r.UserAgent())
	case Desktop, Mobile, InsideWeChat, InsideAlipay:
	default:
		writeJSON(w, http.StatusBadRequest, apiError{"bad_request", "browser: want desktop, mobile, wechat or alipay, or leave it out"})
		return
	}
	a, err := p.Start(r.Context(), id, req.Provider, b, req.OpenID)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// staff authenticates an ops API token with the box_office or admin
// scope.
func (p *Payments) staff(ctx context.Context, r *http.Request) (string, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !strings.HasPrefix(tok, "tgo_") {
		return "", false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	t, err := p.db.APITokenByHash(ctx, sum[:])
	if err != nil || !slices.Contains(t.Scopes, "box_office") && !slices.Contains(t.Scopes, "admin") {
		return "", false
	}
	return t.User, true
}

func (p *Payments) apiRefund(w http.ResponseWriter, r *http.Request) {
	id, ok := orderID(w, r)
	if !ok {
		return
	}
	who, ok := p.staff(r.Context(), r)
	if !ok {
		writeJSON(w, http.StatusUnauthorized, apiError{"unauthorized", "refunds need an ops API token with the box_office scope"})
		return
	}
	var req struct {
		Amount int64  `json:"amount"` // minor units; 0: all that is left
		Reason string `json:"reason"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if strings.TrimSpace(req.Reason) == "" || len(req.Reason) > 200 {
		writeJSON(w, http.StatusBadRequest, apiError{"bad_request", "say why in reason (1 to 200 bytes)"})
		return
	}
	m, err := p.RefundOrder(r.Context(), id, req.Amount, key, req.Reason+" (by "+who+")")
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.log.Info("refund by the box office", "order", id, "amount", m.String(), "staff", who)
	writeJSON(w, http.StatusOK, m)
}

// TransactionView is a transaction as the API shows it.
type TransactionView struct {
	Kind      string `json:"kind"`
	Provider  string `json:"provider"`
	Reference string `json:"reference"`
	Amount    Money  `json:"amount"`
	At        string `json:"at"`
	Note      string `json:"note,omitempty"`
}

func (p *Payments) apiTransactions(w http.ResponseWriter, r *http.Request) {
	id, ok := orderID(w, r)
	if !ok {
		return
	}
	if _, ok := p.staff(r.Context(), r); !ok {
		writeJSON(w, http.StatusUnauthorized, apiError{"unauthorized", "transactions need an ops API token with the box_office scope"})
		return
	}
	txs, err := p.db.PayTransactions(r.Context(), id)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	out := []TransactionView{}
	for _, t := range txs {
		out = append(out, TransactionView{t.Kind, t.Provider, t.Reference, Money{t.Amount, t.Currency}, t.At.Format("2006-01-02T15:04:05.000000Z07:00"), t.Note})
	}
	writeJSON(w, http.StatusOK, map[string]any{"transactions": out})
}

type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (p *Payments) fail(w http.ResponseWriter, r *http.Request, err error) {
	for _, k := range []struct {
		err    error
		status int
		code   string
	}{
		{ErrBadRequest, http.StatusBadRequest, "bad_request"},
		{shop.ErrBadRequest, http.StatusBadRequest, "bad_request"},
		{ErrNotFound, http.StatusNotFound, "not_found"},
		{shop.ErrNotFound, http.StatusNotFound, "not_found"},
		{shop.ErrState, http.StatusConflict, "wrong_state"},
		{shop.ErrExpired, http.StatusConflict, "order_expired"},
		{ErrProvider, http.StatusBadGateway, "provider_refused"},
	} {
		if errors.Is(err, k.err) {
			writeJSON(w, k.status, apiError{k.code, err.Error()})
			return
		}
	}
	p.log.Error("payment request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeJSON(w, http.StatusInternalServerError, apiError{"internal", "central could not complete the request; it is logged"})
}

func orderID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeJSON(w, http.StatusBadRequest, apiError{"bad_request", "order id: want a positive number"})
		return 0, false
	}
	return id, true
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{"bad_request", "bad request body: " + err.Error()})
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
