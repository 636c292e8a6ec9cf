package edge

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

// Files of the certificate a device makes for itself.
const (
	SelfCertFile = "tls.crt"
	SelfKeyFile  = "tls.key"
)

// isLoopback says whether a listen address reaches only this machine.
// An empty host or 0.0.0.0 reaches every interface.
func isLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// listen opens the API's and UI's listener on cfg.Listen: plain HTTP on
// loopback, HTTPS anywhere else (cfg.TLSCert and TLSKey, or the device's own
// certificate), returning the certificate's fingerprint then. Every server
// of a device listens through it, the unsound one included, so none serves
// plain HTTP to the network. cfg.Clock and cfg.Logger may be nil.
func listen(cfg Config) (net.Listener, string, error) {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, "", fmt.Errorf("edge: API on %s: %w", cfg.Listen, err)
	}
	if isLoopback(cfg.Listen) {
		return ln, "", nil
	}
	var clock ticket.Clock = ticket.SystemClock{}
	if cfg.Clock != nil {
		clock = cfg.Clock
	}
	tc, fp, err := serverTLS(cfg.Dir, cfg.Listen, cfg.TLSCert, cfg.TLSKey, clock.Now())
	if err != nil {
		ln.Close()
		return nil, "", fmt.Errorf("edge: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log.Info("serving HTTPS: check this fingerprint in the browser", "addr", ln.Addr().String(), "sha256", fp)
	return tls.NewListener(ln, tc), fp, nil
}

// serverTLS is the TLS config of a non-loopback listener: the given files,
// or the device's own certificate, made at first start. It returns the
// certificate's SHA-256 fingerprint, for staff to compare with the
// browser's.
func serverTLS(dir, listen, certFile, keyFile string, now time.Time) (*tls.Config, string, error) {
	if (certFile == "") != (keyFile == "") {
		return nil, "", errors.New("tls: give both --tls-cert and --tls-key, or neither")
	}
	if certFile == "" {
		certFile, keyFile = filepath.Join(dir, SelfCertFile), filepath.Join(dir, SelfKeyFile)
		if _, err := os.Stat(certFile); errors.Is(err, os.ErrNotExist) {
			if err := makeSelfCert(certFile, keyFile, listen, now); err != nil {
				return nil, "", err
			}
		}
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, "", fmt.Errorf("tls: %w", err)
	}
	sum := sha256.Sum256(cert.Certificate[0])
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, fingerprint(sum[:]), nil
}

// fingerprint formats a digest as browsers show it: AB:CD:….
func fingerprint(sum []byte) string {
	h := strings.ToUpper(hex.EncodeToString(sum))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// selfNames are the names a device's own certificate covers: its host
// name, localhost, the listen address, and with a wildcard listen every
// address of its interfaces.
func selfNames(listen string) (dns []string, ips []net.IP) {
	dns = []string{"localhost"}
	if h, err := os.Hostname(); err == nil && h != "" {
		dns = append(dns, h)
	}
	ips = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	host, _, _ := net.SplitHostPort(listen)
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
		return dns, append(ips, ip)
	}
	if host != "" && net.ParseIP(host) == nil {
		dns = append(dns, host)
		return dns, ips
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() {
			ips = append(ips, ipn.IP)
		}
	}
	return dns, ips
}

// makeSelfCert writes an ECDSA P-256 certificate valid ten years, its key
// mode 0600.
func makeSelfCert(certFile, keyFile, listen string, now time.Time) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	dns, ips := selfNames(listen)
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: dns[len(dns)-1], Organization: []string{"tixgate device"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     dns,
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	if err := keyfile.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), true); err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	return keyfile.WriteFileMode(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644, true)
}
