package shop

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tixgate/tixgate/central/store"
)

// Sponsors' allocations. Staff grant a sponsor's account N complimentary
// tickets of a type (POST allocations): the N come out of the type's stock
// at once, held by an order of status "allocated", so they cannot be sold
// twice. The sponsor hands them to named guests (POST
// allocations/{id}/issue): each issue is an order of total 0 paid by
// method "comp", its tickets issued in the guest's name, its stock moved
// from the allocation's hold.

// StatusAllocated is the status of the order that holds an allocation.
const StatusAllocated = "allocated"

// MethodComp is a complimentary order's payment method.
const MethodComp = "comp"

// AllocationView is a sponsor's allocation.
type AllocationView struct {
	ID      int64     `json:"id"`
	Event   uint64    `json:"event"`
	Type    uint64    `json:"type"`
	Sponsor int64     `json:"sponsor"`
	Granted int64     `json:"granted"`
	Issued  int64     `json:"issued"`
	Left    int64     `json:"left"`
	Created time.Time `json:"created"`
	// GrantedBy is the staff member who granted it (staff only).
	GrantedBy string `json:"granted_by,omitempty"`
}

func allocationView(a store.Allocation) AllocationView {
	return AllocationView{ID: a.ID, Event: a.Event, Type: a.Type, Sponsor: a.Sponsor, Granted: a.Granted, Issued: a.Issued, Left: a.Granted - a.Issued,
		Created: a.Created, GrantedBy: a.GrantedBy}
}

// Grant gives a sponsor's account n complimentary tickets of a type on
// sale, taken from its stock now (ErrSoldOut when there are not n left).
func (s *Shop) Grant(ctx context.Context, staff string, sponsor int64, event, typ uint64, n int) (AllocationView, error) {
	if n <= 0 || n > 10000 {
		return AllocationView{}, fmt.Errorf("allocation: quantity %d: want 1 to 10000: %w", n, ErrBadRequest)
	}
	acct, err := s.db.Account(ctx, sponsor)
	if errors.Is(err, store.ErrNotFound) || err == nil && !acct.DeletedAt.IsZero() {
		return AllocationView{}, fmt.Errorf("allocation: account %d: %w", sponsor, ErrNotFound)
	}
	if err != nil {
		return AllocationView{}, err
	}
	if acct.Role != RoleSponsor {
		return AllocationView{}, fmt.Errorf("allocation: account %d is %s, not a sponsor: give it the sponsor role first: %w", sponsor, acct.Role, ErrBadRequest)
	}
	sl, err := s.sale(ctx, event)
	if err != nil {
		return AllocationView{}, err
	}
	off, ok := sl.offers[typ]
	if !ok {
		return AllocationView{}, fmt.Errorf("allocation: type %d of event %d is not on sale: %w", typ, event, ErrNotFound)
	}
	now := s.now()
	items := []store.ShopOrderItem{{Type: typ, Quantity: n}}
	hold := store.ShopOrder{Account: sponsor, Event: event, Status: StatusAllocated, Currency: off.Currency, Quote: []byte("{}"), Method: MethodComp,
		Created: now, Items: items}
	a := store.Allocation{Event: event, Type: typ, Sponsor: sponsor, Granted: int64(n), GrantedBy: staff, Created: now}
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		if hold.ID, err = tx.AddOrder(hold); err != nil {
			return err
		}
		// The buyer's own limits do not apply: staff decide a sponsor's share.
		if err := tx.Hold(hold.ID, sl.stockTakes(items)); err != nil {
			return err
		}
		a.HoldOrder = hold.ID
		a.ID, err = tx.AddAllocation(a)
		return err
	})
	if errors.Is(err, store.ErrSoldOut) {
		return AllocationView{}, fmt.Errorf("allocation: fewer than %d tickets of type %d left: %w", n, typ, ErrSoldOut)
	}
	if err != nil {
		return AllocationView{}, fmt.Errorf("allocation: %w", err)
	}
	s.log.Info("sponsor allocation granted", "allocation", a.ID, "sponsor", sponsor, "event", event, "type", typ, "quantity", n, "staff", staff)
	return allocationView(a), nil
}

// Allocations lists a sponsor's allocations (0: everyone's).
func (s *Shop) Allocations(ctx context.Context, sponsor int64) ([]AllocationView, error) {
	as, err := s.db.Allocations(ctx, sponsor)
	if err != nil {
		return nil, err
	}
	out := make([]AllocationView, len(as))
	for i, a := range as {
		out[i] = allocationView(a)
	}
	return out, nil
}

