package edge

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ledger/ledgertest"
)

func TestIsLoopback(t *testing.T) {
	for _, tc := range []struct {
		listen string
		want   bool
	}{
		{"127.0.0.1:8080", true}, {"127.0.0.2:0", true}, {"[::1]:8080", true}, {"localhost:80", true},
		{"0.0.0.0:8080", false}, {":8080", false}, {"192.168.1.5:443", false}, {"gate1.local:443", false}, {"nonsense", false},
	} {
		if got := isLoopback(tc.listen); got != tc.want {
			t.Errorf("isLoopback(%q) = %v, want %v", tc.listen, got, tc.want)
		}
	}
}

// httpsClient trusts only the certificate in certFile.
func httpsClient(t *testing.T, certFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no certificate in " + certFile)
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// A node on every interface serves HTTPS with a certificate it made, valid
// for 127.0.0.1 and localhost, whose fingerprint the status shows; plain
// HTTP gets no API.
func TestSelfSignedHTTPS(t *testing.T) {
	v := ledgertest.NewVenue(t, 1)
	n := startNodeWith(t, v, "gate-1", func(c *Config) { c.Listen = "0.0.0.0:0" })
	_, port, _ := net.SplitHostPort(n.APIAddr())
	certFile := filepath.Join(n.cfg.Dir, SelfCertFile)
	fi, err := os.Stat(filepath.Join(n.cfg.Dir, SelfKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", fi, err)
	}
	c := httpsClient(t, certFile)
	for _, host := range []string{"127.0.0.1", "localhost"} {
		req, _ := http.NewRequest("GET", "https://"+net.JoinHostPort(host, port)+"/api/v1/status", nil)
		req.Header.Set("Authorization", "Bearer "+n.Token())
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("https via %s: %v", host, err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var st Status
		if err := json.Unmarshal(data, &st); err != nil || resp.StatusCode != 200 {
			t.Fatalf("status via %s: %d %s", host, resp.StatusCode, data)
		}
		sum := sha256.Sum256(resp.TLS.PeerCertificates[0].Raw)
		if st.TLSFingerprint != fingerprint(sum[:]) || n.TLSFingerprint() != st.TLSFingerprint || len(st.TLSFingerprint) != 95 {
			t.Errorf("status fingerprint %q, certificate's %q", st.TLSFingerprint, fingerprint(sum[:]))
		}
		if k := resp.TLS.PeerCertificates[0].PublicKeyAlgorithm; k != x509.ECDSA {
			t.Errorf("certificate key %v, want ECDSA", k)
		}
	}
	resp, err := http.Get("http://127.0.0.1:" + port + "/healthz")
	if err == nil {
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || strings.Contains(string(data), "state") {
			t.Errorf("plain HTTP on a non-loopback listener: %d %s", resp.StatusCode, data)
		}
	}

	// A restart keeps the certificate: staff checked that fingerprint.
	first := n.TLSFingerprint()
	n.Close()
	cfg := n.cfg
	n2, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Close()
	if n2.TLSFingerprint() != first {
		t.Errorf("fingerprint after restart %q, want %q", n2.TLSFingerprint(), first)
	}
}

// Given files are served; half a pair is an error; loopback stays HTTP.
func TestGivenCertificate(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := makeSelfCert(cert, key, "127.0.0.1:0", time.Now()); err != nil {
		t.Fatal(err)
	}
	v := ledgertest.NewVenue(t, 1)
	n := startNodeWith(t, v, "gate-1", func(c *Config) { c.Listen, c.TLSCert, c.TLSKey = "0.0.0.0:0", cert, key })
	if _, err := os.Stat(filepath.Join(n.cfg.Dir, SelfCertFile)); err == nil {
		t.Error("made its own certificate although one was given")
	}
	_, port, _ := net.SplitHostPort(n.APIAddr())
	resp, err := httpsClient(t, cert).Get("https://127.0.0.1:" + port + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, _, err := serverTLS(dir, "0.0.0.0:1", cert, "", time.Now()); err == nil || !strings.Contains(err.Error(), "both") {
		t.Errorf("half a pair: %v", err)
	}
	loop := startNode(t, v, "gate-2")
	if loop.TLSFingerprint() != "" {
		t.Error("loopback node serves TLS")
	}
	if resp, err := http.Get("http://" + loop.APIAddr() + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("loopback plain HTTP: %v %v", resp, err)
	}
}
