package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// env is what a command may touch of the outside world. Tests give their
// own.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	now    func() time.Time
	log    *slog.Logger
	// stdinTTY and stderrTTY say whether a person is there: prompts, progress bars.
	stdinTTY, stderrTTY bool
}

func newEnv() *env {
	return &env{
		stdin:     os.Stdin,
		stdout:    os.Stdout,
		stderr:    os.Stderr,
		now:       time.Now,
		log:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})),
		stdinTTY:  isTerminal(os.Stdin),
		stderrTTY: isTerminal(os.Stderr),
	}
}

// exitError carries an exit code. A nil err means the command has already
// said what it had to say (a refused scan prints its JSON and exits 1).
type exitError struct {
	code int
	err  error
	// help is the command that tells how to call this one right, for a
	// usage error ("tixgate edge --help"); empty: "tixgate help".
	help string
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError is a mistake in how the command was called: exit status 2.
func usageError(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

// silentExit ends the command with a status and no further message.
func silentExit(code int) error { return &exitError{code: code} }

// exitCode prints err for a person and returns the process's exit status.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	code := 1
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
		if ee.err == nil {
			return code
		}
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "tixgate: interrupted")
		return 130
	}
	fmt.Fprintf(stderr, "tixgate: %v\n", err)
	if code == 2 {
		help := "tixgate help"
		if ee != nil && ee.help != "" {
			help = ee.help
		}
		fmt.Fprintf(stderr, "Run '%s' for usage.\n", help)
	}
	return code
}

// command is a node of the command tree: a leaf runs, a branch dispatches.
type command struct {
	name    string
	usage   string // arguments after the name, for the help text
	summary string
	run     func(ctx context.Context, e *env, cl *cmdline) error
	subs    []*command
}

func commands() *command {
	return &command{name: "tixgate", subs: []*command{
		{name: "keys", summary: "organizer keys", subs: []*command{
			{name: "init", usage: "--dir DIR [--venue NAME]", summary: "create a root key, an issuer, a central key, a mesh key, a rotation secret and a gates key", run: runKeysInit},
		}},
		{name: "ticket", summary: "ticket codes and their QR images", subs: []*command{
			{name: "issue", usage: "--keys DIR --event N --serial N --type N [--zones M] [--from T] [--until T] [--seat S] [--rotating]", summary: "sign a ticket and print its code", run: runTicketIssue},
			{name: "qr", usage: "--out FILE.png [--size PX] CODE|-", summary: "render a code as a QR image", run: runTicketQR},
			{name: "decode", usage: "FILE", summary: "print the text of the QR code in a PNG or JPEG", run: runTicketDecode},
			{name: "verify", usage: "--keys DIR [--at T] CODE|-", summary: "verify a code and print the verdict as JSON", run: runTicketVerify},
			{name: "show", usage: "--keys DIR [--at T] CODE|-", summary: "print a rotating ticket's code as the holder's screen shows it now", run: runTicketShow},
		}},
		ledgerCommands(),
		centralCommands(),
		{name: "enroll", usage: "--data DIR (--url URL --token T | --code JSON) [--encryption-key FILE]", summary: "enroll a new device with central: its certificate, keys and credential into DIR", run: runEnroll},
		staffCommands(),
		{name: "scan", usage: "--data DIR --gate G [--exit] CODE|-", summary: "decide a scan at a gate and print the decision as JSON", run: runScan},
		{name: "override", usage: "--data DIR --gate G --supervisor NAME --note TEXT [--exit] CODE|-", summary: "let a ticket through on a supervisor's word, recorded", run: runOverride},
		{name: "edge", usage: "--role gate|seller --data DIR --gate G --listen ADDR --bind ADDR --join ADDR,… [--board FILE] [--config FILE]", summary: "run the device daemon: ledger, venue mesh, scanner inputs, turnstile and local API", run: runEdge},
		{name: "sim", usage: "[--out DIR] [--speed N] [--tickets N] SCENARIO", summary: "simulate a venue's gate rush with faults: real ledgers and mesh on this machine; writes an HTML and markdown report", run: runSim},
		{name: "demo", usage: "[--data DIR] [--base-port N] [--reset] [--crowd RATE] [--story]", summary: "run a whole venue on this machine: central, four gates and a seller, until Ctrl-C", run: runDemo},
		{name: "version", summary: "print the version", run: func(_ context.Context, e *env, _ *cmdline) error {
			fmt.Fprintf(e.stdout, "tixgate %s\n", version)
			return nil
		}},
	}}
}

func run(ctx context.Context, args []string, e *env) error {
	root := commands()
	return root.dispatch(ctx, e, nil, args)
}

