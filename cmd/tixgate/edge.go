package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/tixgate/tixgate/edge"
)

// listFlag collects comma-separated values from one or more flags.
type listFlag []string

func (f *listFlag) String() string { return strings.Join(*f, ",") }
func (f *listFlag) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*f = append(*f, v)
		}
	}
	return nil
}

func runEdge(ctx context.Context, e *env, cl *cmdline) error {
	data := dataFlag(cl)
	gate := cl.String("gate", "", "the gate this device serves (scans that name none)")
	bind := cl.String("bind", "0.0.0.0:7946", "mesh address, UDP and TCP")
	var join listFlag
	cl.Var(&join, "join", "peers to join, host:port, comma-separated or repeated")
	listen := cl.String("listen", "127.0.0.1:8080", "local API address")
	logLevel := cl.String("log-level", "info", "debug, info, warn or error")
	if _, err := cl.parseN(0, ""); err != nil {
		return err
	}
	if err := need(cl.Name(), map[string]bool{"data": *data != ""}); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usageError("--log-level %q: want debug, info, warn or error", *logLevel)
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	cfg := edge.DefaultConfig(*data)
	cfg.Gate, cfg.Bind, cfg.Join, cfg.Listen, cfg.Version = *gate, *bind, join, *listen, version
	cfg.Logger = logger
	cfg.Ledger.Clock = clockFunc(e.now)
	node, err := edge.Start(cfg)
	if err != nil {
		return err
	}
	logger.Info("edge ready", "device", node.Ledger().Identity().Cert.Device, "gate", *gate, "mesh", node.MeshAddr(),
		"api", "http://"+node.APIAddr(), "token_file", filepath.Join(*data, edge.TokenFile), "pid", os.Getpid())
	<-ctx.Done()
	logger.Info("shutting down")
	if err := node.Close(); err != nil {
		return fmt.Errorf("edge: shut down: %w", err)
	}
	logger.Info("stopped cleanly")
	return nil
}
