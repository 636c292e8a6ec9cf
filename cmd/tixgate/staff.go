package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/tixgate/tixgate/edge"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ticket"
)

func staffCommands() *command {
	return &command{name: "staff", summary: "the staff accounts that log in to a device's web UI", subs: []*command{
		{name: "add", usage: "--data DIR --name N --role gate|supervisor|seller", summary: "add an account or change its role and PIN (the PIN is read from the terminal, or from stdin)", run: runStaffAdd},
		{name: "list", usage: "--data DIR", summary: "list the accounts and their roles", run: runStaffList},
		{name: "remove", usage: "--data DIR --name N", summary: "remove an account", run: runStaffRemove},
	}}
}

func runStaffAdd(_ context.Context, e *env, cl *cmdline) error {
	data := cl.String("data", "", "device data directory")
	name := cl.String("name", "", "the person's name, as typed at login")
	role := cl.String("role", "gate", "gate (scans), supervisor (scans and overrides) or seller (sells and keeps a till, on a seller device)")
	if _, err := cl.parseN(0, ""); err != nil {
		return err
	}
	if err := need(cl.Name(), map[string]bool{"data": *data != "", "name": *name != ""}); err != nil {
		return err
	}
	r, err := edge.ParseRole(*role)
	if err != nil {
		return usageError("%s: %v", cl.Name(), err)
	}
	if err := edge.ValidateStaffName(*name); err != nil {
		return usageError("%s: %v", cl.Name(), err)
	}
	// A folder not yet provisioned may get its staff first; a gate's
	// staff cannot sell.
	if id, err := ledger.LoadIdentity(*data); err == nil && id.Cert.Role == ticket.RoleGate && r == edge.RoleSeller {
		return usageError("%s: %s is a gate device, which sells nothing: its staff are gate or supervisor (a seller handheld takes --role seller)", cl.Name(), *data)
	}
	pin, err := readPIN(e)
	if err != nil {
		return err
	}
	if err := edge.AddStaff(*data, *name, r, pin); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "staff %s (%s) saved in %s\n", *name, r, edge.StaffFile)
	return nil
}

// readPIN asks twice on a terminal without echo; from a pipe it reads one line.
func readPIN(e *env) (string, error) {
	return readSecret(e, "PIN", "PIN (at least 4 digits): ", edge.ValidatePIN)
}

// readSecret asks for a secret twice on a terminal without echo; from a
// pipe it reads one line. valid checks it.
func readSecret(e *env, what, prompt string, valid func(string) error) (string, error) {
	if f, ok := e.stdin.(*os.File); ok && e.stdinTTY {
		ask := func(prompt string) (string, error) {
			fmt.Fprint(e.stderr, prompt)
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(e.stderr)
			if err != nil {
				return "", fmt.Errorf("read %s: %w", strings.ToLower(what), err)
			}
			return string(b), nil
		}
		v, err := ask(prompt)
		if err != nil {
			return "", err
		}
		again, err := ask(what + " again: ")
		if err != nil {
			return "", err
		}
		if v != again {
			return "", fmt.Errorf("the two %ss differ", what)
		}
		return v, valid(v)
	}
	line, err := bufio.NewReader(io.LimitReader(e.stdin, 1024)).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", fmt.Errorf("read %s: stdin gave no line with a %s", strings.ToLower(what), what)
	}
	v := strings.TrimRight(line, "\r\n")
	return v, valid(v)
}

func runStaffList(_ context.Context, e *env, cl *cmdline) error {
	data := cl.String("data", "", "device data directory")
	if _, err := cl.parseN(0, ""); err != nil {
		return err
	}
	if err := need(cl.Name(), map[string]bool{"data": *data != ""}); err != nil {
		return err
	}
	accounts, err := edge.LoadStaff(*data)
	if err != nil {
		return err
	}
	if len(accounts) == 0 {
		fmt.Fprintln(e.stdout, "no staff accounts: add one with tixgate staff add")
		return nil
	}
	for _, a := range accounts {
		fmt.Fprintf(e.stdout, "%-24s %s\n", a.Name, a.Role)
	}
	return nil
}

func runStaffRemove(_ context.Context, e *env, cl *cmdline) error {
	data := cl.String("data", "", "device data directory")
	name := cl.String("name", "", "the account to remove")
	if _, err := cl.parseN(0, ""); err != nil {
		return err
	}
	if err := need(cl.Name(), map[string]bool{"data": *data != "", "name": *name != ""}); err != nil {
		return err
	}
	if err := edge.RemoveStaff(*data, *name); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "staff %s removed\n", *name)
	return nil
}