func (c *command) dispatch(ctx context.Context, e *env, path []string, args []string) error {
	path = append(path, c.name)
	// A command that runs and has subcommands (tixgate central) runs
	// unless its first argument names one of them.
	if c.run != nil && (len(args) == 0 || c.find(args[0]) == nil) {
		name := strings.Join(path[1:], " ")
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.Usage = func() {}
		cl := &cmdline{FlagSet: fs, usage: c.usage, summary: c.summary, args: args, e: e}
		if len(c.subs) > 0 {
			cl.more = func(w io.Writer) {
				fmt.Fprintln(w)
				c.listSubs(w, path)
			}
		}
		err := c.run(ctx, e, cl)
		var ee *exitError
		if errors.As(err, &ee) && ee.code == 2 && ee.help == "" {
			ee.help = strings.Join(path, " ") + " --help"
		}
		return err
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 && args[0] == "help" {
			if sub := c.find(args[1]); sub != nil {
				sub.help(e.stdout, append(path, sub.name))
				return nil
			}
		}
		c.help(e.stdout, path)
		if len(args) == 0 {
			return silentExit(2)
		}
		return nil
	}
	sub := c.find(args[0])
	if sub == nil {
		// The message is printed after "tixgate: ", so it names the path
		// below the root; the hint names the branch's own help.
		where, help, example := "", "tixgate help", "tixgate edge"
		if len(path) > 1 {
			where = strings.Join(path[1:], " ") + ": "
			help = strings.Join(path, " ") + " help"
			for _, s := range c.subs {
				if s.run != nil {
					example = strings.Join(path, " ") + " " + s.name
					break
				}
			}
		}
		if strings.HasPrefix(args[0], "-") {
			return &exitError{code: 2, help: help, err: fmt.Errorf("%sunknown flag %s: flags follow a command, as in '%s --help'", where, args[0], example)}
		}
		return &exitError{code: 2, help: help, err: fmt.Errorf("%sunknown command %q", where, args[0])}
	}
	return sub.dispatch(ctx, e, path, args[1:])
}

func (c *command) find(name string) *command {
	for _, s := range c.subs {
		if s.name == name {
			return s
		}
	}
	return nil
}

// help prints the usage of c, whose full name is path.
func (c *command) help(w io.Writer, path []string) {
	full := strings.Join(path, " ")
	if c.run != nil {
		fmt.Fprintf(w, "usage: %s %s\n\n%s\n", full, c.usage, c.summary)
		if len(c.subs) == 0 {
			return
		}
		fmt.Fprintln(w)
	}
	c.listSubs(w, path)
}

// listSubs prints the commands below c, whose full name is path.
func (c *command) listSubs(w io.Writer, path []string) {
	full := strings.Join(path, " ")
	fmt.Fprintf(w, "usage: %s COMMAND [ARGS]\n\ncommands:\n", full)
	var lines []string
	var walk func(prefix string, c *command)
	walk = func(prefix string, c *command) {
		for _, s := range c.subs {
			name := strings.TrimSpace(prefix + " " + s.name)
			if s.run != nil {
				lines = append(lines, fmt.Sprintf("  %-18s %s", name, s.summary))
			}
			walk(name, s)
		}
	}
	walk("", c)
	fmt.Fprintln(w, strings.Join(lines, "\n"))
	fmt.Fprintf(w, "\nRun '%s help COMMAND' or '%s COMMAND -h' for a command's flags.\n", full, full)
}

// cmdline is a leaf command's flags and arguments.
type cmdline struct {
	*flag.FlagSet
	usage, summary string
	args           []string
	e              *env
	// more, when set, prints what follows the flags in the help: the
	// subcommands of a command that also runs.
	more func(io.Writer)
}

// parse parses flags that may stand before, between or after the
// positional arguments, and returns the positional ones. "-h" prints the
// flags and ends the command.
func (cl *cmdline) parse() ([]string, error) {
	var pos []string
	args := cl.args
	for {
		err := cl.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(cl.e.stdout, "usage: tixgate %s %s\n\n%s\n\nflags:\n", cl.Name(), cl.usage, cl.summary)
			cl.SetOutput(cl.e.stdout)
			cl.PrintDefaults()
			if cl.more != nil {
				cl.more(cl.e.stdout)
			}
			return nil, silentExit(0)
		}
		if err != nil {
			msg := err.Error()
			if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
				msg = "unknown flag -" + name
			}
			return nil, usageError("%s: %s", cl.Name(), msg)
		}
		args = cl.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// parseN parses and wants exactly n positional arguments.
func (cl *cmdline) parseN(n int, what string) ([]string, error) {
	pos, err := cl.parse()
	if err != nil {
		return nil, err
	}
	if len(pos) != n {
		if n == 0 {
			return nil, usageError("%s: unexpected argument %q", cl.Name(), pos[0])
		}
		return nil, usageError("%s: want %s, got %d arguments (usage: tixgate %s %s)", cl.Name(), what, len(pos), cl.Name(), cl.usage)
	}
	return pos, nil
}

// need fails with a usage error naming the flags left empty.
func need(cmd string, flags map[string]bool) error {
	var missing []string
	for name, set := range flags {
		if !set {
			missing = append(missing, "--"+name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	return usageError("%s: missing %s", cmd, strings.Join(missing, ", "))
}

// parseTime reads an RFC 3339 time for a flag.
func parseTime(flagName, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, usageError("--%s %q is not an RFC 3339 time like 2026-06-12T19:30:00+02:00", flagName, s)
	}
	return t, nil
}

// plural is "1 line", "2 lines".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
