package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's costs.
type Params struct {
	Time    uint32 // passes over memory
	MemKiB  uint32 // memory per hash: 64 MiB costs an attacker's GPU most
	Threads uint8
	KeyLen  uint32 // bytes of hash; 0 is 32
}

// Default follows RFC 9106's second recommendation (64 MiB, 3 passes):
// about 100 ms a hash on a server core.
var Default = Params{Time: 3, MemKiB: 64 * 1024, Threads: 2, KeyLen: 32}

// Cheap is for tests: the format is the same.
var Cheap = Params{Time: 1, MemKiB: 1024, Threads: 1, KeyLen: 32}

// ErrBadHash: a stored hash that is not an argon2id PHC string, or whose
// costs are beyond what a check may spend.
var ErrBadHash = errors.New("password hash: not an argon2id PHC string")

// Hash returns pw's argon2id hash with a fresh salt.
func Hash(pw string, p Params) (string, error) {
	if p.KeyLen == 0 {
		p.KeyLen = 32
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.MemKiB, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemKiB, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Check reports whether pw matches stored, in constant time. A stored
// hash asking for more than 4 GiB or 64 passes is refused rather than
// computed.
func Check(pw, stored string) (bool, error) {
	parts := strings.Split(stored, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, ErrBadHash
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemKiB, &p.Time, &p.Threads); err != nil || p.MemKiB > 1<<22 || p.Time > 64 {
		return false, ErrBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, ErrBadHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, ErrBadHash
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.MemKiB, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
