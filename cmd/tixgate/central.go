package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tixgate/tixgate/central"
	"github.com/tixgate/tixgate/central/backup"
	"github.com/tixgate/tixgate/central/catalog"
	"github.com/tixgate/tixgate/central/devices"
	"github.com/tixgate/tixgate/central/pay"
	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/scanner"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

// centralKeysDir is where central keeps the organizer's keys under --data.
const centralKeysDir = "keys"

func centralCommands() *command {
	return &command{name: "central", summary: "the ops server", run: runCentral, usage: "--listen ADDR --db DSN --data DIR [--tls-cert FILE --tls-key FILE] [--smtp HOST:PORT --mail-from ADDR] [--support-smtp HOST:PORT --support-address ADDR] [--public-url URL] [--shutdown-timeout D]", subs: []*command{
		{name: "shop", summary: "the box office", subs: []*command{
			{name: "offer", usage: "--db DSN --data DIR --event N --type N --price 128.00 [--currency CNY] --quota N [--vip] [--from T] [--until T] [--max-per-order N]", summary: "put a ticket type on sale online, or change its offer", run: runCentralShopOffer},
		}},
		{name: "invoice", summary: "invoices and credit notes", subs: []*command{
			{name: "settings", usage: "--db DSN --data DIR --organizer NAME [--invoice-prefix INV] [--credit-prefix CN] [--seller-name N] [--seller-tax-id ID] [--seller-address A] [--tax-rate 6]", summary: "set how an organizer's invoices are numbered and what they print as the seller", run: runCentralInvoiceSettings},
		}},
		{name: "backup", usage: "--db DSN --data DIR --out FILE", summary: "write a consistent backup of central's database while central runs (the keys under --data are backed up apart: see docs/operations.md)", run: runCentralBackup},
		{name: "restore", usage: "--db DSN --data DIR [--force] FILE", summary: "restore a backup into a fresh database, the keys already in place under --data", run: runCentralRestore},
		{name: "keys", summary: "the organizer's keys under --data", subs: []*command{
			{name: "rotate-issuer", usage: "--db DSN --data DIR", summary: "make a new issuer key certified by the root and signed into every venue's manifest; tickets signed by the old key stay valid", run: runCentralKeysRotateIssuer},
		}},
		{name: "venue", summary: "venues", subs: []*command{
			{name: "import", usage: "--db DSN --data DIR [--organizer NAME] [--now] FILE", summary: "create or update a venue, its zones, gates, events and ticket types from a description (YAML or TOML)", run: runCentralVenueImport},
		}},
		{name: "tickets", summary: "tickets", subs: []*command{
			{name: "issue", usage: "--db DSN --data DIR --event N --type N [--count N] [--holder NAME]", summary: "issue tickets signed by central's issuer key; prints their codes", run: runCentralTicketsIssue},
		}},
		{name: "token", summary: "ops API tokens", subs: []*command{
			{name: "add", usage: "--db DSN --data DIR [--user U] [--name N] [--scopes read,ops,box_office,admin]", summary: "make an ops API token and print it (shown once)", run: runCentralTokenAdd},
		}},
		{name: "users", summary: "staff accounts of the ops pages", subs: []*command{
			{name: "add", usage: "--db DSN --data DIR --name N --role box_office|ops|admin|auditor", summary: "add a staff account or change its role and password (read from the terminal, or from stdin)", run: runCentralUsersAdd},
		}},
		{name: "devices", summary: "gates and seller handhelds", subs: []*command{
			{name: "add", usage: "--db DSN --data DIR --name N --role gate|seller --venue V [--gate G] [--url URL] [--ttl D]", summary: "create a device and print its one-time setup token", run: runCentralDevicesAdd},
			{name: "revoke", usage: "--db DSN --data DIR --name N [--reason TEXT]", summary: "revoke a lost or retired device: its records from now on are refused everywhere", run: runCentralDevicesRevoke},
			{name: "suspend", usage: "--db DSN --data DIR --name N [--reason TEXT]", summary: "stop serving a device (under investigation, out of service): its uploads and pulls are refused; its peers keep its records", run: runCentralDevicesSuspend},
			{name: "resume", usage: "--db DSN --data DIR --name N [--reason TEXT]", summary: "serve a suspended device again", run: runCentralDevicesResume},
			{name: "roll", usage: "--db DSN --data DIR --name N [--reason TEXT]", summary: "have a device roll its API credential at its next sync: the old one then stops working", run: runCentralDevicesRoll},
		}},
		quotaCommands(),
	}}
}