// IssueComp hands n of a sponsor's allocation to a named guest: an order
// of total 0 by method comp, paid at once, its tickets in the guest's
// name. Another sponsor's allocation is ErrNotFound; more than is left,
// ErrSoldOut.
func (s *Shop) IssueComp(ctx context.Context, sponsor store.Account, allocation int64, guest string, n int) (store.ShopOrder, []store.Ticket, error) {
	guest = strings.TrimSpace(guest)
	if guest == "" {
		return store.ShopOrder{}, nil, fmt.Errorf("complimentary tickets: the guest's name is needed: %w", ErrBadRequest)
	}
	if err := checkText("guest", guest, 128); err != nil {
		return store.ShopOrder{}, nil, err
	}
	if n <= 0 || n > maxTickets {
		return store.ShopOrder{}, nil, fmt.Errorf("complimentary tickets: quantity %d: want 1 to %d: %w", n, maxTickets, ErrBadRequest)
	}
	a, err := s.db.Allocation(ctx, allocation)
	if errors.Is(err, store.ErrNotFound) || err == nil && a.Sponsor != sponsor.ID {
		return store.ShopOrder{}, nil, fmt.Errorf("allocation %d: %w", allocation, ErrNotFound)
	}
	if err != nil {
		return store.ShopOrder{}, nil, err
	}
	ev, err := s.db.Event(ctx, a.Event)
	if err != nil {
		return store.ShopOrder{}, nil, err
	}
	tt, err := s.db.TicketType(ctx, a.Event, a.Type)
	if err != nil {
		return store.ShopOrder{}, nil, err
	}
	hold, err := s.db.Order(ctx, a.HoldOrder)
	if err != nil {
		return store.ShopOrder{}, nil, err
	}
	now := s.now()
	o := store.ShopOrder{Account: sponsor.ID, Event: a.Event, Status: StatusPaid, Currency: hold.Currency, Quote: []byte("{}"), Method: MethodComp,
		Created: now, PaidAt: now, Guest: guest, Items: []store.ShopOrderItem{{Type: a.Type, Quantity: n}}}
	var tickets []store.Ticket
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		tickets = nil
		if err := tx.IssueFromAllocation(a.ID, int64(n)); err != nil {
			return err
		}
		var err error
		if o.ID, err = tx.AddOrder(o); err != nil {
			return err
		}
		if err := tx.MoveHolds(a.HoldOrder, o.ID, int64(n)); err != nil {
			return err
		}
		if tickets, err = s.cfg.Catalog.IssueIn(tx, ev, tt, n, guest); err != nil {
			return err
		}
		serials := make([]uint64, len(tickets))
		for i, t := range tickets {
			serials[i] = t.Serial
		}
		return tx.AddOrderTickets(o.ID, a.Event, serials)
	})
	if errors.Is(err, store.ErrSoldOut) {
		return store.ShopOrder{}, nil, fmt.Errorf("allocation %d has fewer than %d tickets left: %w", a.ID, n, ErrSoldOut)
	}
	if err != nil {
		return store.ShopOrder{}, nil, fmt.Errorf("complimentary tickets: %w", err)
	}
	s.log.Info("complimentary tickets issued", "allocation", a.ID, "order", o.ID, "quantity", n)
	return o, tickets, nil
}

func (s *Shop) apiGrant(w http.ResponseWriter, r *http.Request, c caller) {
	var req struct {
		Sponsor  int64  `json:"sponsor"`
		Event    uint64 `json:"event"`
		Type     uint64 `json:"type"`
		Quantity int    `json:"quantity"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	a, err := s.Grant(r.Context(), c.staff, req.Sponsor, req.Event, req.Type, req.Quantity)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, a)
}

func (s *Shop) apiAllocations(w http.ResponseWriter, r *http.Request, c caller) {
	sponsor := c.account.ID
	staff := slices.Contains(staffRoles, c.role)
	if staff {
		sponsor = 0
	}
	as, err := s.Allocations(r.Context(), sponsor)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !staff {
		for i := range as {
			as[i].GrantedBy = ""
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"allocations": as})
}

func (s *Shop) apiIssueComp(w http.ResponseWriter, r *http.Request, c caller) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		fail(w, http.StatusBadRequest, "bad_request", "allocation id: want a positive number")
		return
	}
	var req struct {
		Guest    string `json:"guest"`
		Quantity int    `json:"quantity"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	o, tickets, err := s.IssueComp(r.Context(), c.account, id, req.Guest, req.Quantity)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, view(o, tickets))
}
