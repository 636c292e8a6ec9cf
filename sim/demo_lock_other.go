//go:build !unix

package sim

import (
	"fmt"
	"os"
)

// lockDir opens the data folder's lock file; without flock a second demo
// on the folder is found by the ports and ledgers it cannot take.
func lockDir(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	return f, nil
}
