package support

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/emersion/go-smtp"
	"golang.org/x/text/encoding/htmlindex"

	"github.com/tixgate/tixgate/central/store"
)

// SMTP is the desk's incoming mail server: put it behind the domain's MX
// (or a relay that forwards support@ to it). It takes mail for any
// recipient, files each by the conversation token it carries (in the
// recipient, support+TOKEN@, or in the subject, [ref:TOKEN]), and opens a
// new conversation for a mail without one. Automatic replies are accepted
// and dropped, so two robots cannot mail each other for ever.
type SMTP struct {
	srv *smtp.Server
}

// NewSMTP makes the desk's mail server for the host name domain.
func (d *Desk) NewSMTP(domain string) *SMTP {
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &mailSession{d: d}, nil }))
	s.Domain = domain
	s.MaxMessageBytes = d.cfg.MaxMailBytes
	s.MaxRecipients = 10
	s.ReadTimeout, s.WriteTimeout = time.Minute, time.Minute
	s.EnableSMTPUTF8 = true
	s.ErrorLog = slog.NewLogLogger(d.cfg.Logger.Handler(), slog.LevelWarn)
	return &SMTP{srv: s}
}

// Serve accepts mail on l until ctx ends.
func (s *SMTP) Serve(ctx context.Context, l net.Listener) error {
	done := make(chan error, 1)
	go func() { done <- s.srv.Serve(l) }()
	select {
	case err := <-done:
		return fmt.Errorf("support: smtp: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.srv.Shutdown(sctx)
	<-done
	return nil
}

// ServeSMTP serves the desk's mail on l until ctx ends.
func (d *Desk) ServeSMTP(ctx context.Context, l net.Listener) error {
	d.cfg.Logger.Info("support mail serving", "addr", l.Addr().String())
	host := "localhost"
	if u, err := url.Parse(d.cfg.BaseURL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	return d.NewSMTP(host).Serve(ctx, l)
}

type mailSession struct {
	d     *Desk
	from  string
	rcpts []string
}

func (s *mailSession) Reset()        { s.from, s.rcpts = "", nil }
func (s *mailSession) Logout() error { return nil }

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if _, err := mail.ParseAddress(to); err != nil {
		return &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 1, 3}, Message: "not a mail address"}
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

func refuse(msg string) error {
	return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: msg}
}

func (s *mailSession) Data(r io.Reader) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := s.d.ReceiveMail(ctx, s.rcpts, r)
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return err
	}
	if err != nil {
		s.d.cfg.Logger.Error("support: incoming mail", "err", err)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	return nil
}

var (
	refInSubject = regexp.MustCompile(`\[ref:([a-z2-7]{16})\]`)
	refInRcpt    = regexp.MustCompile(`^[^+@]+\+([a-z2-7]{16})@`)
)

// ReceiveMail files one mail (its text, headers and body) for the desk:
// into the conversation its token names, else into a new one.
func (d *Desk) ReceiveMail(ctx context.Context, rcpts []string, r io.Reader) error {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return refuse("the message cannot be read: " + err.Error())
	}
	h := msg.Header
	if a := strings.ToLower(h.Get("Auto-Submitted")); (a != "" && a != "no") || strings.Contains(strings.ToLower(h.Get("Precedence")), "bulk") ||
		strings.Contains(strings.ToLower(h.Get("Precedence")), "auto_reply") || h.Get("X-Autoreply") != "" {
		d.cfg.Logger.Info("support: automatic mail dropped")
		return nil
	}
	from, err := mail.ParseAddress(decodeHeader(h.Get("From")))
	if err != nil {
		return refuse("the From header is not a mail address")
	}
	subject := strings.TrimSpace(decodeHeader(h.Get("Subject")))
	text, err := plainText(h.Get("Content-Type"), h.Get("Content-Transfer-Encoding"), msg.Body, 0)
	if err != nil {
		return refuse("no readable text: " + err.Error())
	}
	text = stripQuoted(text)
	tok := ""
	for _, rc := range rcpts {
		if m := refInRcpt.FindStringSubmatch(strings.ToLower(rc)); m != nil {
			tok = m[1]
			break
		}
	}
	if tok == "" {
		if m := refInSubject.FindStringSubmatch(strings.ToLower(subject)); m != nil {
			tok = m[1]
		}
	}
	if tok != "" {
		c, err := d.cfg.Store.ConversationByToken(ctx, tok)
		if err == nil {
			_, err = d.BuyerWrites(ctx, c, text, "mail")
			if errors.Is(err, ErrEmpty) {
				return refuse("the message has no text, or too much")
			}
			if err == nil {
				d.cfg.Logger.Info("support: mail filed", "conversation", c.ID)
			}
			return err
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		// An unknown token: a new conversation, as if there were none.
	}
	addr := strings.ToLower(from.Address)
	var account int64
	if a, err := d.cfg.Store.AccountByEmail(ctx, addr); err == nil && a.DeletedAt.IsZero() {
		account = a.ID
	}
	subject = strings.TrimSpace(refInSubject.ReplaceAllString(subject, ""))
	lang := "en"
	if strings.IndexFunc(subject+text, func(r rune) bool { return unicode.Is(unicode.Han, r) }) >= 0 {
		lang = "zh"
	}
	c, _, err := d.Open(ctx, Opening{Account: account, Email: addr, Channel: "mail", Subject: subject, Body: text, Lang: lang})
	if errors.Is(err, ErrEmpty) || errors.Is(err, ErrAddress) {
		return refuse("the message has no text, or too much")
	}
	if err == nil {
		d.cfg.Logger.Info("support: mail opened a conversation", "conversation", c.ID)
	}
	return err
}