// centralEnv is what central's commands open: the store and the keys
// under --data.
type centralEnv struct {
	db   *store.DB
	keys *keyfile.Keys
}

func (c *centralEnv) Close() error { return c.db.Close() }

// centralFlags are the flags every central command takes.
func centralFlags(cl *cmdline) (db, data *string) {
	db = cl.String("db", "", "database: a postgres:// URL, sqlite:PATH, or empty for central.db under --data")
	data = cl.String("data", "", "central's data folder: its keys (made on first start, mode 0600) and the SQLite file")
	return db, data
}

// openCentral opens the store and keys of the central in data. It refuses
// a folder without a central's keys, so a mistyped --data does not quietly
// start another organizer: setUpCentral makes them.
func openCentral(ctx context.Context, e *env, dsn, data string) (*centralEnv, error) {
	if data == "" {
		return nil, usageError("central: missing --data")
	}
	keys, err := loadCentralKeys(data)
	if err != nil {
		return nil, err
	}
	return openCentralWith(ctx, e, dsn, data, keys)
}

// setUpCentral is openCentral for the commands that set a central up
// (central itself, venue import, users add): they make its keys on first
// use.
func setUpCentral(ctx context.Context, e *env, dsn, data string) (*centralEnv, error) {
	if data == "" {
		return nil, usageError("central: missing --data")
	}
	keys, created, err := keyfile.Open(filepath.Join(data, centralKeysDir), keyfile.InitOptions{Now: e.now()})
	if err != nil {
		return nil, err
	}
	if created {
		e.log.Info("made the organizer's keys", "dir", keys.Dir, "root", keys.IssuerCert.Root, "issuer", keys.IssuerCert.ID())
	}
	return openCentralWith(ctx, e, dsn, data, keys)
}

func openCentralWith(ctx context.Context, e *env, dsn, data string, keys *keyfile.Keys) (*centralEnv, error) {
	cfg := store.DefaultConfig(dsn, data)
	cfg.Logger = e.log
	db, err := store.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &centralEnv{db: db, keys: keys}, nil
}

// loadCentralKeys reads the keys of the central in data, saying what to do
// when the folder is not a central's.
func loadCentralKeys(data string) (*keyfile.Keys, error) {
	dir := filepath.Join(data, centralKeysDir)
	if _, err := os.Stat(filepath.Join(dir, keyfile.RootPubFile)); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s is not a central's folder (no %s): give --data the folder of `tixgate central`; a new central is set up with `tixgate central venue import --data %s FILE`, `central users add` or `tixgate central --data %s`",
			data, filepath.Join(centralKeysDir, keyfile.RootPubFile), data, data)
	}
	return keyfile.Load(dir)
}

func (c *centralEnv) catalog(e *env) *catalog.Catalog {
	cfg := catalog.DefaultConfig(c.db, c.keys)
	cfg.Clock, cfg.Logger = clockFunc(e.now), e.log
	return catalog.New(cfg)
}

func runCentralVenueImport(ctx context.Context, e *env, cl *cmdline) error {
	dsn, data := centralFlags(cl)
	organizer := cl.String("organizer", "", "the organizer running the venue (default: the venue's name)")
	now := cl.Bool("now", false, "move the events so that the first one's doors open now (to try a venue file out on any day)")
	pos, err := cl.parseN(1, "one venue FILE")
	if err != nil {
		return err
	}
	if err := need(cl.Name(), map[string]bool{"data": *data != ""}); err != nil {
		return err
	}
	spec, err := readSpec(e, pos[0], *now)
	if err != nil {
		return err
	}
	c, err := setUpCentral(ctx, e, *dsn, *data)
	if err != nil {
		return err
	}
	defer c.Close()
	res, err := c.catalog(e).ImportVenue(ctx, spec, *organizer)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "venue %s: %s, %s; %s signed, manifest at %d\n",
		res.Venue, plural(res.Events, "event"), plural(res.TicketTypes, "ticket type"), plural(res.Changes, "manifest change"), res.Head)
	return nil
}

