package support

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/coder/websocket"

	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/central/web"
)

// incoming is what a socket sends: a buyer's message (Body, and Email
// when not logged in), or a staff member's reply (Conv and Body).
type incoming struct {
	Conv  int64  `json:"conv"`
	Body  string `json:"body"`
	Email string `json:"email"`
	Ref   string `json:"ref"` // echoed back, so the sender can match its message
}

// maxFrame bounds what a socket may send in one message.
const maxFrame = 32 << 10

// chatKey is the chat cookie's value's hash, as conversations keep it; ""
// without a cookie.
func chatKey(r *http.Request) string {
	c, err := r.Cookie(ChatCookie)
	if err != nil || len(c.Value) < 32 || len(c.Value) > 64 {
		return ""
	}
	sum := sha256.Sum256([]byte("tixgate chat\x00" + c.Value))
	return hex.EncodeToString(sum[:])
}

// ensureChatCookie gives a browser without a login its chat cookie.
func (d *Desk) ensureChatCookie(w http.ResponseWriter, r *http.Request) string {
	if k := chatKey(r); k != "" {
		return k
	}
	b := make([]byte, 24)
	rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: ChatCookie, Value: v, Path: "/support", MaxAge: 90 * 86400, HttpOnly: true, Secure: d.cfg.Secure, SameSite: http.SameSiteLaxMode})
	sum := sha256.Sum256([]byte("tixgate chat\x00" + v))
	return hex.EncodeToString(sum[:])
}

// chatOf is the request's chat: its buyer (nil when not logged in), the
// chat key, and its open conversation (ID 0 when there is none yet).
func (d *Desk) chatOf(r *http.Request) (*buyer, string, store.Conversation, error) {
	b, err := d.who(r)
	if err != nil {
		return nil, "", store.Conversation{}, err
	}
	key := chatKey(r)
	var account int64
	if b != nil {
		account = b.ID
	} else if key == "" {
		return nil, "", store.Conversation{}, nil
	}
	c, err := d.cfg.Store.ChatConversation(r.Context(), account, key)
	if errors.Is(err, store.ErrNotFound) && account != 0 && key != "" {
		// A chat begun before the buyer logged in becomes their account's.
		c, err = d.cfg.Store.ChatConversation(r.Context(), 0, key)
		if err == nil {
			err = d.cfg.Store.Update(r.Context(), func(tx *store.Tx) error { return tx.AttachConversation(c.ID, account) })
			c.Account = account
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return b, key, store.Conversation{}, nil
	}
	return b, key, c, err
}

// accept upgrades to a WebSocket: the library refuses an Origin other than
// the page's own host, so no other site can open a socket with the
// visitor's cookies.
func (d *Desk) accept(w http.ResponseWriter, r *http.Request) (*websocket.Conn, error) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		d.cfg.Logger.Warn("support: socket refused", "path", r.URL.Path, "origin", r.Header.Get("Origin"), "err", err)
		return nil, err
	}
	c.SetReadLimit(maxFrame)
	return c, nil
}

// pump writes a peer's queue to its socket until either ends, pinging
// now and then so a dead link is found.
func pump(ctx context.Context, c *websocket.Conn, p *peer) {
	tick := time.NewTicker(25 * time.Second)
	defer tick.Stop()
	for {
		select {
		case b := <-p.out:
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := c.Write(wctx, websocket.MessageText, b)
			cancel()
			if err != nil {
				p.drop()
				return
			}
		case <-tick.C:
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := c.Ping(pctx)
			cancel()
			if err != nil {
				p.drop()
				return
			}
		case <-p.gone:
			c.Close(websocket.StatusGoingAway, "")
			return
		case <-ctx.Done():
			return
		}
	}
}

func (d *Desk) history(ctx context.Context, conv int64) ([]messageView, error) {
	if conv == 0 {
		return nil, nil
	}
	ms, err := d.cfg.Store.SupportMessages(ctx, conv, 0)
	if err != nil {
		return nil, err
	}
	out := make([]messageView, 0, len(ms))
	for _, m := range ms {
		out = append(out, *view(m))
	}
	return out, nil
}

