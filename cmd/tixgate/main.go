// Command tixgate is the one binary of tixgate: keys and tickets for the
// organizer, the ledger and the scan decision for a gate, and the device
// daemon. Each subcommand wires the packages that do the work.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], newEnv())
	stop()
	os.Exit(exitCode(err, os.Stderr))
}