func runCentralTicketsIssue(ctx context.Context, e *env, cl *cmdline) error {
	dsn, data := centralFlags(cl)
	var event, typ uintFlag
	cl.Var(&event, "event", "event id")
	cl.Var(&typ, "type", "ticket type id")
	count := cl.Int("count", 1, "how many tickets")
	holder := cl.String("holder", "", "holder's name on the tickets")
	if _, err := cl.parseN(0, ""); err != nil {
		return err
	}
	if err := need(cl.Name(), map[string]bool{"data": *data != "", "event": event.set, "type": typ.set}); err != nil {
		return err
	}
	c, err := openCentral(ctx, e, *dsn, *data)
	if err != nil {
		return err
	}
	defer c.Close()
	ts, err := c.catalog(e).IssueTickets(ctx, catalog.Issue{Event: event.v, Type: typ.v, Count: *count, Holder: *holder})
	if err != nil {
		return err
	}
	for _, t := range ts {
		fmt.Fprintln(e.stdout, t.Code)
	}
	fmt.Fprintf(e.stderr, "issued %d tickets of event %d, type %d: serials %d-%d\n", len(ts), event.v, typ.v, ts[0].Serial, ts[len(ts)-1].Serial)
	return nil
}

func runCentral(ctx context.Context, e *env, cl *cmdline) error {
	dsn, data := centralFlags(cl)
	listen := cl.String("listen", "127.0.0.1:8440", "address to serve on")
	shutdown := cl.Duration("shutdown-timeout", 10*time.Second, "how long a stop waits for requests in flight")
	tlsCert := cl.String("tls-cert", "", "HTTPS certificate (PEM); none: plain HTTP, for loopback or behind a TLS proxy")
	tlsKey := cl.String("tls-key", "", "the private key (PEM) of --tls-cert")
	smtpAddr := cl.String("smtp", "", "the box office's mail relay, HOST:PORT (login from TIXGATE_SMTP_USER and TIXGATE_SMTP_PASSWORD); none: mails are logged, not sent")
	mailFrom := cl.String("mail-from", "", "the sender of the box office's mails, e.g. tickets@example.com (needs --smtp)")
	smtpInsecure := cl.Bool("smtp-insecure", false, "send to --smtp without TLS (a relay on this machine or a test server)")
	publicURL := cl.String("public-url", "", "central's address as buyers reach it, for the links in mails (default: http:// and --listen)")
	smsProvider := cl.String("sms", "dev", "who sends the box office's sign-in codes: dev (logged, not sent) or aliyun (key from TIXGATE_ALIYUN_ACCESS_KEY_ID and TIXGATE_ALIYUN_ACCESS_KEY_SECRET)")
	smsSign := cl.String("sms-sign-name", "", "the approved SMS signature (aliyun)")
	smsTemplate := cl.String("sms-template", "", "the approved template of the sign-in code, with one parameter ${code} (aliyun), e.g. SMS_123456789")
	smsOffer := cl.String("sms-offer-template", "", "the approved template of waiting-list offers, with ${order} and ${minutes} (aliyun); none: offers go by mail only")
	smsEndpoint := cl.String("sms-endpoint", shop.DefaultAliyunEndpoint, "the SMS API's address (aliyun)")
	captchaBits := cl.Int("captcha-bits", 0, "proof-of-work captcha on registration and checkout: leading zero bits a buyer's browser must find (16 is about a second on a phone); 0: off")
	supportSMTP := cl.String("support-smtp", "", "take buyers' mail to the support desk on this address, HOST:PORT (behind the domain's MX or a forwarding relay); none: off")
	supportAddress := cl.String("support-address", "", "the support desk's mail address, e.g. support@example.com: the Reply-To of its answers, with each conversation's token")
	payFile := cl.String("pay-providers", "", "payment providers file (.toml or .yaml, docs/payments.md); none: no provider, buyers pay at the box office")
	einvURL := cl.String("einvoice-url", "", "the e-invoicing platform (China's 数电票) buyers' e-invoices are issued through, https://…; its secret in TIXGATE_EINVOICE_SECRET; none: PDF invoices only")
	einvApp := cl.String("einvoice-app-id", "", "the app id at --einvoice-url")
	if _, err := cl.parseN(0, ""); err != nil {
		return err
	}
	mailer, err := smtpMailer(*smtpAddr, *mailFrom, *smtpInsecure)
	if err != nil {
		return err
	}
	sms, err := smsSender(*smsProvider, *smsSign, *smsTemplate, *smsOffer, *smsEndpoint, e.log)
	if err != nil {
		return err
	}
	einv, err := eInvoicer(*einvURL, *einvApp, e)
	if err != nil {
		return err
	}
	if *captchaBits < 0 || *captchaBits > 28 {
		return usageError("central: --captcha-bits wants 0 (off) to 28")
	}
	if err := need(cl.Name(), map[string]bool{"data": *data != ""}); err != nil {
		return err
	}
	c, err := setUpCentral(ctx, e, *dsn, *data)
	if err != nil {
		return err
	}
	defer c.Close()
	cfg := central.DefaultConfig(*listen, c.db, c.keys)
	cfg.ShutdownTimeout, cfg.Clock, cfg.Logger = *shutdown, clockFunc(e.now), e.log
	cfg.PublicURL = strings.TrimRight(*publicURL, "/")
	cfg.SetupQR = scanner.RenderPNG
	if *payFile != "" {
		base := cfg.PublicURL
		if base == "" {
			base = "http://" + *listen
		}
		if cfg.PayProviders, err = pay.LoadProviders(*payFile, base, cfg.Clock); err != nil {
			return err
		}
	}
	if mailer != nil {
		cfg.Mailer = mailer
	}
	if sms != nil {
		cfg.SMSSender = sms
	}
	cfg.CaptchaBits = *captchaBits
	cfg.EInvoice = einv
	cfg.SupportSMTP, cfg.SupportAddress = *supportSMTP, *supportAddress
	if (*tlsCert == "") != (*tlsKey == "") {
		return usageError("central: --tls-cert and --tls-key go together")
	}
	cfg.TLSCert, cfg.TLSKey = *tlsCert, *tlsKey
	scheme := "http://"
	if cfg.TLSCert != "" {
		scheme = "https://"
	}
	err = central.New(cfg).Run(ctx, func(addr string) {
		e.log.Info("central ready", "url", scheme+addr, "db", string(c.db.Dialect()), "pid", os.Getpid())
	})
	if err != nil {
		return err
	}
	e.log.Info("central stopped cleanly")
	return nil
}

