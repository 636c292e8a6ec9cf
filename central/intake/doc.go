// Package intake is where devices' records enter central: every pushed
// record is decoded and its origin's signature checked against the
// certificate central issued that device (valid at the record's time, the
// device not revoked before it), runs of one origin's chain by their last
// signature (record.VerifyBatch, as the venue mesh does), before anything is
// stored. Records are deduplicated by (origin, sequence) and must follow
// their origin's chain, so central's copy of each origin's log has no gaps
// and its acknowledgement is the log's length. What does not verify is
// refused with its reason, kept for ops, and never stored.
//
// It never trusts the device that uploads: a gate uploading its peers'
// records is a courier, and a record is worth what its origin's signature
// says.
package intake
