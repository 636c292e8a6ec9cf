package main

import (
	"context"
	"fmt"

	"github.com/tixgate/tixgate/ticket/keyfile"
)

func runKeysInit(_ context.Context, e *env, cl *cmdline) error {
	dir := cl.String("dir", "", "directory to create the keys in (made with mode 0700)")
	venue := cl.String("venue", "", "venue named in the central certificate (default \"central\")")
	if _, err := cl.parseN(0, ""); err != nil {
		return err
	}
	if err := need(cl.Name(), map[string]bool{"dir": *dir != ""}); err != nil {
		return err
	}
	k, err := keyfile.Init(*dir, keyfile.InitOptions{Venue: *venue, Now: e.now()})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "created keys in %s (files mode 0600):\n", *dir)
	fmt.Fprintf(e.stdout, "  %-18s root key %s: signs certificates; keep it offline\n", keyfile.RootKeyFile, k.IssuerCert.Root)
	fmt.Fprintf(e.stdout, "  %-18s root public key: what devices trust\n", keyfile.RootPubFile)
	fmt.Fprintf(e.stdout, "  %-18s issuer key %s, certificate in %s (every event, type and serial)\n", keyfile.IssuerKeyFile, k.IssuerCert.ID(), keyfile.IssuerCertFile)
	fmt.Fprintf(e.stdout, "  %-18s central key %s: signs manifest changes; certificate in %s\n", keyfile.CentralKeyFile, k.CentralCert.ID(), keyfile.CentralCertFile)
	fmt.Fprintf(e.stdout, "  %-18s venue mesh key (32 bytes, AES-256 for the gate mesh)\n", keyfile.MeshKeyFile)
	fmt.Fprintf(e.stdout, "  %-18s master secret of rotating codes\n", keyfile.RotationKeyFile)
	fmt.Fprintf(e.stdout, "  %-18s gates key: seals holders' names and rotation secrets; gates get it, sellers do not\n", keyfile.GateKeyFile)
	return nil
}
