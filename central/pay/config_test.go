package pay

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tixgate/tixgate/central/pay/paysim"
	"github.com/tixgate/tixgate/ticket"
)

// A providers file names key files; each secret file must be 0600, and
// the adapters it makes are the four providers.
func TestLoadProviders(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	der, _ := x509.MarshalPKCS8PrivateKey(testKey(t, 1))
	priv := write("merchant.key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	pubDER, _ := x509.MarshalPKIXPublicKey(&testKey(t, 0).PublicKey)
	pub := write("provider.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644)
	v3 := write("apiv3", []byte("0123456789abcdef0123456789abcdef\n"), 0o600)
	sk := write("stripe", []byte("sk_test_123\n"), 0o600)
	wh := write("whsec", []byte("whsec_abc\n"), 0o600)
	up, err := paysim.NewUnionPay("777290058110048", &testKey(t, 1).PublicKey, "1")
	if err != nil {
		t.Fatal(err)
	}
	root := write("root.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: up.Root().Raw}), 0o644)
	conf := `[alipay]
app_id = "2021000122600000"
private_key_file = "` + priv + `"
alipay_public_key_file = "` + pub + `"

[wechat]
mch_id = "1900000109"
app_id = "wxd678efh567hg6787"
merchant_key_file = "` + priv + `"
merchant_serial = "5157F09EFDC096DE15EBE81A47057A72"
api_v3_key_file = "` + v3 + `"
[wechat.platform_key_files]
PLATFORM1 = "` + pub + `"

[unionpay]
mer_id = "777290058110048"
merchant_key_file = "` + priv + `"
merchant_cert_id = "68759663125"
root_cert_files = ["` + root + `"]

[stripe]
secret_key_file = "` + sk + `"
webhook_secret_file = "` + wh + `"
`
	path := write("pay.toml", []byte(conf), 0o644)
	ps, err := LoadProviders(path, "https://tickets.example.org/", ticket.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.Name())
	}
	if got := strings.Join(names, " "); got != "alipay wechat unionpay stripe" {
		t.Errorf("providers: %s", got)
	}
	if a := ps[0].(*Alipay); a.cfg.NotifyURL != "https://tickets.example.org/api/v1/pay/notify/alipay" {
		t.Errorf("alipay notify URL: %s", a.cfg.NotifyURL)
	}
	if s := ps[3].(*Stripe); s.cfg.SecretKey != "sk_test_123" || s.cfg.WebhookSecret != "whsec_abc" {
		t.Errorf("stripe secrets read as %q %q", s.cfg.SecretKey, s.cfg.WebhookSecret)
	}

	os.Chmod(sk, 0o644)
	if _, err := LoadProviders(path, "https://tickets.example.org", ticket.SystemClock{}); err == nil || !strings.Contains(err.Error(), "chmod 600 "+sk) {
		t.Errorf("a secret others may read: %v", err)
	}
	typo := write("typo.toml", []byte("[alipay]\napp = \"x\"\n"), 0o644)
	if _, err := LoadProviders(typo, "https://tickets.example.org", ticket.SystemClock{}); err == nil {
		t.Error("an unknown key was taken")
	}
}
