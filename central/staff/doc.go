// Package staff holds central's staff accounts: users with a role
// (box_office, ops, admin, auditor) and an argon2id password, logins that
// lock an account after repeated failures, sessions whose tokens only the
// browser holds (central keeps their SHA-256), and the audit log every
// staff action writes to.
//
// Everything lives in the store: a session made by one central process is
// valid at every other, and so is a lockout. It never keeps a password, a
// session token or a CSRF token in a log.
package staff