func decodeHeader(v string) string {
	dec := mime.WordDecoder{CharsetReader: charsetReader}
	if s, err := dec.DecodeHeader(v); err == nil {
		return s
	}
	return v
}

func charsetReader(charset string, r io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "", "utf-8", "us-ascii":
		return r, nil
	}
	e, err := htmlindex.Get(charset)
	if err != nil {
		return nil, fmt.Errorf("charset %s: %w", charset, err)
	}
	return e.NewDecoder().Reader(r), nil
}

// plainText is a mail part's text: the text/plain part of a multipart,
// else the part itself when it is text (HTML with its tags taken out).
func plainText(contentType, encoding string, body io.Reader, depth int) (string, error) {
	if depth > 5 {
		return "", errors.New("parts nested too deep")
	}
	if contentType == "" {
		contentType = "text/plain; charset=us-ascii"
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", fmt.Errorf("content type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		var html string
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return "", err
			}
			t, err := plainText(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, depth+1)
			if err != nil {
				continue
			}
			if pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); pt == "text/html" {
				html = t
				continue
			}
			if strings.TrimSpace(t) != "" {
				return t, nil
			}
		}
		if html != "" {
			return html, nil
		}
		return "", errors.New("no text part")
	}
	if mt != "text/plain" && mt != "text/html" {
		return "", fmt.Errorf("a %s part", mt)
	}
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, &noSpace{r: body})
	}
	body, err = charsetReader(params["charset"], body)
	if err != nil {
		return "", err
	}
	b, err := io.ReadAll(io.LimitReader(body, 1<<20))
	if err != nil {
		return "", err
	}
	if mt == "text/html" {
		return stripTags(string(b)), nil
	}
	return string(b), nil
}

// noSpace drops the line breaks of base64 text.
type noSpace struct{ r io.Reader }

func (n *noSpace) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	out := p[:0]
	for _, c := range p[:k] {
		if c != '\r' && c != '\n' && c != ' ' && c != '\t' {
			out = append(out, c)
		}
	}
	return len(out), err
}

var tags = regexp.MustCompile(`(?s)<(script|style)[^>]*>.*?</(script|style)>|<[^>]*>`)

func stripTags(s string) string {
	s = strings.NewReplacer("<br>", "\n", "<br/>", "\n", "<br />", "\n", "</p>", "\n").Replace(s)
	s = tags.ReplaceAllString(s, "")
	return strings.NewReplacer("&nbsp;", " ", "&lt;", "<", "&gt;", ">", "&quot;", `"`, "&#39;", "'", "&amp;", "&").Replace(s)
}

var quoteHead = regexp.MustCompile(`^(On .+ wrote:|在.+写道[：:]|-+ ?Original Message ?-+|-+ ?原始邮件 ?-+)$`)

// stripQuoted cuts the quoted mail a reply carries below the answer.
func stripQuoted(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var out []string
	for _, line := range strings.Split(s, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, ">") || quoteHead.MatchString(t) {
			break
		}
		out = append(out, line)
	}
	return strings.TrimSpace(string(bytes.TrimSpace([]byte(strings.Join(out, "\n")))))
}
