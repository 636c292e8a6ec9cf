package shop

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/tixgate/tixgate/central/store"
)

// The on-sale waiting room. While an event's room is on, an order for it
// needs a token from POST queue whose turn has come. Arrivals are numbered
// in order (1, 2, 3, …, by the room row's lock, across processes), and
// turns come at a set rate: by time t after the room opens,
//
//	admitted(t) = Burst + floor(seconds(t − Opens) × Rate / 60)
//
// buyers have been let through, so arrival n is admitted at
// Opens + ceil((n − Burst) × 60 / Rate) seconds and has AdmitLife from then
// to order. Nothing runs in the background: every answer is computed from
// the clock. The rate is what the checkout can serve (see the rush
// benchmark): a room at that rate keeps the order path's latency flat
// however many arrive at once.

// ErrQueue is an order refused by the waiting room.
var ErrQueue = errors.New("waiting room")

// Room is an event's waiting room.
type Room struct {
	Event uint64 `json:"event"`
	// Rate is how many buyers are let through a minute, after Burst at
	// the opening.
	Rate  int64 `json:"rate_per_minute"`
	Burst int64 `json:"burst"`
	// Opens is when turns start coming; arrivals before it wait.
	Opens time.Time `json:"opens"`
	// AdmitLife is how long an admitted buyer has to order (minutes in
	// the API).
	AdmitLife time.Duration `json:"-"`
	On        bool          `json:"on"`
}

// PutRoom sets up or changes an event's waiting room; turning it off lets
// every buyer order without a token.
func (s *Shop) PutRoom(ctx context.Context, r Room) error {
	if r.Rate <= 0 || r.Burst < 0 || r.Opens.IsZero() {
		return fmt.Errorf("waiting room: want a rate above 0 a minute, a burst of 0 or more and an opening time: %w", ErrBadRequest)
	}
	if r.AdmitLife <= 0 {
		r.AdmitLife = 15 * time.Minute
	}
	if _, err := s.db.Event(ctx, r.Event); err != nil {
		return fmt.Errorf("waiting room: event %d: %w", r.Event, ErrNotFound)
	}
	return s.db.Update(ctx, func(tx *store.Tx) error {
		return tx.PutRoom(store.Room{Event: r.Event, Rate: r.Rate, Burst: r.Burst, Opens: r.Opens, AdmitLife: r.AdmitLife, Active: r.On})
	})
}

func admittedBy(r store.Room, now time.Time) int64 {
	if now.Before(r.Opens) {
		return 0
	}
	return r.Burst + int64(now.Sub(r.Opens)/time.Second)*r.Rate/60
}

func admittedAt(r store.Room, seq int64) time.Time {
	if seq <= r.Burst {
		return r.Opens
	}
	secs := ((seq-r.Burst)*60 + r.Rate - 1) / r.Rate
	return r.Opens.Add(time.Duration(secs) * time.Second)
}

// QueueView is a place in a waiting room.
type QueueView struct {
	// Token is given once, by POST queue: send it as "queue" in the order.
	Token string `json:"token,omitempty"`
	Event uint64 `json:"event"`
	// Place is the arrival's number, Ahead how many are still to be let
	// through before it.
	Place    int64 `json:"place"`
	Ahead    int64 `json:"ahead"`
	Admitted bool  `json:"admitted"`
	// Turn is when it is (or was) let through, Until when its turn ends.
	Turn  time.Time `json:"turn"`
	Until time.Time `json:"until"`
}

func queueView(r store.Room, e store.QueueEntry, now time.Time) QueueView {
	turn := admittedAt(r, e.Seq)
	return QueueView{Event: e.Event, Place: e.Seq, Ahead: max(e.Seq-admittedBy(r, now), 0), Admitted: !now.Before(turn),
		Turn: turn, Until: turn.Add(r.AdmitLife)}
}

