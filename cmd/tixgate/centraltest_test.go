package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/tixgate/tixgate/central"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

// startCentral runs central on loopback as `tixgate central` does, over the
// data folder the CLI commands of the test set up. It stops when the test
// ends, and the test fails if it does not stop cleanly.
func startCentral(t *testing.T, ctx context.Context, data string) (db *store.DB, url string, cfg central.Config) {
	t.Helper()
	keys, _, err := keyfile.Open(filepath.Join(data, centralKeysDir), keyfile.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scfg := store.DefaultConfig("", data)
	scfg.Logger = ledgertest.Logger(t, slog.LevelWarn)
	if db, err = store.Open(ctx, scfg); err != nil {
		t.Fatal(err)
	}
	cfg = central.DefaultConfig("127.0.0.1:0", db, keys)
	cfg.Logger = ledgertest.Logger(t, slog.LevelWarn)
	addr := make(chan string, 1)
	stopped := make(chan error, 1)
	cctx, stop := context.WithCancel(ctx)
	go func() { stopped <- central.New(cfg).Run(cctx, func(a string) { addr <- a }) }()
	select {
	case a := <-addr:
		url = "http://" + a
	case err := <-stopped:
		t.Fatalf("central did not start: %v", err)
	}
	t.Cleanup(func() {
		stop()
		if err := <-stopped; err != nil {
			t.Errorf("central stop: %v", err)
		}
		db.Close()
	})
	return db, url, cfg
}
