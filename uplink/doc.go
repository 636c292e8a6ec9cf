// Package uplink is the protocol between a device and central, and the
// client a device runs: the wire types both sides import, so central never
// imports device code and devices never import central. docs/sync.md is its
// specification; docs/openapi.yaml describes the same endpoints.
//
// The exchanges, all HTTPS with JSON, the manifest as NDJSON:
//
//   - enroll: a device sends its identity public key with a one-time setup
//     token and receives its certificate, the root public key, the venue
//     mesh keyring, its gate and its API credential;
//   - push: a device uploads every record it holds that central has not
//     acknowledged, its peers' included; central answers with what it
//     stored and its acknowledgement of each origin (the length of that
//     origin's log it holds without gaps), and names each record it
//     refused and why;
//   - pull: the signed manifest changes after a cursor, one per line, so a
//     pull cut anywhere resumes from the last change applied; any cache in
//     between can serve them, for every change is signed by central;
//   - credential roll: a new API credential, which the device keeps on disk
//     before it uses it; central honours the old one until the new one is
//     first used, so a lost answer loses nothing. Central asks for a roll
//     with HeaderRollCredential on its answers.
//
// A device central suspended is answered ErrCodeDeviceSuspended on every
// call: the client reports StateSuspended and backs off.
//
// Push runs before pull. The client never decides a scan and never holds a
// lock a scan waits for: it reads the device's ledger through the small
// Device interface and backs off when central cannot be reached.
package uplink
