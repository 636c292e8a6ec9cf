package uplink

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tixgate/tixgate/ticket/keyfile"
)

// CredentialsFile is where an enrolled device keeps how to reach central,
// in its device directory (mode 0600: it holds the API credential).
const CredentialsFile = "uplink.json"

// Credentials is what a device needs to sync: central's URL and its API
// credential, and what enrollment assigned it.
type Credentials struct {
	URL        string `json:"url"`
	Credential string `json:"credential"`
	Venue      string `json:"venue"`
	Gate       string `json:"gate,omitempty"`
}

// SaveCredentials writes the device's credentials into its directory.
func SaveCredentials(dir string, c Credentials) error {
	return keyfile.WriteJSON(filepath.Join(dir, CredentialsFile), c, true)
}

// ErrNotEnrolled is returned by LoadCredentials for a device that did not
// enroll with central.
var ErrNotEnrolled = errors.New("device is not enrolled with central")

// LoadCredentials reads the device's credentials.
func LoadCredentials(dir string) (Credentials, error) {
	var c Credentials
	p := filepath.Join(dir, CredentialsFile)
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return c, fmt.Errorf("%s: %w (no %s: run tixgate enroll)", dir, ErrNotEnrolled, CredentialsFile)
	}
	if err := keyfile.ReadJSON(p, &c); err != nil {
		return c, err
	}
	return c, nil
}
