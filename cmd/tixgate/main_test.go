package main

import (
	"os"
	"testing"
)

// TestMain lets the test binary stand in for tixgate: with
// TIXGATE_BE_MAIN=1 it runs main, so process tests need no separate build.
func TestMain(m *testing.M) {
	if os.Getenv("TIXGATE_BE_MAIN") == "1" {
		main()
		return
	}
	if os.Getenv(benchNodeEnv) != "" {
		os.Exit(benchNodeMain())
	}
	os.Exit(m.Run())
}
