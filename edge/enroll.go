package edge

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/uplink"
)

// Enrollment is what a new device brings to central with its setup token.
type Enrollment struct {
	// Dir is the device directory to make; it must not hold a device.
	Dir string
	// URL is central's, as the device reaches it; Token the one-time setup
	// token ops gave for this device.
	URL, Token string
	// Version and Hardware are told to central for its device list.
	Version, Hardware string
	// EncryptionKey is a ledger encryption key file to copy into Dir
	// (made if missing); empty: a new random key.
	EncryptionKey string
	// HTTP is the client that reaches central; nil: one with a 30 s timeout.
	HTTP *http.Client
	// Ledger configures the ledger Install makes (its Dir is Dir).
	Ledger ledger.Config
	// Clock says the device's time to central (it records the skew).
	Clock ticket.Clock
}

// Enroll makes the device's identity key, enrolls it with central through
// the setup token, installs the device directory (identity, certificate,
// ledger) and saves the uplink credential in it. Errors from central come
// back as *uplink.Error; an unreachable central as the network's error.
func Enroll(ctx context.Context, e Enrollment) (uplink.EnrollResponse, error) {
	if _, err := os.Stat(filepath.Join(e.Dir, ledger.DeviceKeyFile)); err == nil {
		return uplink.EnrollResponse{}, fmt.Errorf("enroll: %s already holds a device: use a new directory", e.Dir)
	}
	if e.Clock == nil {
		e.Clock = ticket.SystemClock{}
	}
	key, err := ticket.GenerateKey(nil)
	if err != nil {
		return uplink.EnrollResponse{}, fmt.Errorf("enroll: %w", err)
	}
	resp, err := uplink.Enroll(ctx, e.HTTP, e.URL, uplink.EnrollRequest{Token: e.Token, Key: ticket.PublicOf(key), Version: e.Version,
		Hardware: e.Hardware, Time: e.Clock.Now()})
	if err != nil {
		return resp, err
	}
	e.Ledger.Dir = e.Dir
	err = ledger.Install(ledger.Enrollment{Dir: e.Dir, Key: key, Cert: resp.Cert, Root: resp.Root, MeshKey: resp.Keyring[0], GateKey: resp.GateKey, EncryptionKey: e.EncryptionKey},
		e.Ledger)
	if err != nil {
		return resp, err
	}
	err = uplink.SaveCredentials(e.Dir, uplink.Credentials{URL: strings.TrimRight(e.URL, "/"), Credential: resp.Credential, Venue: resp.Venue, Gate: resp.Gate})
	return resp, err
}
