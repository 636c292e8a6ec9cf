package manifest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

// The private part of a change is sealed to the gates: encrypted with the
// venue's gates key (XChaCha20-Poly1305), a secret central gives to gate
// devices only. Every device holds the mesh key, sellers included, so the
// mesh's own encryption cannot keep the names from a seller that records
// the venue's traffic; the gates key can. The sealed bytes are what the
// signed sum covers, so any device may pass a sealed part on and nobody but
// a gate can read it.
//
// Sealed part: key id (4 bytes, the first of the key's SHA-256) | nonce
// (24) | ciphertext and tag. The additional data binds it to its change:
// sealDomain, the change's number and kind.

const sealDomain = "tixgate/manifest/v1/sealed"

// GateKeySize is the size of the gates key.
const GateKeySize = chacha20poly1305.KeySize

// ErrSealed is wrapped when a private part cannot be opened: no gates key,
// another key, or damaged bytes.
var ErrSealed = errors.New("private part cannot be opened")

// GateKeyID names a gates key in sealed parts.
func GateKeyID(key []byte) [4]byte {
	sum := sha256.Sum256(key)
	return [4]byte(sum[:4])
}

func sealAD(seq uint64, kind Kind) []byte {
	ad := append([]byte(sealDomain), 0)
	ad = binary.AppendUvarint(ad, seq)
	return append(ad, kind...)
}

func seal(key []byte, seq uint64, kind Kind, plain []byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("gates key: %w", err)
	}
	id := GateKeyID(key)
	out := append([]byte(nil), id[:]...)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out = append(out, nonce...)
	return aead.Seal(out, nonce, plain, sealAD(seq, kind)), nil
}

func open(key []byte, seq uint64, kind Kind, sealed []byte) ([]byte, error) {
	if key == nil {
		return nil, fmt.Errorf("%w: this device holds no gates key", ErrSealed)
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSealed, err)
	}
	if len(sealed) > 0 && sealed[0] == '{' && json.Valid(sealed) {
		// Ciphertext is never JSON: this change was signed before private
		// parts were sealed to the gates.
		return nil, fmt.Errorf("%w: it is not sealed (signed before private parts were sealed to the gates): sign the manifest again", ErrSealed)
	}
	if len(sealed) < 4+aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("%w: %d bytes", ErrSealed, len(sealed))
	}
	if id := GateKeyID(key); [4]byte(sealed[:4]) != id {
		return nil, fmt.Errorf("%w: sealed to gates key %x, this device holds %x", ErrSealed, sealed[:4], id)
	}
	nonce, ct := sealed[4:4+aead.NonceSize()], sealed[4+aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, ct, sealAD(seq, kind))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSealed, err)
	}
	return plain, nil
}
