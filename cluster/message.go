package cluster

import (
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ticket"
)

// Messages between nodes: a kind byte, the sender's name, then the payload.
// Memberlist carries them as user messages, over UDP (gossip, eager push)
// or a TCP stream (anti-entropy replies, large manifest changes).
const (
	kindRecords       byte = 'R' // payload: records, each uvarint length + bytes
	kindFetched       byte = 'A' // payload as kindRecords: an answer to a fetch, not relayed
	kindChange        byte = 'C' // payload: one manifest change line
	kindFetch         byte = 'F' // payload: origin key id (4) + uvarint first sequence wanted
	kindFetchManifest byte = 'M' // payload: uvarint first change wanted
	kindState         byte = 'S' // payload: the push/pull state (JSON); only in push/pull
	kindDigest        byte = 'D' // payload: (origin key id (4) + uvarint head) for each recent origin
)

// maxSenderLen bounds a sender name.
const maxSenderLen = 64

type message struct {
	kind    byte
	sender  string
	payload []byte
}

// Every message ends with a trailer that proves its sender holds the
// device key of the certificate admitted for its name: the send time
// (8 bytes, Unix nanoseconds, big-endian) and an ed25519 signature (64
// bytes) by the device key over msgDomain followed by everything before
// the signature.
const (
	msgDomain  = "tixgate/mesh/v1\x00"
	trailerLen = 8 + ed25519.SignatureSize
)

// Why an incoming message was dropped before anything in it was used.
var (
	errUnknownSender = errors.New("sender is not a member")
	errBadSignature  = errors.New("bad signature")
	errStale         = errors.New("send time outside the replay window")
)

// sealMessage frames and signs a message.
// sealedOverhead is what sealMessage adds to a payload from sender: the
// kind, the sender's name and the trailer.
func sealedOverhead(sender string) int {
	return 1 + len(binary.AppendUvarint(nil, uint64(len(sender)))) + len(sender) + trailerLen
}

func sealMessage(key ed25519.PrivateKey, now time.Time, kind byte, sender string, payload []byte) []byte {
	b := make([]byte, 0, len(msgDomain)+2+len(sender)+len(payload)+trailerLen)
	b = append(b, msgDomain...)
	b = append(b, kind)
	b = binary.AppendUvarint(b, uint64(len(sender)))
	b = append(b, sender...)
	b = append(b, payload...)
	b = binary.BigEndian.AppendUint64(b, uint64(now.UnixNano()))
	b = append(b, ed25519.Sign(key, b)...)
	return b[len(msgDomain):]
}

// openMessage authenticates a message before anything in it is parsed
// beyond the sender's name: the signature must verify under the key
// keyOf gives for that name (nil: not a member), and the send time must
// lie within window of now. The payload aliases b.
func openMessage(b []byte, keyOf func(string) ed25519.PublicKey, now time.Time, window time.Duration) (message, error) {
	if len(b) < trailerLen+2 {
		return message{}, errors.New("short message")
	}
	body := b[:len(b)-trailerLen]
	msg, err := decodeMessage(body)
	if err != nil {
		return message{}, err
	}
	key := keyOf(msg.sender)
	if key == nil {
		return message{}, errUnknownSender
	}
	signed := make([]byte, 0, len(msgDomain)+len(b)-ed25519.SignatureSize)
	signed = append(append(signed, msgDomain...), b[:len(b)-ed25519.SignatureSize]...)
	if !ed25519.Verify(key, signed, b[len(b)-ed25519.SignatureSize:]) {
		return message{}, errBadSignature
	}
	sent := time.Unix(0, int64(binary.BigEndian.Uint64(b[len(body):])))
	if d := now.Sub(sent); d > window || d < -window {
		return message{}, errStale
	}
	return msg, nil
}

