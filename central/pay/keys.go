package pay

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// ParseRSAPrivateKey reads an RSA private key from PEM (PKCS #8 or
// PKCS #1), or from the bare base64 of its DER that the providers'
// consoles hand out.
func ParseRSAPrivateKey(data []byte) (*rsa.PrivateKey, error) {
	der, err := pemOrBase64(data)
	if err != nil {
		return nil, err
	}
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		if rk, ok := k.(*rsa.PrivateKey); ok {
			return rk, nil
		}
		return nil, errors.New("private key: not an RSA key")
	}
	k, err := x509.ParsePKCS1PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("private key: neither PKCS #8 nor PKCS #1: %w", err)
	}
	return k, nil
}

// ParseRSAPublicKey reads an RSA public key (PKIX) or the key of an X.509
// certificate, from PEM or bare base64.
func ParseRSAPublicKey(data []byte) (*rsa.PublicKey, error) {
	der, err := pemOrBase64(data)
	if err != nil {
		return nil, err
	}
	if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		if rk, ok := k.(*rsa.PublicKey); ok {
			return rk, nil
		}
		return nil, errors.New("public key: not an RSA key")
	}
	if c, err := x509.ParseCertificate(der); err == nil {
		if rk, ok := c.PublicKey.(*rsa.PublicKey); ok {
			return rk, nil
		}
		return nil, errors.New("certificate: not an RSA key")
	}
	k, err := x509.ParsePKCS1PublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("public key: neither PKIX, a certificate nor PKCS #1: %w", err)
	}
	return k, nil
}

func pemOrBase64(data []byte) ([]byte, error) {
	if b, _ := pem.Decode(data); b != nil {
		return b.Bytes, nil
	}
	der, err := base64.StdEncoding.DecodeString(string(trimSpace(data)))
	if err != nil {
		return nil, errors.New("key: neither PEM nor base64")
	}
	return der, nil
}

func trimSpace(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c != ' ' && c != '\n' && c != '\r' && c != '\t' {
			out = append(out, c)
		}
	}
	return out
}

// ReadKeyFile reads a key file, refusing one that others may read: a
// merchant's private key belongs to central alone (mode 0600).
func ReadKeyFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key file %s: mode %o lets others read it: chmod 600 %s", path, st.Mode().Perm(), path)
	}
	return os.ReadFile(path)
}

// signRSA2 is SHA256withRSA (PKCS #1 v1.5) of msg, base64.
func signRSA2(k *rsa.PrivateKey, msg []byte) (string, error) {
	sum := sha256.Sum256(msg)
	sig, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// verifyRSA2 checks a base64 SHA256withRSA signature of msg.
func verifyRSA2(k *rsa.PublicKey, msg []byte, sig string) error {
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return ErrForged
	}
	sum := sha256.Sum256(msg)
	if rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], raw) != nil {
		return ErrForged
	}
	return nil
}
