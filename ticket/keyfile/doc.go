// Package keyfile keeps tixgate's keys and certificates on disk: private
// keys as PKCS#8 PEM (readable by openssl), public keys as PKIX PEM, symmetric
// secrets as PEM blocks of their own type, and certificates as JSON.
//
// Every file it writes is mode 0600, written whole or not at all (temporary
// file, fsync, rename), and never overwritten by accident. It refuses to read
// a private key or secret that others can read. It must never log or print a
// secret.
package keyfile
