package ledger

import (
	"encoding/binary"

	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ticket"
)

// The key space. One byte names each table; numbers are big-endian so keys
// sort as their numbers do.
//
// Truth:
//
//	C seq                      a manifest change, as it arrived
//	L origin seq               a record of an origin's log
//
// Waiting for a gap to fill (verified before stored):
//
//	P seq                      a manifest change ahead of the next one
//	Q origin seq               a record ahead of its origin's head
//
// Derived (Reindex rebuilds them):
//
//	S                          the last manifest change applied
//	V                          the venue
//	E event                    an event
//	Y event type               a ticket type
//	W event seller             a seller price list (seller empty: every seller)
//	T event serial             a known ticket
//	I keyid sighash            an issuer certificate
//	D keyid sighash            a device certificate
//	R kind id…                 a revocation (kind: T ticket, I issuer, D device;
//	                           A device key: when its revocation took effect)
//	H origin                   an origin's head: seq, hash, HLC
//	X event serial hlc origin seq   a ticket's record (value: the record)
//	K event serial             a ticket's last change (decisions and ingest both write it)
//	F event serial a b         a conflict between two records of one ticket
//	G origin seq               a fork: a second, different record at a taken place
const (
	tChange      = 'C'
	tLog         = 'L'
	tPendChange  = 'P'
	tPendRecord  = 'Q'
	tApplied     = 'S'
	tVenue       = 'V'
	tEvent       = 'E'
	tType        = 'Y'
	tPrices      = 'W'
	tTicket      = 'T'
	tIssuer      = 'I'
	tDevice      = 'D'
	tRevoked     = 'R'
	tHead        = 'H'
	tTicketIndex = 'X'
	tTicketMark  = 'K'
	tConflict    = 'F'
	tFork        = 'G'

	tRevokedAt = 'A' // within tRevoked: a device revocation's time
)

// derivedTables are cleared by Reindex.
var derivedTables = []byte{tApplied, tVenue, tEvent, tType, tPrices, tTicket, tIssuer, tDevice, tRevoked, tHead, tTicketIndex, tTicketMark, tConflict, tFork}

func key(table byte, parts ...[]byte) []byte {
	n := 1
	for _, p := range parts {
		n += len(p)
	}
	k := make([]byte, 0, n)
	k = append(k, table)
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func changeKey(seq uint64) []byte                     { return key(tChange, u64(seq)) }
func pendChangeKey(seq uint64) []byte                 { return key(tPendChange, u64(seq)) }
func logKey(o ticket.KeyID, seq uint64) []byte        { return key(tLog, o[:], u64(seq)) }
func pendKey(o ticket.KeyID, seq uint64) []byte       { return key(tPendRecord, o[:], u64(seq)) }
func headKey(o ticket.KeyID) []byte                   { return key(tHead, o[:]) }
func eventKey(e uint64) []byte                        { return key(tEvent, u64(e)) }
func typeKey(e, t uint64) []byte                      { return key(tType, u64(e), u64(t)) }
func pricesKey(e uint64, seller string) []byte        { return key(tPrices, u64(e), []byte(seller)) }
func ticketKey(e, s uint64) []byte                    { return key(tTicket, u64(e), u64(s)) }
func ticketPrefix(e, s uint64) []byte                 { return key(tTicketIndex, u64(e), u64(s)) }
func markKey(e, s uint64) []byte                      { return key(tTicketMark, u64(e), u64(s)) }
func revokedTicketKey(e, s uint64) []byte             { return key(tRevoked, []byte{tTicket}, u64(e), u64(s)) }
func revokedKeyKey(kind byte, id ticket.KeyID) []byte { return key(tRevoked, []byte{kind}, id[:]) }
func forkKey(o ticket.KeyID, seq uint64) []byte       { return key(tFork, o[:], u64(seq)) }

func indexKey(r *record.Record) []byte {
	return key(tTicketIndex, u64(r.Event), u64(r.Serial), u64(uint64(r.HLC)), r.Origin[:], u64(r.Seq))
}

func conflictKey(e, s uint64, a, b string) []byte {
	return key(tConflict, u64(e), u64(s), []byte(a), []byte{0}, []byte(b))
}

// head is an origin's contiguous end of log.
type head struct {
	Seq  uint64
	Hash record.Hash
	HLC  record.HLC
}

func (h head) marshal() []byte {
	b := make([]byte, 0, 48)
	b = binary.BigEndian.AppendUint64(b, h.Seq)
	b = append(b, h.Hash[:]...)
	return binary.BigEndian.AppendUint64(b, uint64(h.HLC))
}

func parseHead(b []byte) (head, bool) {
	if len(b) != 48 {
		return head{}, false
	}
	var h head
	h.Seq = binary.BigEndian.Uint64(b)
	copy(h.Hash[:], b[8:40])
	h.HLC = record.HLC(binary.BigEndian.Uint64(b[40:]))
	return h, true
}
