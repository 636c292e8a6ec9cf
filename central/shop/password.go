package shop

import "github.com/tixgate/tixgate/central/password"

// PasswordParams are argon2id's costs of a buyer's password.
type PasswordParams = password.Params

// DefaultPasswordParams follow RFC 9106's second recommendation (64 MiB,
// 3 passes).
func DefaultPasswordParams() PasswordParams { return password.Default }
