package central

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/tixgate/tixgate/central/quota"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/uplink"
)

// salesRoutes serves the sellers' side: a seller's request for another
// block, and the ops API of quotas, orders and shifts.
func (s *Server) salesRoutes(m *http.ServeMux) {
	m.HandleFunc("POST "+uplink.PathQuotaRequest, s.device(s.quotaRequest))
	m.HandleFunc("GET /api/v1/quotas", s.ops("read", s.quotas))
	m.HandleFunc("GET /api/v1/sales/orders", s.ops("read", s.salesOrders))
	m.HandleFunc("GET /api/v1/sales/shifts", s.ops("read", s.salesShifts))
}

func (s *Server) quotaRequest(w http.ResponseWriter, r *http.Request, dev store.Device) {
	var req uplink.QuotaRequest
	if !s.readJSON(w, r, &req, 4<<10) {
		return
	}
	if dev.Role != string(ticket.RoleSeller) {
		s.fail(w, http.StatusForbidden, uplink.ErrCodeNotSeller, "only seller devices hold quotas")
		return
	}
	q, err := s.Quotas.Request(r.Context(), dev, req.Event, req.Type)
	switch {
	case errors.Is(err, quota.ErrLimit), errors.Is(err, store.ErrNotFound):
		s.fail(w, http.StatusForbidden, uplink.ErrCodeQuotaLimit, err.Error())
		return
	case errors.Is(err, quota.ErrNotSeller):
		s.fail(w, http.StatusForbidden, uplink.ErrCodeNotSeller, err.Error())
		return
	case err != nil:
		s.internal(w, r, err)
		return
	}
	var cert ticket.IssuerCert
	if err := json.Unmarshal([]byte(q.Cert), &cert); err != nil {
		s.internal(w, r, err)
		return
	}
	head, err := s.cfg.Store.ManifestHead(r.Context(), dev.Venue)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, uplink.QuotaGrant{Cert: cert, Price: q.Price, Currency: q.Currency, ManifestHead: head})
}

// Quota is a seller quota as the ops API lists it.
type Quota struct {
	ID        int64     `json:"id"`
	Device    string    `json:"device"`
	Event     uint64    `json:"event"`
	Type      uint64    `json:"type"`
	SerialMin uint64    `json:"serial_min"`
	SerialMax uint64    `json:"serial_max"`
	KeptMax   uint64    `json:"kept_max"` // the last serial still sellable
	Zones     uint64    `json:"zones"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	Price     int64     `json:"price"`
	Currency  string    `json:"currency"`
	Status    string    `json:"status"`
	Reason    string    `json:"reason,omitempty"`
	Asked     bool      `json:"asked"`  // granted on the device's request
	Issuer    string    `json:"issuer"` // the certified key's id
}

func (s *Server) quotas(w http.ResponseWriter, r *http.Request) {
	qs, err := s.cfg.Store.Quotas(r.Context(), r.URL.Query().Get("device"))
	if err != nil {
		s.internal(w, r, err)
		return
	}
	out := make([]Quota, 0, len(qs))
	for _, q := range qs {
		out = append(out, QuotaOf(q))
	}
	writeJSON(w, http.StatusOK, map[string]any{"quotas": out})
}

// QuotaOf is a stored quota as the API shows it.
func QuotaOf(q store.Quota) Quota {
	var cert ticket.IssuerCert
	json.Unmarshal([]byte(q.Cert), &cert)
	return Quota{ID: q.ID, Device: q.Device, Event: q.Event, Type: q.Type, SerialMin: q.SerialMin, SerialMax: q.SerialMax, KeptMax: q.KeptMax,
		Zones: q.Zones, NotBefore: q.NotBefore, NotAfter: q.NotAfter, Price: q.Price, Currency: q.Currency, Status: q.Status, Reason: q.Reason,
		Asked: q.Asked, Issuer: cert.ID().String()}
}

// Order is a seller's receipt as the ops API lists it; amounts in minor
// units of currency.
type Order struct {
	ID       int64     `json:"id"`
	Channel  string    `json:"channel"`
	Device   string    `json:"device"`
	Receipt  uint64    `json:"receipt"`
	Event    uint64    `json:"event"`
	Type     uint64    `json:"type"`
	Tickets  int       `json:"tickets"`
	Total    int64     `json:"total"`
	Currency string    `json:"currency"`
	Method   string    `json:"method"`
	Given    int64     `json:"given,omitempty"`
	Change   int64     `json:"change,omitempty"`
	Ref      string    `json:"ref,omitempty"`
	Seller   string    `json:"seller"`
	Till     string    `json:"till"`
	Status   string    `json:"status"`
	SoldAt   time.Time `json:"sold_at"`
	VoidedAt time.Time `json:"voided_at,omitzero"`
	Refunded int64     `json:"refunded,omitempty"`
}

func (s *Server) salesOrders(w http.ResponseWriter, r *http.Request) {
	orders, err := s.cfg.Store.SellerOrders(r.Context(), r.URL.Query().Get("device"))
	if err != nil {
		s.internal(w, r, err)
		return
	}
	out := make([]Order, 0, len(orders))
	for _, o := range orders {
		out = append(out, Order{ID: o.ID, Channel: o.Channel, Device: o.Device, Receipt: o.Receipt, Event: o.Event, Type: o.Type, Tickets: o.Tickets,
			Total: o.Total, Currency: o.Currency, Method: o.Method, Given: o.Given, Change: o.Change, Ref: o.Ref, Seller: o.Seller, Till: o.Till,
			Status: o.Status, SoldAt: o.SoldAt, VoidedAt: o.VoidedAt, Refunded: o.Refunded})
	}
	writeJSON(w, http.StatusOK, map[string]any{"orders": out})
}

func (s *Server) salesShifts(w http.ResponseWriter, r *http.Request) {
	day := r.URL.Query().Get("day")
	if day != "" {
		if _, err := time.Parse(time.DateOnly, day); err != nil {
			s.fail(w, http.StatusBadRequest, uplink.ErrCodeBadRequest, "day: want YYYY-MM-DD")
			return
		}
	}
	shifts, err := s.cfg.Store.SellerShifts(r.Context(), r.URL.Query().Get("device"), day)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	out := make([]json.RawMessage, 0, len(shifts))
	for _, sh := range shifts {
		out = append(out, json.RawMessage(sh.Report))
	}
	writeJSON(w, http.StatusOK, map[string]any{"shifts": out})
}