// JoinQueue takes a place in an event's waiting room; account may be 0
// (not logged in yet: the first order binds the token to its buyer).
func (s *Shop) JoinQueue(ctx context.Context, event uint64, account int64, ip string) (QueueView, error) {
	if err := s.CheckRate(ctx, ip, account, "waiting room"); err != nil {
		return QueueView{}, err
	}
	r, err := s.db.Room(ctx, event)
	if errors.Is(err, store.ErrNotFound) || err == nil && !r.Active {
		return QueueView{}, fmt.Errorf("event %d has no waiting room on: order directly: %w", event, ErrNotFound)
	}
	if err != nil {
		return QueueView{}, err
	}
	tok, th, err := newToken("tgq_")
	if err != nil {
		return QueueView{}, err
	}
	now := s.now()
	var seq int64
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		seq, err = tx.JoinQueue(event, th, account, now)
		return err
	})
	if err != nil {
		return QueueView{}, fmt.Errorf("join waiting room: %w", err)
	}
	v := queueView(r, store.QueueEntry{Event: event, Seq: seq, Account: account, Arrived: now}, now)
	v.Token = tok
	return v, nil
}

// QueueStatus is where a waiting-room token stands.
func (s *Shop) QueueStatus(ctx context.Context, token string) (QueueView, error) {
	e, err := s.db.QueueEntry(ctx, tokenHash(token))
	if errors.Is(err, store.ErrNotFound) {
		return QueueView{}, fmt.Errorf("waiting-room token unknown: %w", ErrNotFound)
	}
	if err != nil {
		return QueueView{}, err
	}
	r, err := s.db.Room(ctx, e.Event)
	if err != nil {
		return QueueView{}, err
	}
	return queueView(r, e, s.now()), nil
}

// admitted lets an order through the event's waiting room: no room or a
// room turned off lets everyone through; else the order's token must be
// this buyer's and its turn now.
func (s *Shop) admitted(ctx context.Context, buyer store.Account, req OrderRequest) error {
	r, err := s.db.Room(ctx, req.Event)
	if errors.Is(err, store.ErrNotFound) || err == nil && !r.Active {
		return nil
	}
	if err != nil {
		return err
	}
	refuse := func(why string) error {
		s.block(ctx, "waiting_room", why, req.IP, buyer.ID, "event "+strconv.FormatUint(req.Event, 10))
		return fmt.Errorf("%s: %w", why, ErrQueue)
	}
	if req.Queue == "" {
		return refuse("this sale is through the waiting room: POST " + PathPrefix + "queue, wait for your turn and send its token as queue")
	}
	th := tokenHash(req.Queue)
	e, err := s.db.QueueEntry(ctx, th)
	if errors.Is(err, store.ErrNotFound) || err == nil && e.Event != req.Event {
		return refuse("the waiting-room token is not one of this event's")
	}
	if err != nil {
		return err
	}
	now := s.now()
	v := queueView(r, e, now)
	switch {
	case !v.Admitted:
		return refuse(fmt.Sprintf("not your turn yet: %d ahead of you, your turn at %s", v.Ahead, v.Turn.Format(time.RFC3339)))
	case !now.Before(v.Until):
		return refuse("your turn ran out at " + v.Until.Format(time.RFC3339) + ": join the waiting room again")
	}
	ok, err := s.db.BindQueue(ctx, th, buyer.ID)
	if err != nil {
		return err
	}
	if !ok {
		return refuse("the waiting-room token belongs to another buyer")
	}
	return nil
}

func (s *Shop) apiJoinQueue(w http.ResponseWriter, r *http.Request, c caller) {
	var req struct {
		Event uint64 `json:"event"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	v, err := s.JoinQueue(r.Context(), req.Event, c.account.ID, clientIP(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, v)
}

func (s *Shop) apiQueue(w http.ResponseWriter, r *http.Request, _ caller) {
	tok := r.URL.Query().Get("token")
	if tok == "" {
		tok = r.Header.Get("X-Queue-Token")
	}
	v, err := s.QueueStatus(r.Context(), tok)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Shop) apiPutRoom(w http.ResponseWriter, r *http.Request, _ caller) {
	event, err := strconv.ParseUint(r.PathValue("event"), 10, 64)
	if err != nil || event == 0 {
		fail(w, http.StatusBadRequest, "bad_request", "event: want a positive number")
		return
	}
	var req struct {
		Rate         int64     `json:"rate_per_minute"`
		Burst        int64     `json:"burst"`
		Opens        time.Time `json:"opens"`
		AdmitMinutes int       `json:"admit_minutes"`
		On           bool      `json:"on"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	room := Room{Event: event, Rate: req.Rate, Burst: req.Burst, Opens: req.Opens, AdmitLife: time.Duration(req.AdmitMinutes) * time.Minute, On: req.On}
	if err := s.PutRoom(r.Context(), room); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, room)
}
