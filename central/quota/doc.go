// Package quota gives seller handhelds their offline quotas: blocks of
// serials of one event and ticket type, reserved in central's store from
// the range kept for sellers (store.SellerSerialMin up), certified for the
// device's key by an issuer certificate signed by the organizer's root, and
// priced by a seller price list. Both travel as signed manifest changes
// (kind issuer and kind prices), so they reach the seller through its
// manifest pull and every gate through the mesh: a gate admits a code the
// seller signed inside its block and refuses any other.
//
// A quota is capped or revoked by revoking its unsold serials in a signed
// revoke change: the seller's key is its identity key, so revoking the key
// would cut the device off, and a certificate cannot be taken back
// otherwise. Serials central knows were sold are kept.
//
// It never signs tickets itself and never reads a device's ledger: what a
// seller sold reaches central as records, through intake and package sales.
package quota
