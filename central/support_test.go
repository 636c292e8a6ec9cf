package central

import (
	"context"
	"fmt"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/central/testsrv"
)

// Central with --support-smtp takes buyers' mail while it runs: a mail
// sent to it with net/smtp becomes a conversation of the buyer's account
// (found by the sender's address), and the port closes with the server.
func TestSupportMailThroughRun(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", testsrv.FreePort(t))
	f := newFixtureWith(t, "", func(c *Config) { c.SupportSMTP = addr; c.SupportAddress = "support@tickets.test" })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() { done <- f.srv.Run(ctx, func(string) { close(ready) }) }()
	<-ready
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		msg := "From: Buyer <buyer@example.org>\r\nTo: support@tickets.test\r\nSubject: Lost ticket\r\n\r\nI lost my phone with the ticket.\r\n"
		if err = smtp.SendMail(addr, nil, "buyer@example.org", []string{"support@tickets.test"}, []byte(msg)); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	cs, err := f.db.Conversations(context.Background(), store.ConversationFilter{})
	if err != nil || len(cs) != 1 || cs[0].Subject != "Lost ticket" || cs[0].Channel != "mail" || cs[0].Email != "buyer@example.org" {
		t.Fatalf("conversations %+v, %v", cs, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := smtp.SendMail(addr, nil, "buyer@example.org", []string{"support@tickets.test"}, []byte("Subject: x\r\n\r\ny\r\n")); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("after the stop the mail port still answers: %v", err)
	}
}