func runCentralDevicesAdd(ctx context.Context, e *env, cl *cmdline) error {
	dsn, data := centralFlags(cl)
	name := cl.String("name", "", "device name, e.g. gate-1")
	role := cl.String("role", "gate", "gate or seller")
	venue := cl.String("venue", "", "venue of the device (default: the only venue)")
	gate := cl.String("gate", "", "the gate a gate serves")
	url := cl.String("url", "http://127.0.0.1:8440", "central's URL as the device reaches it, for the setup code")
	ttl := cl.Duration("ttl", 24*time.Hour, "how long the setup token works")
	if _, err := cl.parseN(0, ""); err != nil {
		return err
	}
	if err := need(cl.Name(), map[string]bool{"data": *data != "", "name": *name != ""}); err != nil {
		return err
	}
	if *role != "gate" && *role != "seller" {
		return usageError("--role %q: want gate or seller", *role)
	}
	c, err := openCentral(ctx, e, *dsn, *data)
	if err != nil {
		return err
	}
	defer c.Close()
	if *venue == "" {
		vs, err := c.db.Venues(ctx)
		if err != nil {
			return err
		}
		if len(vs) != 1 {
			return usageError("devices add: %d venues: say which with --venue", len(vs))
		}
		*venue = vs[0]
	}
	dcfg := devices.DefaultConfig(c.db, c.keys, c.catalog(e))
	dcfg.TokenTTL, dcfg.Clock, dcfg.Logger = *ttl, clockFunc(e.now), e.log
	s, err := devices.New(dcfg).Add(ctx, devices.Device{Name: *name, Role: ticket.Role(*role), Venue: *venue, Gate: *gate})
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, s.Token)
	fmt.Fprintln(e.stdout, s.Code(*url))
	fmt.Fprintf(e.stderr, "device %s added; the setup token works once, until %s:\n  tixgate enroll --data DIR --url %s --token %s\n",
		*name, s.Expires.Format(time.RFC3339), *url, s.Token)
	return nil
}