// heldAlready reports, without verifying anything, whether b is a message
// of records (kindRecords or kindFetched) every one of which holds says
// is held. Anything malformed is not: openMessage deals with it.
func heldAlready(b []byte, holds func(ticket.KeyID, uint64) bool) bool {
	if len(b) < trailerLen+2 || b[0] != kindRecords && b[0] != kindFetched {
		return false
	}
	msg, err := decodeMessage(b[:len(b)-trailerLen])
	if err != nil || len(msg.payload) == 0 {
		return false
	}
	for p := msg.payload; len(p) > 0; {
		n, w := binary.Uvarint(p)
		if w <= 0 || n == 0 || uint64(len(p)-w) < n {
			return false
		}
		raw := p[w : w+int(n)]
		origin, ok1 := record.OriginOf(raw)
		seq, ok2 := record.SeqOf(raw)
		if !ok1 || !ok2 || !holds(origin, seq) {
			return false
		}
		p = p[w+int(n):]
	}
	return true
}

func decodeMessage(b []byte) (message, error) {
	if len(b) < 2 {
		return message{}, errors.New("short message")
	}
	m := message{kind: b[0]}
	n, w := binary.Uvarint(b[1:])
	if w <= 0 || n > maxSenderLen || uint64(len(b)-1-w) < n {
		return message{}, errors.New("bad sender")
	}
	m.sender = string(b[1+w : 1+w+int(n)])
	m.payload = b[1+w+int(n):]
	return m, nil
}

// appendRecords frames records for a kindRecords payload.
func appendRecords(b []byte, recs [][]byte) []byte {
	for _, r := range recs {
		b = binary.AppendUvarint(b, uint64(len(r)))
		b = append(b, r...)
	}
	return b
}

// splitRecords unframes a kindRecords payload, copying each record.
func splitRecords(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		n, w := binary.Uvarint(b)
		if w <= 0 || n == 0 || uint64(len(b)-w) < n {
			return out, errors.New("bad record framing")
		}
		out = append(out, append([]byte(nil), b[w:w+int(n)]...))
		b = b[w+int(n):]
	}
	return out, nil
}

// A fetch names the node it asks, inside what it signs: a request captured
// on the LAN and replayed to another node is refused there, so one request
// makes one answer.
func fetchPayload(origin ticket.KeyID, from uint64, to string) []byte {
	b := binary.AppendUvarint(append([]byte(nil), origin[:]...), from)
	return append(b, to...)
}

func parseFetch(b []byte) (ticket.KeyID, uint64, string, error) {
	var o ticket.KeyID
	if len(b) < 5 {
		return o, 0, "", errors.New("short fetch")
	}
	copy(o[:], b)
	from, w := binary.Uvarint(b[4:])
	if w <= 0 || from == 0 {
		return o, 0, "", errors.New("bad fetch")
	}
	return o, from, string(b[4+w:]), nil
}

// manifestFetchPayload asks for the manifest from change from on.
func manifestFetchPayload(from uint64, to string) []byte {
	return append(binary.AppendUvarint(nil, from), to...)
}

func parseManifestFetch(b []byte) (uint64, string, error) {
	from, w := binary.Uvarint(b)
	if w <= 0 || from == 0 {
		return 0, "", errors.New("bad manifest fetch")
	}
	return from, string(b[w:]), nil
}

// state is what push/pull exchanges: who, the version vector, the manifest
// number, and the certificates of the origins in the vector, so the peer
// can verify records of devices it has not met.
type state struct {
	Name     string              `json:"n"`
	Addr     string              `json:"a"` // where the node listens (host:port), vouched for by its signature
	Vector   map[string]uint64   `json:"vv"`
	Manifest uint64              `json:"m"`
	Certs    []ticket.DeviceCert `json:"c,omitempty"`
}

func (s *state) vector() (map[ticket.KeyID]uint64, error) {
	out := make(map[ticket.KeyID]uint64, len(s.Vector))
	for k, v := range s.Vector {
		b, err := hex.DecodeString(k)
		if err != nil || len(b) != 4 {
			return nil, fmt.Errorf("bad origin %q", k)
		}
		out[ticket.KeyID(b)] = v
	}
	return out, nil
}

func parseState(b []byte) (state, error) {
	var s state
	err := json.Unmarshal(b, &s)
	return s, err
}
