package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/tixgate/tixgate/edge"
	"github.com/tixgate/tixgate/firmware"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ticket/strict"
	"github.com/tixgate/tixgate/uplink"
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

// envPrefix starts the environment variable of every edge flag:
// --count-on-passage is TIXGATE_COUNT_ON_PASSAGE.
const envPrefix = "TIXGATE_"

func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func runEdge(ctx context.Context, e *env, cl *cmdline) error {
	def := edge.DefaultConfig("")
	fw := firmware.DefaultConfig()
	configFile := cl.String("config", "", "a TOML or YAML file of flag values (keys are flag names); flags and "+envPrefix+"… variables win over it")
	role := cl.String("role", "gate", "gate or seller: must match the device's certificate")
	data := dataFlag(cl)
	gate := cl.String("gate", def.Gate, "the gate this device serves (scans that name none)")
	bind := cl.String("bind", def.Bind, "mesh address, UDP and TCP")
	var join listFlag
	cl.Var(&join, "join", "peers to join, host:port, comma-separated or repeated")
	listen := cl.String("listen", def.Listen, "local API and web UI address; anything but loopback serves HTTPS")
	tlsCert := cl.String("tls-cert", "", "HTTPS certificate (PEM) for a non-loopback --listen; none: the device makes its own in --data")
	tlsKey := cl.String("tls-key", "", "the private key (PEM) of --tls-cert")
	board := cl.String("board", "", "board description file (TOML or YAML) naming the turnstile's pins; none: no turnstile")
	countOnPassage := cl.Bool("count-on-passage", def.CountOnPassage, "count an entry only when the passage sensor sees someone within the window; otherwise annul it")
	pulse := cl.Duration("pulse", fw.Pulse, fmt.Sprintf("turnstile relay pulse on an admission (at least %s)", firmware.MinPulse))
	window := cl.Duration("passage-window", fw.PassageWindow, "how long after the pulse a passage counts")
	scannerDev := cl.String("scanner", "", "hardware scanner: a serial or HID device path, or - for stdin")
	debounce := cl.Duration("debounce", def.Debounce, "the same code from the scanner or camera within this window is one scan")
	centralURL := cl.String("central", "", "central's URL: sync with it (needs tixgate enroll); none: the venue runs on its own")
	syncEvery := cl.Duration("sync-interval", def.Uplink.Interval, "pause between syncs with central while it answers")
	logLevel := cl.String("log-level", "info", "debug, info, warn or error")
	logFormat := cl.String("log-format", "text", "text or json")
	if _, err := cl.parseN(0, ""); err != nil {
		return err
	}
	if v, ok := os.LookupEnv(envName("config")); ok && *configFile == "" {
		*configFile = v
	}
	if err := fillUnset(cl.FlagSet, os.LookupEnv, *configFile); err != nil {
		return err
	}
	if err := need(cl.Name(), map[string]bool{"data": *data != ""}); err != nil {
		return err
	}
	if *role != "gate" && *role != "seller" {
		return usageError("--role %q: want gate or seller", *role)
	}
	logger, err := newLogger(e.stderr, *logLevel, *logFormat)
	if err != nil {
		return err
	}
	if *gate == "" {
		// An enrolled device serves the gate central assigned it.
		if c, err := uplink.LoadCredentials(*data); err == nil && c.Gate != "" {
			*gate = c.Gate
		}
	}
	cfg := edge.DefaultConfig(*data)
	cfg.Gate, cfg.Bind, cfg.Join, cfg.Listen, cfg.Version = *gate, *bind, join, *listen, version
	cfg.CountOnPassage, cfg.Debounce = *countOnPassage, *debounce
	cfg.TLSCert, cfg.TLSKey = *tlsCert, *tlsKey
	cfg.Central, cfg.Uplink.Interval = *centralURL, *syncEvery
	cfg.Logger = logger
	cfg.Clock = clockFunc(e.now)
	cfg.Ledger.Clock = cfg.Clock
	if *board != "" {
		bf, err := firmware.ReadBoardFile(*board)
		if err != nil {
			return err
		}
		b, err := firmware.OpenHost(bf)
		if err != nil {
			return err
		}
		fw.Pulse, fw.PassageWindow, fw.Logger = *pulse, *window, logger
		ts, err := firmware.NewTurnstile(fw, b)
		if err != nil {
			return usageError("%v", err)
		}
		defer ts.Close()
		cfg.Turnstile = ts
		if *countOnPassage && !ts.HasPassageSensor() {
			logger.Warn("--count-on-passage needs a passage sensor; board has none: every entry counts", "board", *board)
		}
	} else if *countOnPassage {
		logger.Warn("--count-on-passage without --board: no turnstile, every entry counts")
	}
	node, err := edge.Start(cfg)
	if errors.Is(err, ledger.ErrUnsound) {
		// Fail closed but stay visible: the turnstile faults and the API
		// answers 503 "unsound" with what was lost, while the ledger is
		// repaired from the --join peers; without peers, until it is
		// repaired (tixgate ledger repair --from-peers) or restored.
		if node, err = edge.Recover(ctx, cfg, err); node == nil {
			return err
		}
	}
	if err != nil {
		return err
	}
	if got := string(node.Ledger().Identity().Cert.Role); got != *role {
		node.Close()
		return fmt.Errorf("edge: --role %s, but this device's certificate is for the %s role", *role, got)
	}
	logger.Info("edge ready", "device", node.Ledger().Identity().Cert.Device, "role", *role, "gate", *gate, "mesh", node.MeshAddr(),
		"api", node.URL(), "token_file", filepath.Join(*data, edge.TokenFile), "turnstile", *board != "", "pid", os.Getpid())
	if *scannerDev != "" {
		in, closeIn, err := openScanner(e, *scannerDev)
		if err != nil {
			node.Close()
			return err
		}
		defer closeIn()
		go func() {
			if err := node.ReadScanner(ctx, in, nil); err != nil {
				logger.Error("hardware scanner stopped", "scanner", *scannerDev, "err", err)
				return
			}
			logger.Info("hardware scanner input ended", "scanner", *scannerDev)
		}()
	}
	<-ctx.Done()
	logger.Info("shutting down")
	if err := node.Close(); err != nil {
		return fmt.Errorf("edge: shut down: %w", err)
	}
	logger.Info("stopped cleanly")
	return nil
}

