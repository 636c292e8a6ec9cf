// Package password hashes central's passwords (staff and buyers) with
// argon2id and checks them, in the PHC string format
// ($argon2id$v=19$m=…,t=…,p=…$salt$hash), so costs can rise later without
// invalidating stored hashes.
package password
