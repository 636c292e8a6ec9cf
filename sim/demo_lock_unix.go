//go:build unix

package sim

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockDir takes the data folder's lock, held while the demo runs: a second
// demo on the folder is refused before it touches anything. The kernel
// drops the lock when the process ends, however it ends.
func lockDir(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("demo: a demo is running on %s already (stop it with Ctrl-C, or give --data another folder)", filepath.Dir(path))
		}
		return nil, fmt.Errorf("demo: lock %s: %w", path, err)
	}
	return f, nil
}