// openScanner opens a hardware scanner's device, or stdin for "-".
func openScanner(e *env, dev string) (io.Reader, func(), error) {
	if dev == "-" {
		return e.stdin, func() {}, nil
	}
	f, err := os.Open(dev)
	if err != nil {
		return nil, nil, fmt.Errorf("--scanner: %w", err)
	}
	return f, func() { f.Close() }, nil
}

// newLogger makes the daemon's logger.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError("--log-format %q: want text or json", format)
}

// fillUnset gives each flag not set on the command line its value from the
// environment (TIXGATE_NAME), else from the config file (key: the flag's
// name), in that order. A file key that is no flag is an error.
func fillUnset(fs *flag.FlagSet, lookupEnv func(string) (string, bool), configFile string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	file := map[string]any{}
	if configFile != "" {
		data, err := os.ReadFile(configFile)
		if err != nil {
			return fmt.Errorf("config file: %w", err)
		}
		if err := strict.File(configFile, data, &file); err != nil {
			return fmt.Errorf("config file %s: %w", configFile, err)
		}
		var unknown []string
		for k := range file {
			if fs.Lookup(k) == nil || k == "config" {
				unknown = append(unknown, k)
			}
		}
		if len(unknown) > 0 {
			sort.Strings(unknown)
			return usageError("config file %s: unknown key %s (keys are the flags' names)", configFile, strings.Join(unknown, ", "))
		}
	}
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] {
			return
		}
		if v, ok := lookupEnv(envName(f.Name)); ok {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, usageError("%s=%q: %v", envName(f.Name), v, err))
			}
			return
		}
		v, ok := file[f.Name]
		if !ok {
			return
		}
		if err := fs.Set(f.Name, configValue(v)); err != nil {
			errs = append(errs, usageError("config file %s: %s: %v", configFile, f.Name, err))
		}
	})
	return errors.Join(errs...)
}

// configValue is a config file's value as a flag would take it.
func configValue(v any) string {
	switch v := v.(type) {
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = fmt.Sprint(x)
		}
		return strings.Join(parts, ",")
	case time.Duration:
		return v.String()
	}
	return fmt.Sprint(v)
}
