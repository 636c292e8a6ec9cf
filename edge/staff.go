package edge

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/crypto/argon2"

	"github.com/tixgate/tixgate/ticket/keyfile"
)

// StaffFile is the name of the staff accounts file in a device's data dir.
const StaffFile = "staff.json"

// Role is what a staff account may do on the device.
type Role string

const (
	RoleGate       Role = "gate"       // scans tickets
	RoleSupervisor Role = "supervisor" // scans, and overrides a refusal
	RoleSeller     Role = "seller"     // sells tickets and keeps a till on a seller device
)

// ParseRole accepts the names of the roles.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleGate, RoleSupervisor, RoleSeller:
		return r, nil
	}
	return "", fmt.Errorf("role %q: want gate, supervisor or seller", s)
}

// MinPINLength is the shortest PIN an account may have.
const MinPINLength = 4

// Argon2Params are the argon2id parameters of one stored hash, kept with it
// so that raising them later leaves older hashes verifiable.
type Argon2Params struct {
	Time    uint32 `json:"time"`
	MemKiB  uint32 `json:"memory_kib"`
	Threads uint8  `json:"threads"`
	KeyLen  uint32 `json:"key_len"`
}

// DefaultArgon2 is RFC 9106's second recommended option scaled for a gate
// device: 64 MiB and 3 passes is about 100 ms on a Raspberry Pi 4, slow
// enough to make guessing a 4-digit PIN from a stolen file cost hours, fast
// enough for a login.
var DefaultArgon2 = Argon2Params{Time: 3, MemKiB: 64 * 1024, Threads: 2, KeyLen: 32}

// StaffAccount is one person who may log in to the device.
type StaffAccount struct {
	Name   string       `json:"name"`
	Role   Role         `json:"role"`
	Salt   []byte       `json:"salt"`
	Hash   []byte       `json:"hash"`
	Params Argon2Params `json:"params"`
}

// CheckPIN says whether pin is the account's PIN, in constant time.
func (a *StaffAccount) CheckPIN(pin string) bool {
	p := a.Params
	if p.Time == 0 || p.MemKiB == 0 || p.Threads == 0 || p.KeyLen == 0 || len(a.Hash) != int(p.KeyLen) {
		return false
	}
	got := argon2.IDKey([]byte(pin), a.Salt, p.Time, p.MemKiB, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(got, a.Hash) == 1
}

// ValidatePIN refuses PINs that are not at least MinPINLength digits.
func ValidatePIN(pin string) error {
	if len(pin) < MinPINLength {
		return fmt.Errorf("pin: at least %d digits", MinPINLength)
	}
	for _, r := range pin {
		if r < '0' || r > '9' {
			return errors.New("pin: digits only")
		}
	}
	return nil
}

// ValidateStaffName refuses empty names, control characters and names
// longer than 64 bytes.
func ValidateStaffName(name string) error {
	if strings.TrimSpace(name) == "" {
		return errors.New("staff name is empty")
	}
	if len(name) > 64 {
		return errors.New("staff name: at most 64 bytes")
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return errors.New("staff name: control characters are not allowed")
		}
	}
	return nil
}

// ErrNoStaff is returned for a name without an account.
var ErrNoStaff = errors.New("no such staff account")

// staffDoc is the file's shape.
type staffDoc struct {
	Accounts []StaffAccount `json:"accounts"`
}

// LoadStaff reads the staff accounts of a data dir. A missing file is no
// accounts; a file others may read is an error.
func LoadStaff(dataDir string) ([]StaffAccount, error) {
	path := filepath.Join(dataDir, StaffFile)
	data, err := keyfile.ReadSecretFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read staff: %w", err)
	}
	var doc staffDoc
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("read staff %s: %w", path, err)
	}
	for i := range doc.Accounts {
		a := &doc.Accounts[i]
		if err := ValidateStaffName(a.Name); err != nil {
			return nil, fmt.Errorf("read staff %s: account %d: %w", path, i, err)
		}
		if _, err := ParseRole(string(a.Role)); err != nil {
			return nil, fmt.Errorf("read staff %s: %s: %w", path, a.Name, err)
		}
	}
	return doc.Accounts, nil
}

func saveStaff(dataDir string, accounts []StaffAccount) error {
	data, err := json.MarshalIndent(staffDoc{Accounts: accounts}, "", "  ")
	if err != nil {
		return fmt.Errorf("write staff: %w", err)
	}
	return keyfile.WriteFileMode(filepath.Join(dataDir, StaffFile), append(data, '\n'), keyfile.Mode, true)
}

// AddStaff adds an account, or replaces the role and PIN of one of that
// name, hashing the PIN with argon2id and a fresh salt.
func AddStaff(dataDir, name string, role Role, pin string) error {
	return addStaff(dataDir, name, role, pin, DefaultArgon2)
}

// addStaff is AddStaff with the hash's parameters.
func addStaff(dataDir, name string, role Role, pin string, p Argon2Params) error {
	if err := ValidateStaffName(name); err != nil {
		return err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return err
	}
	if err := ValidatePIN(pin); err != nil {
		return err
	}
	accounts, err := LoadStaff(dataDir)
	if err != nil {
		return err
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return fmt.Errorf("salt: %w", err)
	}
	a := StaffAccount{Name: name, Role: role, Salt: salt, Params: p,
		Hash: argon2.IDKey([]byte(pin), salt, p.Time, p.MemKiB, p.Threads, p.KeyLen)}
	if i := slices.IndexFunc(accounts, func(x StaffAccount) bool { return x.Name == name }); i >= 0 {
		accounts[i] = a
	} else {
		accounts = append(accounts, a)
	}
	return saveStaff(dataDir, accounts)
}

// RemoveStaff deletes the account of that name.
func RemoveStaff(dataDir, name string) error {
	accounts, err := LoadStaff(dataDir)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(accounts, func(x StaffAccount) bool { return x.Name == name })
	if i < 0 {
		return fmt.Errorf("remove %q: %w", name, ErrNoStaff)
	}
	return saveStaff(dataDir, slices.Delete(accounts, i, i+1))
}
