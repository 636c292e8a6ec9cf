package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"

	"github.com/tixgate/tixgate/edge"
	"github.com/tixgate/tixgate/uplink"
)

func runEnroll(ctx context.Context, e *env, cl *cmdline) error {
	data := dataFlag(cl)
	url := cl.String("url", "", "central's URL")
	token := cl.String("token", "", "the one-time setup token from ops")
	code := cl.String("code", "", "the setup QR's text, {\"v\":1,\"url\":…,\"token\":…}, instead of --url and --token")
	encKey := cl.String("encryption-key", "", "ledger encryption key file to copy into DIR (made if missing; default: a new random key)")
	if _, err := cl.parseN(0, ""); err != nil {
		return err
	}
	if *code != "" {
		sc, err := uplink.ParseSetupCode(*code)
		if err != nil {
			return usageError("--code: %v", err)
		}
		*url, *token = sc.URL, sc.Token
	}
	if err := need(cl.Name(), map[string]bool{"data": *data != "", "url": *url != "", "token": *token != ""}); err != nil {
		return err
	}
	resp, err := edge.Enroll(ctx, edge.Enrollment{Dir: *data, URL: *url, Token: *token, Version: version, Hardware: hardware(),
		EncryptionKey: *encKey, Ledger: ledgerConfig(e, *data), Clock: clockFunc(e.now)})
	if err != nil {
		var ue *uplink.Error
		var oe *net.OpError
		switch {
		case errors.As(err, &ue):
			return errors.New(ue.Message)
		case errors.As(err, &oe):
			return fmt.Errorf("enroll: central cannot be reached at %s (%v): check the URL and that central is running, then try again with the same token", *url, oe.Err)
		}
		return err
	}
	if resp.Gate == "" {
		fmt.Fprintf(e.stdout, "enrolled %s %q (key %s) of venue %s in %s; run it with: tixgate edge --data %s --central %s\n",
			resp.Cert.Role, resp.Cert.Device, resp.Cert.ID(), resp.Venue, *data, *data, *url)
		return nil
	}
	fmt.Fprintf(e.stdout, "enrolled %s %q (key %s) of venue %s, gate %q, in %s; run it with: tixgate edge --data %s --central %s (it serves gate %q unless --gate says otherwise)\n",
		resp.Cert.Role, resp.Cert.Device, resp.Cert.ID(), resp.Venue, resp.Gate, *data, *data, *url, resp.Gate)
	return nil
}

// hardware names the machine, for central's device list.
func hardware() string {
	h := runtime.GOOS + "/" + runtime.GOARCH
	if b, err := os.ReadFile("/proc/device-tree/model"); err == nil {
		h += " " + strings.TrimRight(string(b), "\x00\n")
	}
	return h
}
