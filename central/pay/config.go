package pay

import (
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/strict"
)

// ProvidersFile is the file that configures central's providers (.toml,
// .yaml or .yml). Secrets are never in it: it names the
// files that hold them, each of mode 0600.
//
//	[alipay]
//	app_id = "2021000122600000"
//	private_key_file = "/etc/tixgate/alipay-app.key"
//	alipay_public_key_file = "/etc/tixgate/alipay-public.pem"
//	return_url = "https://tickets.example.org/orders"
//
//	[stripe]
//	secret_key_file = "/etc/tixgate/stripe-secret"
//	webhook_secret_file = "/etc/tixgate/stripe-webhook-secret"
type ProvidersFile struct {
	Alipay *struct {
		AppID               string `json:"app_id" toml:"app_id" yaml:"app_id"`
		Gateway             string `json:"gateway" toml:"gateway" yaml:"gateway"`
		PrivateKeyFile      string `json:"private_key_file" toml:"private_key_file" yaml:"private_key_file"`
		AlipayPublicKeyFile string `json:"alipay_public_key_file" toml:"alipay_public_key_file" yaml:"alipay_public_key_file"`
		ReturnURL           string `json:"return_url" toml:"return_url" yaml:"return_url"`
		DesktopPage         bool   `json:"desktop_page" toml:"desktop_page" yaml:"desktop_page"`
	} `json:"alipay" toml:"alipay" yaml:"alipay"`
	WeChat *struct {
		MchID           string            `json:"mch_id" toml:"mch_id" yaml:"mch_id"`
		AppID           string            `json:"app_id" toml:"app_id" yaml:"app_id"`
		URL             string            `json:"url" toml:"url" yaml:"url"`
		MerchantKeyFile string            `json:"merchant_key_file" toml:"merchant_key_file" yaml:"merchant_key_file"`
		MerchantSerial  string            `json:"merchant_serial" toml:"merchant_serial" yaml:"merchant_serial"`
		PlatformKeys    map[string]string `json:"platform_key_files" toml:"platform_key_files" yaml:"platform_key_files"` // serial → file
		APIv3KeyFile    string            `json:"api_v3_key_file" toml:"api_v3_key_file" yaml:"api_v3_key_file"`
	} `json:"wechat" toml:"wechat" yaml:"wechat"`
	UnionPay *struct {
		MerID           string   `json:"mer_id" toml:"mer_id" yaml:"mer_id"`
		URL             string   `json:"url" toml:"url" yaml:"url"`
		MerchantKeyFile string   `json:"merchant_key_file" toml:"merchant_key_file" yaml:"merchant_key_file"`
		MerchantCertID  string   `json:"merchant_cert_id" toml:"merchant_cert_id" yaml:"merchant_cert_id"`
		RootCertFiles   []string `json:"root_cert_files" toml:"root_cert_files" yaml:"root_cert_files"`
		FrontURL        string   `json:"front_url" toml:"front_url" yaml:"front_url"`
	} `json:"unionpay" toml:"unionpay" yaml:"unionpay"`
	Stripe *struct {
		SecretKeyFile     string   `json:"secret_key_file" toml:"secret_key_file" yaml:"secret_key_file"`
		WebhookSecretFile string   `json:"webhook_secret_file" toml:"webhook_secret_file" yaml:"webhook_secret_file"`
		URL               string   `json:"url" toml:"url" yaml:"url"`
		MethodTypes       []string `json:"method_types" toml:"method_types" yaml:"method_types"`
	} `json:"stripe" toml:"stripe" yaml:"stripe"`
}

