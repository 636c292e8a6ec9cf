// Package ticket is tixgate's shared vocabulary: the signed ticket code and
// its text form, keys and key ids, the certificates a root key signs for
// issuers and devices, rotating codes, and the trust store a gate verifies
// codes against.
//
// It is pure code: it reads no files, opens no sockets and reads no clock.
// Every time it needs is passed in, so a gate, a seller handheld and central
// run the very same checks. It must never import another tixgate package.
package ticket
