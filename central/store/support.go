package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Conversation is one question of a buyer to the support desk (a ticket):
// its messages are SupportMessages.
type Conversation struct {
	ID    int64
	Token string // the secret a reply by mail quotes: [ref:TOKEN]
	// Account is the buyer's, 0 when nobody was logged in: then Email
	// (mail) or ChatKey (the chat cookie's hash) says whose it is.
	Account int64
	Order   int64 // the order it is about, 0 for none
	Email   string
	ChatKey string
	Channel string // web, chat, mail
	Subject string
	Lang    string // the buyer's language: mails to them are in it
	Status  string // open, pending (on the buyer), solved
	// Assignee is the staff member who answers it, "" for nobody yet.
	Assignee      string
	Created       time.Time
	Updated       time.Time // the last message or change
	FirstResponse time.Time // the first staff message, zero before it
}

// SupportMessage is one message of a conversation.
type SupportMessage struct {
	ID           int64
	Conversation int64
	At           time.Time
	AuthorKind   string // buyer, staff, system
	Author       string // the staff member's name; "" for the buyer
	Via          string // web, chat, mail
	Body         string
}

// The conversations' statuses.
const (
	ConversationOpen    = "open"    // the desk owes an answer
	ConversationPending = "pending" // the desk waits for the buyer
	ConversationSolved  = "solved"
)

// OpenConversation stores a new conversation (c.ID is ignored) and returns
// its id.
func (t *Tx) OpenConversation(c Conversation) (int64, error) {
	var id int64
	err := t.queryRow(`INSERT INTO support_conversations (token, account, order_id, email, chat_key, channel, subject, lang, status, assignee, created, updated, first_response)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, 0) RETURNING id`,
		c.Token, c.Account, c.Order, c.Email, c.ChatKey, c.Channel, c.Subject, c.Lang, c.Status, c.Assignee, micros(c.Created)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("open conversation: %w", err)
	}
	return id, nil
}

// AddSupportMessage appends a message to its conversation and returns its
// id. A staff message is the conversation's first response when none came
// before; a buyer's reopens a conversation that was pending or solved.
func (t *Tx) AddSupportMessage(m SupportMessage) (int64, error) {
	var id int64
	err := t.queryRow(`INSERT INTO support_messages (conversation, at, author_kind, author, via, body) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		m.Conversation, micros(m.At), m.AuthorKind, m.Author, m.Via, m.Body).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("conversation %d: add message: %w", m.Conversation, err)
	}
	q := `UPDATE support_conversations SET updated = $2 WHERE id = $1`
	switch m.AuthorKind {
	case "staff":
		q = `UPDATE support_conversations SET updated = $2, first_response = CASE WHEN first_response = 0 THEN $2 ELSE first_response END WHERE id = $1`
	case "buyer":
		q = `UPDATE support_conversations SET updated = $2, status = 'open' WHERE id = $1`
	}
	res, err := t.exec(q, m.Conversation, micros(m.At))
	if err != nil {
		return 0, fmt.Errorf("conversation %d: %w", m.Conversation, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return 0, fmt.Errorf("conversation %d: %w", m.Conversation, ErrNotFound)
	}
	return id, nil
}

// SetConversationStatus changes a conversation's status.
func (t *Tx) SetConversationStatus(id int64, status string, at time.Time) error {
	if !slices.Contains([]string{ConversationOpen, ConversationPending, ConversationSolved}, status) {
		return fmt.Errorf("conversation %d: status %q: want open, pending or solved", id, status)
	}
	return t.updateConversation(id, `status = $2, updated = $3`, status, micros(at))
}

// AssignConversation gives a conversation to a staff member ("" to nobody).
func (t *Tx) AssignConversation(id int64, assignee string, at time.Time) error {
	return t.updateConversation(id, `assignee = $2, updated = $3`, assignee, micros(at))
}

// AttachConversation ties a conversation made before the buyer logged in
// (or by mail) to their account.
func (t *Tx) AttachConversation(id, account int64) error {
	return t.updateConversation(id, `account = $2`, account)
}

func (t *Tx) updateConversation(id int64, set string, args ...any) error {
	res, err := t.exec(`UPDATE support_conversations SET `+set+` WHERE id = $1`, append([]any{id}, args...)...)
	if err != nil {
		return fmt.Errorf("conversation %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("conversation %d: %w", id, ErrNotFound)
	}
	return nil
}

const conversationColumns = `id, token, account, order_id, email, chat_key, channel, subject, lang, status, assignee, created, updated, first_response`

func scanConversation(sc interface{ Scan(...any) error }) (Conversation, error) {
	var c Conversation
	var created, updated, first int64
	err := sc.Scan(&c.ID, &c.Token, &c.Account, &c.Order, &c.Email, &c.ChatKey, &c.Channel, &c.Subject, &c.Lang, &c.Status, &c.Assignee, &created, &updated, &first)
	c.Created, c.Updated, c.FirstResponse = fromMicros(created), fromMicros(updated), fromMicros(first)
	return c, err
}

// Conversation reads one conversation.
func (d *DB) Conversation(ctx context.Context, id int64) (Conversation, error) {
	c, err := scanConversation(d.db.QueryRowContext(ctx, `SELECT `+conversationColumns+` FROM support_conversations WHERE id = $1`, id))
	return c, notFound(err, fmt.Sprintf("conversation %d", id))
}

// ConversationByToken finds the conversation a mail's token names.
func (d *DB) ConversationByToken(ctx context.Context, token string) (Conversation, error) {
	c, err := scanConversation(d.db.QueryRowContext(ctx, `SELECT `+conversationColumns+` FROM support_conversations WHERE token = $1`, token))
	return c, notFound(err, "conversation")
}

// ChatConversation is the latest conversation of a chat (by the buyer's
// account when not 0, else by the chat cookie's key) that is not solved;
// ErrNotFound when there is none.
func (d *DB) ChatConversation(ctx context.Context, account int64, chatKey string) (Conversation, error) {
	q, arg := `SELECT `+conversationColumns+` FROM support_conversations WHERE account = $1 AND channel = 'chat' AND status <> 'solved' ORDER BY id DESC LIMIT 1`, any(account)
	if account == 0 {
		q, arg = `SELECT `+conversationColumns+` FROM support_conversations WHERE chat_key = $1 AND account = 0 AND channel = 'chat' AND status <> 'solved' ORDER BY id DESC LIMIT 1`, chatKey
	}
	c, err := scanConversation(d.db.QueryRowContext(ctx, q, arg))
	return c, notFound(err, "chat")
}

// ConversationFilter picks conversations; its zero value is every one.
type ConversationFilter struct {
	Status   string // "" any
	Assignee string // "" any
	Account  int64  // 0 any
	Limit    int    // 0: 200
}

// Conversations lists conversations, the latest changed first.
func (d *DB) Conversations(ctx context.Context, f ConversationFilter) ([]Conversation, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Status != "" {
		add("status = $%d", f.Status)
	}
	if f.Assignee != "" {
		add("assignee = $%d", f.Assignee)
	}
	if f.Account != 0 {
		add("account = $%d", f.Account)
	}
	if f.Limit <= 0 {
		f.Limit = 200
	}
	q := `SELECT ` + conversationColumns + ` FROM support_conversations`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, f.Limit)
	q += fmt.Sprintf(` ORDER BY updated DESC, id DESC LIMIT $%d`, len(args))
	rows, err := d.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("conversations: %w", err)
	}
	defer rows.Close()
	var out []Conversation
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// SupportMessages are a conversation's messages after the id after, in
// order.
func (d *DB) SupportMessages(ctx context.Context, conversation, after int64) ([]SupportMessage, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id, conversation, at, author_kind, author, via, body FROM support_messages
		WHERE conversation = $1 AND id > $2 ORDER BY id`, conversation, after)
	if err != nil {
		return nil, fmt.Errorf("conversation %d: messages: %w", conversation, err)
	}
	defer rows.Close()
	var out []SupportMessage
	for rows.Next() {
		var m SupportMessage
		var at int64
		if err := rows.Scan(&m.ID, &m.Conversation, &at, &m.AuthorKind, &m.Author, &m.Via, &m.Body); err != nil {
			return nil, err
		}
		m.At = fromMicros(at)
		out = append(out, m)
	}
	return out, rows.Err()
}

