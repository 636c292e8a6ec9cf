// Package devices is how gates and seller handhelds join central: ops
// creates a device and gets a one-time, expiring setup token; the device
// enrolls with it, sending the identity key it made, and receives once its
// certificate (signed with keyfile.Keys.CertifyDevice, the one place device
// certificates are made), the root public key, the venue mesh keyring, its
// gate and its API credential. The certificate also goes into the venue's
// manifest, so every peer can verify the new device's records.
//
// Tokens and credentials are random, shown once, and stored only as
// SHA-256 hashes; this package never logs one.
package devices