func runCentralTokenAdd(ctx context.Context, e *env, cl *cmdline) error {
	dsn, data := centralFlags(cl)
	user := cl.String("user", "admin", "whose token: a staff account (tixgate central users add)")
	name := cl.String("name", "api", "what the token is for")
	scopes := cl.String("scopes", "read", "space- or comma-separated scopes: read (GET of the ops API, /metrics), ops (resolve conflicts), box_office (orders paid at the counter), admin (everything)")
	if _, err := cl.parseN(0, ""); err != nil {
		return err
	}
	if err := need(cl.Name(), map[string]bool{"data": *data != ""}); err != nil {
		return err
	}
	c, err := openCentral(ctx, e, *dsn, *data)
	if err != nil {
		return err
	}
	defer c.Close()
	tok, err := central.AddAPIToken(ctx, c.db, clockFunc(e.now), *user, *name, strings.FieldsFunc(*scopes, func(r rune) bool { return r == ',' || r == ' ' }))
	if errors.Is(err, central.ErrNoUser) {
		return fmt.Errorf("%w: add the account first: tixgate central users add --data %s --name %s --role ROLE", err, *data, *user)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, tok)
	return nil
}

func runCentralDevicesRevoke(ctx context.Context, e *env, cl *cmdline) error {
	return centralDeviceChange(ctx, e, cl, "why (recorded, and told to the venue's devices)", func(c *centralEnv, _ *devices.Registry, name, reason string) (store.Device, string, error) {
		dev, err := c.catalog(e).RevokeDeviceAs(ctx, cliActor, name, reason)
		return dev, fmt.Sprintf("revoked (key %s) at %s", dev.KeyID, dev.Revoked.Format(time.RFC3339)), err
	})
}

// cliActor is who the audit log names for a change made with the CLI.
const cliActor = "cli"

// centralDeviceChange is what suspend, resume and roll share: their flags,
// and a line saying what became of the device.
func centralDeviceChange(ctx context.Context, e *env, cl *cmdline, why string, do func(c *centralEnv, r *devices.Registry, name, reason string) (store.Device, string, error)) error {
	dsn, data := centralFlags(cl)
	name := cl.String("name", "", "the device")
	reason := cl.String("reason", "", why)
	if _, err := cl.parseN(0, ""); err != nil {
		return err
	}
	if err := need(cl.Name(), map[string]bool{"data": *data != "", "name": *name != ""}); err != nil {
		return err
	}
	c, err := openCentral(ctx, e, *dsn, *data)
	if err != nil {
		return err
	}
	defer c.Close()
	dcfg := devices.DefaultConfig(c.db, c.keys, c.catalog(e))
	dcfg.Clock, dcfg.Logger = clockFunc(e.now), e.log
	dev, what, err := do(c, devices.New(dcfg), *name, *reason)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "device %s of venue %s %s\n", dev.Name, dev.Venue, what)
	return nil
}

func runCentralDevicesSuspend(ctx context.Context, e *env, cl *cmdline) error {
	return centralDeviceChange(ctx, e, cl, "why (recorded in the audit log)", func(_ *centralEnv, r *devices.Registry, name, reason string) (store.Device, string, error) {
		dev, err := r.Suspend(ctx, cliActor, name, reason)
		return dev, fmt.Sprintf("suspended at %s (%s): central refuses its uploads and pulls until tixgate central devices resume",
			dev.Suspended.Format(time.RFC3339), dev.SuspendReason), err
	})
}

func runCentralDevicesResume(ctx context.Context, e *env, cl *cmdline) error {
	return centralDeviceChange(ctx, e, cl, "why (recorded in the audit log)", func(_ *centralEnv, r *devices.Registry, name, reason string) (store.Device, string, error) {
		dev, err := r.Resume(ctx, cliActor, name, reason)
		return dev, "resumed: central serves it again", err
	})
}