// SupportFigures are the desk's response figures.
type SupportFigures struct {
	Open, Pending, Solved int
	// FirstResponseMedian is the median time from a conversation's start
	// to the first staff message, over the latest Answered conversations
	// that have one (at most 1000).
	FirstResponseMedian time.Duration
	Answered            int
	// Unanswered is how many open conversations have no staff message.
	Unanswered int
}

// SupportFigures counts the conversations by status and takes the median
// first response time.
func (d *DB) SupportFigures(ctx context.Context) (SupportFigures, error) {
	var f SupportFigures
	rows, err := d.db.QueryContext(ctx, `SELECT status, COUNT(*), SUM(CASE WHEN first_response = 0 THEN 1 ELSE 0 END) FROM support_conversations GROUP BY status`)
	if err != nil {
		return f, fmt.Errorf("support figures: %w", err)
	}
	for rows.Next() {
		var s string
		var n, un int
		if err := rows.Scan(&s, &n, &un); err != nil {
			rows.Close()
			return f, err
		}
		switch s {
		case ConversationOpen:
			f.Open, f.Unanswered = n, un
		case ConversationPending:
			f.Pending = n
		case ConversationSolved:
			f.Solved = n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return f, err
	}
	rows, err = d.db.QueryContext(ctx, `SELECT first_response - created FROM support_conversations WHERE first_response > 0 ORDER BY id DESC LIMIT 1000`)
	if err != nil {
		return f, fmt.Errorf("support figures: %w", err)
	}
	defer rows.Close()
	var ds []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return f, err
		}
		ds = append(ds, v)
	}
	if err := rows.Err(); err != nil {
		return f, err
	}
	f.Answered = len(ds)
	if len(ds) > 0 {
		slices.Sort(ds)
		m := ds[len(ds)/2]
		if len(ds)%2 == 0 {
			m = (ds[len(ds)/2-1] + ds[len(ds)/2]) / 2
		}
		f.FirstResponseMedian = time.Duration(m) * time.Microsecond
	}
	return f, nil
}
