package shop

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"

	"github.com/wneessen/go-mail"
)

// Message is one mail to a buyer (or to staff).
type Message struct {
	To, Subject, Body string
	Attachments       []Attachment
	// ReplyTo, when set, is where the buyer's answer goes (the support
	// desk's address of the conversation).
	ReplyTo string
}

// Attachment is a file sent with a message.
type Attachment struct {
	Name, ContentType string
	Data              []byte
}

// Mailer sends mail. Send must return only once the message is accepted
// by the next hop, or an error.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// SMTP sends through an SMTP server.
type SMTP struct {
	Host string
	Port int
	From string
	// Username and Password, when set, authenticate (PLAIN, over TLS
	// only unless Insecure).
	Username, Password string
	// Insecure sends without TLS: for a local relay or a test server.
	Insecure bool
}

var _ Mailer = (*SMTP)(nil)

// Send sends m.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg := mail.NewMsg()
	if err := msg.From(s.From); err != nil {
		return fmt.Errorf("mail from %q: %w", s.From, err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("mail to %q: %w", m.To, err)
	}
	if m.ReplyTo != "" {
		if err := msg.ReplyTo(m.ReplyTo); err != nil {
			return fmt.Errorf("mail reply-to %q: %w", m.ReplyTo, err)
		}
	}
	msg.Subject(m.Subject)
	msg.SetBodyString(mail.TypeTextPlain, m.Body)
	for _, a := range m.Attachments {
		if err := msg.AttachReader(a.Name, bytes.NewReader(a.Data), mail.WithFileContentType(mail.ContentType(a.ContentType))); err != nil {
			return fmt.Errorf("mail attachment %s: %w", a.Name, err)
		}
	}
	opts := []mail.Option{mail.WithPort(s.Port)}
	if s.Insecure {
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	} else {
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if s.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthPlain), mail.WithUsername(s.Username), mail.WithPassword(s.Password))
	}
	c, err := mail.NewClient(s.Host, opts...)
	if err != nil {
		return fmt.Errorf("mail client for %s: %w", s.Host, err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("send mail to %s via %s:%d: %w", m.To, s.Host, s.Port, err)
	}
	return nil
}

// logMailer stands in for SMTP in development: it logs that a mail was
// not sent, and its body (which holds links that sign in) only at debug
// level, so a production log at info never carries them.
type logMailer struct{ log *slog.Logger }

func (l logMailer) Send(ctx context.Context, m Message) error {
	l.log.Warn("mail not sent: no SMTP configured (start central with --smtp HOST:PORT --mail-from ADDR)", "to", m.To, "subject", m.Subject)
	l.log.DebugContext(ctx, "unsent mail", "to", m.To, "body", m.Body)
	return nil
}