func runCentralDevicesRoll(ctx context.Context, e *env, cl *cmdline) error {
	return centralDeviceChange(ctx, e, cl, "why (recorded in the audit log)", func(_ *centralEnv, r *devices.Registry, name, reason string) (store.Device, string, error) {
		dev, err := r.RequestRoll(ctx, cliActor, name, reason)
		return dev, "rolls its API credential at its next sync; the old one stops working once the new one is used", err
	})
}

func runCentralUsersAdd(ctx context.Context, e *env, cl *cmdline) error {
	dsn, data := centralFlags(cl)
	name := cl.String("name", "", "the login name")
	role := cl.String("role", "ops", "box_office, ops, admin or auditor")
	if _, err := cl.parseN(0, ""); err != nil {
		return err
	}
	if err := need(cl.Name(), map[string]bool{"data": *data != "", "name": *name != ""}); err != nil {
		return err
	}
	r, err := staff.ParseRole(*role)
	if err != nil {
		return usageError("%s: %v", cl.Name(), err)
	}
	pw, err := readSecret(e, "password", fmt.Sprintf("password (at least %d characters): ", staff.MinPasswordLength), func(p string) error {
		if len([]rune(p)) < staff.MinPasswordLength {
			return fmt.Errorf("password: at least %d characters", staff.MinPasswordLength)
		}
		return nil
	})
	if err != nil {
		return err
	}
	c, err := setUpCentral(ctx, e, *dsn, *data)
	if err != nil {
		return err
	}
	defer c.Close()
	cfg := staff.DefaultConfig(c.db)
	cfg.Clock, cfg.Logger = clockFunc(e.now), e.log
	if err := staff.New(cfg).Add(ctx, *name, r, pw, "cli"); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "user %s (%s) saved\n", *name, r)
	return nil
}

// smtpMailer is the box office's mail relay from central's flags; nil
// without --smtp.
func smtpMailer(addr, from string, insecure bool) (*shop.SMTP, error) {
	if addr == "" {
		if from != "" {
			return nil, usageError("central: --mail-from needs --smtp HOST:PORT")
		}
		return nil, nil
	}
	host, port, err := splitPort(addr)
	if err != nil || port == 0 || from == "" {
		return nil, usageError("central: --smtp wants HOST:PORT and --mail-from an address")
	}
	return &shop.SMTP{Host: host, Port: port, From: from, Insecure: insecure,
		Username: os.Getenv("TIXGATE_SMTP_USER"), Password: os.Getenv("TIXGATE_SMTP_PASSWORD")}, nil
}

// smsSender is the box office's SMS provider from central's flags and
// the environment (the key pair never on the command line); nil for the
// development sender.
func smsSender(provider, sign, template, offerTemplate, endpoint string, log *slog.Logger) (*shop.AliyunSMS, error) {
	switch provider {
	case "dev", "":
		return nil, nil
	case "aliyun":
	default:
		return nil, usageError("central: --sms wants dev or aliyun, not %q", provider)
	}
	a := &shop.AliyunSMS{Endpoint: endpoint, AccessKeyID: os.Getenv("TIXGATE_ALIYUN_ACCESS_KEY_ID"), AccessKeySecret: os.Getenv("TIXGATE_ALIYUN_ACCESS_KEY_SECRET"),
		SignName: sign, TemplateCode: template, OfferTemplateCode: offerTemplate, Logger: log}
	if err := a.Check(); err != nil {
		return nil, usageError("central: --sms aliyun: %v (TIXGATE_ALIYUN_ACCESS_KEY_ID, TIXGATE_ALIYUN_ACCESS_KEY_SECRET, --sms-sign-name, --sms-template)", err)
	}
	return a, nil
}

// splitPort splits host:port, the port a number from 0 to 65535.
func splitPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("port %q", p)
	}
	return host, port, nil
}

