package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The support inbox on both databases: a conversation opens, a staff
// answer is its first response, a buyer's message reopens it, the filters
// and figures count what they should, and an unknown one is ErrNotFound.
func TestSupportConversations(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			d := openTest(t, dialect)
			t0 := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
			var ids []int64
			err := d.Update(ctx, func(tx *Tx) error {
				ids = ids[:0]
				for i, c := range []Conversation{
					{Token: "tok-a", Account: 7, Order: 42, Channel: "web", Subject: "Where are my tickets?", Lang: "en", Status: ConversationOpen, Created: t0},
					{Token: "tok-b", Email: "x@example.com", Channel: "mail", Subject: "退票", Lang: "zh", Status: ConversationOpen, Created: t0.Add(time.Minute)},
					{Token: "tok-c", ChatKey: "k1", Channel: "chat", Subject: "chat", Lang: "en", Status: ConversationOpen, Created: t0.Add(2 * time.Minute)},
				} {
					id, err := tx.OpenConversation(c)
					if err != nil {
						return err
					}
					ids = append(ids, id)
					if _, err := tx.AddSupportMessage(SupportMessage{Conversation: id, At: c.Created, AuthorKind: "buyer", Via: c.Channel, Body: "question " + string(rune('1'+i))}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			// Answers after 4 and 10 minutes: the median is 7.
			err = d.Update(ctx, func(tx *Tx) error {
				if _, err := tx.AddSupportMessage(SupportMessage{Conversation: ids[0], At: t0.Add(4 * time.Minute), AuthorKind: "staff", Author: "mei", Via: "web", Body: "attached"}); err != nil {
					return err
				}
				if _, err := tx.AddSupportMessage(SupportMessage{Conversation: ids[0], At: t0.Add(30 * time.Minute), AuthorKind: "staff", Author: "mei", Via: "web", Body: "again"}); err != nil {
					return err
				}
				if _, err := tx.AddSupportMessage(SupportMessage{Conversation: ids[1], At: t0.Add(11 * time.Minute), AuthorKind: "staff", Author: "li", Via: "mail", Body: "好的"}); err != nil {
					return err
				}
				if err := tx.SetConversationStatus(ids[0], ConversationPending, t0.Add(31*time.Minute)); err != nil {
					return err
				}
				if err := tx.SetConversationStatus(ids[1], ConversationSolved, t0.Add(32*time.Minute)); err != nil {
					return err
				}
				return tx.AssignConversation(ids[2], "mei", t0.Add(33*time.Minute))
			})
			if err != nil {
				t.Fatal(err)
			}
			c, err := d.Conversation(ctx, ids[0])
			if err != nil || !c.FirstResponse.Equal(t0.Add(4*time.Minute)) || c.Status != ConversationPending || c.Order != 42 || c.Account != 7 {
				t.Errorf("conversation: %+v, %v", c, err)
			}
			f, err := d.SupportFigures(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if want := (SupportFigures{Open: 1, Pending: 1, Solved: 1, FirstResponseMedian: 7 * time.Minute, Answered: 2, Unanswered: 1}); f != want {
				t.Errorf("figures %+v, want %+v", f, want)
			}
			// The buyer writes again: pending → open.
			err = d.Update(ctx, func(tx *Tx) error {
				_, err := tx.AddSupportMessage(SupportMessage{Conversation: ids[0], At: t0.Add(time.Hour), AuthorKind: "buyer", Via: "mail", Body: "thanks, but"})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			open, err := d.Conversations(ctx, ConversationFilter{Status: ConversationOpen})
			if err != nil || len(open) != 2 || open[0].ID != ids[0] {
				t.Errorf("open conversations: %+v, %v", open, err)
			}
			mine, _ := d.Conversations(ctx, ConversationFilter{Assignee: "mei"})
			if len(mine) != 1 || mine[0].ID != ids[2] {
				t.Errorf("mei's: %+v", mine)
			}
			msgs, err := d.SupportMessages(ctx, ids[0], 0)
			if err != nil || len(msgs) != 4 || msgs[0].Body != "question 1" || msgs[1].Author != "mei" || msgs[3].Via != "mail" {
				t.Errorf("messages: %+v, %v", msgs, err)
			}
			later, _ := d.SupportMessages(ctx, ids[0], msgs[1].ID)
			if len(later) != 2 {
				t.Errorf("messages after %d: %d, want 2", msgs[1].ID, len(later))
			}
			if c, err := d.ConversationByToken(ctx, "tok-b"); err != nil || c.ID != ids[1] || c.Subject != "退票" {
				t.Errorf("by token: %+v, %v", c, err)
			}
			if c, err := d.ChatConversation(ctx, 0, "k1"); err != nil || c.ID != ids[2] {
				t.Errorf("chat: %+v, %v", c, err)
			}
			if _, err := d.ChatConversation(ctx, 0, "k2"); !errors.Is(err, ErrNotFound) {
				t.Errorf("another chat key: %v, want ErrNotFound", err)
			}
			if _, err := d.ConversationByToken(ctx, "nope"); !errors.Is(err, ErrNotFound) {
				t.Errorf("unknown token: %v", err)
			}
			err = d.Update(ctx, func(tx *Tx) error { return tx.SetConversationStatus(ids[0], "closed", t0) })
			if err == nil {
				t.Error("status closed was stored")
			}
			err = d.Update(ctx, func(tx *Tx) error {
				_, err := tx.AddSupportMessage(SupportMessage{Conversation: 999, At: t0, AuthorKind: "buyer", Via: "web", Body: "x"})
				return err
			})
			if err == nil {
				t.Error("a message to no conversation was stored")
			}
		})
	}
}