// LoadProviders reads a providers file and makes its adapters, their
// notification routes under publicURL (central's address as providers
// reach it).
func LoadProviders(path, publicURL string, clock ticket.Clock) ([]Provider, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("payment providers: %w", err)
	}
	var f ProvidersFile
	if err := strict.File(path, data, &f); err != nil {
		return nil, fmt.Errorf("payment providers %s: %w", path, err)
	}
	notify := strings.TrimRight(publicURL, "/") + PathPrefix + "notify/"
	var out []Provider
	fail := func(name string, err error) ([]Provider, error) {
		return nil, fmt.Errorf("payment providers %s: [%s]: %w", path, name, err)
	}
	if a := f.Alipay; a != nil {
		priv, err := privateKeyFile(a.PrivateKeyFile)
		if err != nil {
			return fail("alipay", err)
		}
		pub, err := publicKeyFile(a.AlipayPublicKeyFile)
		if err != nil {
			return fail("alipay", err)
		}
		p, err := NewAlipay(AlipayConfig{AppID: a.AppID, Gateway: a.Gateway, PrivateKey: priv, AlipayPublicKey: pub, NotifyURL: notify + "alipay",
			ReturnURL: a.ReturnURL, DesktopPage: a.DesktopPage, Clock: clock})
		if err != nil {
			return fail("alipay", err)
		}
		out = append(out, p)
	}
	if w := f.WeChat; w != nil {
		priv, err := privateKeyFile(w.MerchantKeyFile)
		if err != nil {
			return fail("wechat", err)
		}
		keys := map[string]*rsa.PublicKey{}
		for serial, file := range w.PlatformKeys {
			if keys[serial], err = publicKeyFile(file); err != nil {
				return fail("wechat", err)
			}
		}
		v3, err := secretFile(w.APIv3KeyFile)
		if err != nil {
			return fail("wechat", err)
		}
		p, err := NewWeChat(WeChatConfig{MchID: w.MchID, AppID: w.AppID, URL: w.URL, MerchantKey: priv, MerchantSerial: w.MerchantSerial,
			PlatformKeys: keys, APIv3Key: []byte(v3), NotifyURL: notify + "wechat", Clock: clock})
		if err != nil {
			return fail("wechat", err)
		}
		out = append(out, p)
	}
	if u := f.UnionPay; u != nil {
		priv, err := privateKeyFile(u.MerchantKeyFile)
		if err != nil {
			return fail("unionpay", err)
		}
		roots := x509.NewCertPool()
		for _, file := range u.RootCertFiles {
			pem, err := os.ReadFile(file)
			if err != nil || !roots.AppendCertsFromPEM(pem) {
				return fail("unionpay", fmt.Errorf("root certificate %s: not read as PEM certificates", file))
			}
		}
		if len(u.RootCertFiles) == 0 {
			return fail("unionpay", errors.New("root_cert_files: name UnionPay's root certificates"))
		}
		p, err := NewUnionPay(UnionPayConfig{MerID: u.MerID, URL: u.URL, MerchantKey: priv, MerchantCertID: u.MerchantCertID, Roots: roots,
			BackURL: notify + "unionpay", FrontURL: u.FrontURL, Clock: clock})
		if err != nil {
			return fail("unionpay", err)
		}
		out = append(out, p)
	}
	if s := f.Stripe; s != nil {
		key, err := secretFile(s.SecretKeyFile)
		if err != nil {
			return fail("stripe", err)
		}
		hook, err := secretFile(s.WebhookSecretFile)
		if err != nil {
			return fail("stripe", err)
		}
		p, err := NewStripe(StripeConfig{SecretKey: key, WebhookSecret: hook, URL: s.URL, MethodTypes: s.MethodTypes, Clock: clock})
		if err != nil {
			return fail("stripe", err)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("payment providers %s: none configured: add an [alipay], [wechat], [unionpay] or [stripe] section", path)
	}
	return out, nil
}

func privateKeyFile(path string) (*rsa.PrivateKey, error) {
	if path == "" {
		return nil, errors.New("a private key file is needed")
	}
	data, err := ReadKeyFile(filepath.Clean(path))
	if err != nil {
		return nil, err
	}
	k, err := ParseRSAPrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

func publicKeyFile(path string) (*rsa.PublicKey, error) {
	if path == "" {
		return nil, errors.New("a public key file is needed")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	k, err := ParseRSAPublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// secretFile reads a secret (an API key, a webhook secret) from a file of
// mode 0600, without the line end.
func secretFile(path string) (string, error) {
	if path == "" {
		return "", errors.New("a secret file is needed")
	}
	data, err := ReadKeyFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(data), "\r\n"), nil
}