// buyerSocket is a buyer's chat: the history and whether staff are online
// first, then each message in or out.
func (d *Desk) buyerSocket(w http.ResponseWriter, r *http.Request) {
	b, key, conv, err := d.chatOf(r)
	if err != nil {
		d.internal(w, r, err)
		return
	}
	if b == nil && key == "" {
		http.Error(w, "open the chat's page first", http.StatusUnauthorized)
		return
	}
	hist, err := d.history(r.Context(), conv.ID)
	if err != nil {
		d.internal(w, r, err)
		return
	}
	c, err := d.accept(w, r)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	p := d.Hub.newPeer("", conv.ID)
	d.Hub.addBuyer(p)
	defer d.Hub.remove(p)
	online := d.Hub.StaffOnline() > 0
	d.Hub.send(p, encode(event{Type: "hello", Conv: conv.ID, Status: conv.Status, StaffOnline: &online, History: hist}))
	go func() { pump(ctx, c, p); cancel() }()
	var account int64
	lang := web.LangOf(r)
	if b != nil {
		account = b.ID
	}
	limit := bucket{burst: d.cfg.ChatBurst, every: d.cfg.ChatEvery}
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return
		}
		var in incoming
		if json.Unmarshal(data, &in) != nil {
			d.Hub.send(p, encode(event{Type: "error", Error: "support.bad_message"}))
			continue
		}
		if !limit.take(d.now()) {
			d.Hub.send(p, encode(event{Type: "error", Error: "support.slow_down", Ref: in.Ref}))
			continue
		}
		if conv.ID == 0 {
			var m store.SupportMessage
			conv, m, err = d.Open(ctx, Opening{Account: account, Email: in.Email, ChatKey: key, Channel: "chat", Body: in.Body, Lang: lang})
			if err == nil {
				d.Hub.bind(p, conv.ID)
				d.Hub.send(p, encode(event{Type: "message", Conv: conv.ID, Message: view(m), Ref: in.Ref}))
			}
		} else {
			_, err = d.BuyerWrites(ctx, conv, in.Body, "chat")
		}
		switch {
		case errors.Is(err, ErrEmpty):
			d.Hub.send(p, encode(event{Type: "error", Error: "support.empty", Ref: in.Ref}))
			continue
		case errors.Is(err, ErrAddress):
			d.Hub.send(p, encode(event{Type: "error", Error: "support.bad_email", Ref: in.Ref}))
			continue
		case err != nil:
			d.cfg.Logger.Error("support: chat message", "err", err)
			d.Hub.send(p, encode(event{Type: "error", Error: "support.failed", Ref: in.Ref}))
			continue
		}
		if d.Hub.StaffOnline() == 0 {
			d.Hub.send(p, encode(event{Type: "offline", Conv: conv.ID, Ref: in.Ref}))
		}
	}
}

// staffSocket is a staff member's live view: every buyer's message in,
// and their replies out.
func (d *Desk) staffSocket(w http.ResponseWriter, r *http.Request, s staff.Session) {
	c, err := d.accept(w, r)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	// A conversation's screen asks for its history with each connection,
	// so what came while it was reconnecting is not missed.
	hello := event{Type: "hello"}
	if id, err := strconv.ParseInt(r.URL.Query().Get("conv"), 10, 64); err == nil && id > 0 {
		if hello.History, err = d.history(ctx, id); err != nil {
			d.cfg.Logger.Error("support: history", "conversation", id, "err", err)
		}
		hello.Conv = id
	}
	p := d.Hub.newPeer(s.User, 0)
	d.Hub.addStaff(p)
	defer d.Hub.remove(p)
	d.Hub.send(p, encode(hello))
	go func() { pump(ctx, c, p); cancel() }()
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return
		}
		var in incoming
		if json.Unmarshal(data, &in) != nil || in.Conv <= 0 {
			d.Hub.send(p, encode(event{Type: "error", Error: "support.bad_message"}))
			continue
		}
		if !mayAnswer(s.Role) {
			d.Hub.send(p, encode(event{Type: "error", Error: "support.may_not", Conv: in.Conv, Ref: in.Ref}))
			continue
		}
		_, err = d.Reply(ctx, s.User, in.Conv, in.Body, "chat")
		switch {
		case errors.Is(err, ErrEmpty):
			d.Hub.send(p, encode(event{Type: "error", Error: "support.empty", Conv: in.Conv, Ref: in.Ref}))
		case errors.Is(err, store.ErrNotFound):
			d.Hub.send(p, encode(event{Type: "error", Error: "support.unknown", Conv: in.Conv, Ref: in.Ref}))
		case err != nil:
			d.cfg.Logger.Error("support: chat reply", "user", s.User, "conversation", in.Conv, "err", err)
			d.Hub.send(p, encode(event{Type: "error", Error: "support.failed", Conv: in.Conv, Ref: in.Ref}))
		}
	}
}

func pathID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

// bucket is a token bucket: burst tokens, one more every every (off when
// every is negative).
type bucket struct {
	burst  int
	every  time.Duration
	tokens float64
	last   time.Time
}

func (b *bucket) take(now time.Time) bool {
	if b.every < 0 {
		return true
	}
	if b.last.IsZero() {
		b.tokens = float64(b.burst)
	} else {
		b.tokens = min(float64(b.burst), b.tokens+float64(now.Sub(b.last))/float64(b.every))
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