func runCentralBackup(ctx context.Context, e *env, cl *cmdline) error {
	dsn, data := centralFlags(cl)
	out := cl.String("out", "", "the backup file to write (must not exist)")
	if _, err := cl.parseN(0, ""); err != nil {
		return err
	}
	if err := need(cl.Name(), map[string]bool{"data": *data != "", "out": *out != ""}); err != nil {
		return err
	}
	// A backup never makes keys: it is of a central that has them.
	keys, err := loadCentralKeys(*data)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	cfg := store.DefaultConfig(*dsn, *data)
	cfg.Logger, cfg.KeepSchema = e.log, true
	db, err := store.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	m, err := backup.Make(ctx, db, keys, *out, e.now())
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "backed up the %s database (schema %d): %d tables, %d rows, to %s (%d bytes of database, sha256 %s)\n",
		m.Snapshot.Dialect, m.Snapshot.Schema, len(m.Snapshot.Rows), m.Snapshot.Total(), *out, m.Size, m.SHA256)
	fmt.Fprintf(e.stdout, "the keys are not in it: keep a copy of %s (root %s) apart\n", filepath.Join(*data, centralKeysDir), m.Root)
	return nil
}

func runCentralRestore(ctx context.Context, e *env, cl *cmdline) error {
	dsn, data := centralFlags(cl)
	force := cl.Bool("force", false, "replace a database that holds tables already (stop central first)")
	pos, err := cl.parseN(1, "one backup FILE")
	if err != nil {
		return err
	}
	if err := need(cl.Name(), map[string]bool{"data": *data != ""}); err != nil {
		return err
	}
	cfg := store.DefaultConfig(*dsn, *data)
	cfg.Logger = e.log
	r, err := backup.Restore(ctx, cfg, filepath.Join(*data, centralKeysDir), pos[0], *force)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "restored the backup made %s into %s: %s schema %d, %d tables, %d rows, every table's rows counted as the backup says; keys: root %s\n",
		r.Created.Format(time.RFC3339), r.Target, r.Snapshot.Dialect, r.Snapshot.Schema, len(r.Snapshot.Rows), r.Snapshot.Total(), r.Root)
	// An issuer key rotated after the backup was made: the restored
	// manifests must carry its certificate before central signs with it.
	c, err := openCentral(ctx, e, *dsn, *data)
	if err != nil {
		return err
	}
	defer c.Close()
	n, err := c.catalog(e).TrustIssuer(ctx, c.keys.IssuerCert)
	if err != nil {
		return err
	}
	if n > 0 {
		fmt.Fprintf(e.stdout, "the issuer key %s, rotated since the backup, signed into the manifest of %s again\n", c.keys.IssuerCert.ID(), venueCount(n))
	}
	return nil
}

func runCentralKeysRotateIssuer(ctx context.Context, e *env, cl *cmdline) error {
	dsn, data := centralFlags(cl)
	if _, err := cl.parseN(0, ""); err != nil {
		return err
	}
	if err := need(cl.Name(), map[string]bool{"data": *data != ""}); err != nil {
		return err
	}
	keys, err := loadCentralKeys(*data)
	if err != nil {
		return fmt.Errorf("rotate issuer: %w", err)
	}
	old := keys.IssuerCert
	_, next, err := keys.NextIssuer(e.now(), nil)
	if err != nil {
		return err
	}
	c, err := openCentralWith(ctx, e, *dsn, *data, keys)
	if err != nil {
		return err
	}
	defer c.Close()
	// The devices must trust the new key before central signs with it.
	venues, err := c.catalog(e).TrustIssuer(ctx, next)
	if err != nil {
		return err
	}
	if err := keys.CommitIssuer(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "issuer key rotated: %s -> %s, signed into the manifest of %s\n", old.ID(), next.ID(), venueCount(venues))
	fmt.Fprintf(e.stdout, "tickets signed by %s stay valid at the gates (its certificate, kept in %s, runs until %s)\n",
		old.ID(), filepath.Join(*data, centralKeysDir, keyfile.RetiredDir), old.NotAfter.Format(time.DateOnly))
	fmt.Fprintln(e.stdout, "restart central processes to issue with the new key; back up the key folder again")
	return nil
}

// venueCount is "1 venue" or "N venues".
func venueCount(n int) string {
	if n == 1 {
		return "1 venue"
	}
	return strconv.Itoa(n) + " venues"
}
