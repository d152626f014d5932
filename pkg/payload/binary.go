package payload

import (
	"bytes"
	"compress/flate"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"io"
	"sync"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// The encrypted form (docs/FORMAT.md):
//
//	envelope  = mode(1) keyref nonce(12) ciphertext||tag(16) [gatetag(8)]
//	keyref    = len(1) id            (ModeStaticKey, 1..255 bytes)
//	          | len(2, big-endian) blob  (ModeKMS)
//	          | keytag(4) identifier(12) (ModeKMSHMAC, ModeKMSHMACGated)
//	          | gatekeytag(4) len(2) blob (ModeKMSGated)
//	gatetag   = the gated modes': GateKey.Tag of every byte before it
//	AD        = "sfncb3" || mode || keyref
//	plaintext = layout(1) flags(1) fields
//	flags     = type (bits 0-2, ActionSpec.Code) | parameters (bit 3) | deflated (bit 4)
//	fields    = { tag(1) uvarint(len) value }, deflated as a whole when
//	            that is shorter
const (
	adPrefix       = "sfncb3"
	layoutV1       = 1
	flagParameters = 1 << 3
	flagDeflated   = 1 << 4
	typeMask       = 0x07
	nonceSize      = 12
	tagSize        = 16
	// maxPlaintext bounds decompression: no URL holds more.
	maxPlaintext = callbackurls.MaxDataLength
)

// Field tags of layout 1.
const (
	fieldToken        = 1
	fieldTIDHex       = 2 // a lower-case hex transaction id, as bytes
	fieldTIDText      = 3
	fieldAction       = 4
	fieldIssuedAt     = 5 // unix seconds, uvarint
	fieldExpiration   = 6 // unix seconds, uvarint
	fieldOutput       = 7
	fieldError        = 8
	fieldCause        = 9
	fieldResponse     = 10
	fieldOutcomes     = 11
	fieldPresentation = 12
	// fieldExpirationOffset is the expiration's UTC offset in minutes
	// (zigzag varint, never 0): absent for UTC, so that payloads without
	// it are byte for byte what they were before it existed.
	fieldExpirationOffset = 13
	// fieldTargetKind is the kind of target the reference (field 1) names,
	// one byte, never 0: absent for a task token, so that payloads for
	// task tokens are what they were before kinds existed.
	fieldTargetKind = 14
	// Tags 15 to 17 are the approvers, the requester and the approval
	// flags (approvers.go).
	// fieldConfirm is where the confirmation after a decision goes
	// (callbackurls.ConfirmRoute as compact JSON): absent without
	// deliver.confirm.
	fieldConfirm = 18
	lastField    = fieldConfirm
)

// maxOffsetMinutes bounds an expiration's UTC offset (RFC 3339 allows
// -23:59 to +23:59).
const maxOffsetMinutes = 24*60 - 1

type header struct {
	mode byte
	ref  []byte
	end  int // offset of the nonce
}

func appendHeader(dst []byte, mode byte, ref []byte) []byte {
	dst = append(dst, mode)
	switch mode {
	case ModeStaticKey:
		dst = append(dst, byte(len(ref)))
	case ModeKMS:
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(ref)))
	case ModeKMSGated:
		// The gate key's tag, then the blob with its length.
		dst = append(dst, ref[:gateKeyTagSize]...)
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(ref)-gateKeyTagSize))
		return append(dst, ref[gateKeyTagSize:]...)
	}
	return append(dst, ref...)
}

// gateKeyTagSize is the size of ModeKMSGated's gate key tag.
const gateKeyTagSize = 4

func parseHeader(raw []byte) (header, error) {
	if len(raw) < 2 {
		return header{}, invalid("the data parameter is truncated")
	}
	h := header{mode: raw[0]}
	var n, off int
	switch h.mode {
	case ModeStaticKey:
		n, off = int(raw[1]), 2
	case ModeKMS:
		if len(raw) < 3 {
			return header{}, invalid("the data parameter is truncated")
		}
		n, off = int(binary.BigEndian.Uint16(raw[1:])), 3
	case ModeKMSHMAC, ModeKMSHMACGated:
		n, off = HMACKeyRefSize, 1
	case ModeKMSGated:
		if len(raw) < 1+gateKeyTagSize+2 {
			return header{}, invalid("the data parameter is truncated")
		}
		n, off = int(binary.BigEndian.Uint16(raw[1+gateKeyTagSize:])), 1+gateKeyTagSize+2
	default:
		return header{}, invalid("the data parameter names an unknown key mode")
	}
	trailer := 0
	if Gated(h.mode) {
		trailer = GateTagSize
	}
	if n == 0 || n > MaxKeyRef || len(raw) < off+n+nonceSize+tagSize+trailer {
		return header{}, invalid("the data parameter is truncated")
	}
	h.ref = raw[off : off+n]
	if h.mode == ModeKMSGated {
		h.ref = append(append(make([]byte, 0, gateKeyTagSize+n), raw[1:1+gateKeyTagSize]...), h.ref...)
	}
	h.end = off + n
	return h, nil
}

func seal(p *callbackurls.Payload, mode byte, ref []byte, aead cipher.AEAD, gate *GateKey) (string, error) {
	if !validRef(mode, ref) || Gated(mode) != (gate != nil) {
		return "", callbackurls.Errorf(callbackurls.CodeEncryptionFailed, "the key reference has an invalid length")
	}
	plain, err := marshalBinary(p)
	if err != nil {
		return "", err
	}
	buf := make([]byte, 0, 3+len(ref)+2+nonceSize+len(plain)+tagSize+GateTagSize)
	buf = appendHeader(buf, mode, ref)
	hdrLen := len(buf)
	ad := make([]byte, 0, len(adPrefix)+hdrLen)
	ad = append(append(ad, adPrefix...), buf...)
	buf = buf[:hdrLen+nonceSize]
	if _, err := rand.Read(buf[hdrLen:]); err != nil {
		return "", err
	}
	buf = aead.Seal(buf, buf[hdrLen:], plain, ad)
	if gate != nil {
		buf = append(buf, gate.Tag(buf)...)
	}
	out := make([]byte, len(PrefixEncrypted)+base64.RawURLEncoding.EncodedLen(len(buf)))
	copy(out, PrefixEncrypted)
	base64.RawURLEncoding.Encode(out[len(PrefixEncrypted):], buf)
	return string(out), nil
}

// validRef reports whether ref fits mode's header.
func validRef(mode byte, ref []byte) bool {
	switch mode {
	case ModeStaticKey:
		return len(ref) >= 1 && len(ref) <= 255
	case ModeKMS:
		return len(ref) >= 1 && len(ref) <= MaxKeyRef
	case ModeKMSHMAC, ModeKMSHMACGated:
		return len(ref) == HMACKeyRefSize
	case ModeKMSGated:
		return len(ref) > gateKeyTagSize && len(ref)-gateKeyTagSize <= MaxKeyRef
	}
	return false
}

// openEnvelope authenticates and decrypts an envelope (without its gate
// tag) and returns the plaintext.
func openEnvelope(raw []byte, h header, aead cipher.AEAD) ([]byte, error) {
	ad := make([]byte, 0, len(adPrefix)+h.end)
	ad = append(append(ad, adPrefix...), raw[:h.end]...)
	nonce := raw[h.end : h.end+nonceSize]
	plain, err := aead.Open(nil, nonce, raw[h.end+nonceSize:], ad)
	if err != nil {
		return nil, invalid("the data parameter was altered or was not made with this deployment's keys")
	}
	return plain, nil
}

func marshalBinary(p *callbackurls.Payload) ([]byte, error) {
	spec := p.Type.Spec()
	if spec == nil || spec.Code == 0 || spec.Code > typeMask {
		return nil, callbackurls.Errorf(callbackurls.CodeInvalidAction, "unknown action type %q", p.Type)
	}
	flags := spec.Code
	if p.Parameters {
		flags |= flagParameters
	}
	fields := make([]byte, 0, len(p.Target.ID)+len(p.Output)+len(p.Response)+len(p.Outcomes)+len(p.Presentation)+len(p.Confirm)+len(p.Error)+len(p.Cause)+96)
	var scratch [2048 * 4]byte
	tok := appendToken(scratch[:0], p.Target.ID)
	fields = appendField(fields, fieldToken, tok)
	if p.Target.Kind != callbackurls.TaskToken {
		fields = appendField(fields, fieldTargetKind, []byte{byte(p.Target.Kind)})
	}
	// random counts the bytes deflate cannot shrink: a base64 token's
	// decoded bytes and a hex transaction id.
	random := 0
	if tok[0] == tokenBase64 && !textLike(tok[1:]) {
		random = len(tok)
	}
	if tid, err := hex.DecodeString(p.TransactionID); err == nil && hex.EncodeToString(tid) == p.TransactionID && len(tid) > 0 {
		fields = appendField(fields, fieldTIDHex, tid)
		random += len(tid)
	} else if p.TransactionID != "" {
		fields = appendField(fields, fieldTIDText, []byte(p.TransactionID))
	}
	fields = appendField(fields, fieldAction, []byte(p.Action))
	if !p.IssuedAt.IsZero() && p.IssuedAt.Unix() > 0 {
		fields = appendField(fields, fieldIssuedAt, binary.AppendUvarint(scratch[:0], uint64(p.IssuedAt.Unix())))
	}
	if !p.Expiration.IsZero() {
		if p.Expiration.Unix() <= 0 {
			return nil, callbackurls.Errorf(callbackurls.CodeInvalidDate, "expiration is before 1970")
		}
		fields = appendField(fields, fieldExpiration, binary.AppendUvarint(scratch[:0], uint64(p.Expiration.Unix())))
		if minutes, ok := offsetMinutes(p.Expiration); ok {
			fields = appendField(fields, fieldExpirationOffset, binary.AppendVarint(scratch[:0], int64(minutes)))
		}
	}
	for _, f := range []struct {
		tag byte
		v   []byte
	}{
		{fieldOutput, p.Output}, {fieldError, []byte(p.Error)}, {fieldCause, []byte(p.Cause)},
		{fieldResponse, p.Response}, {fieldOutcomes, p.Outcomes}, {fieldPresentation, p.Presentation},
		{fieldConfirm, p.Confirm},
	} {
		if len(f.v) > 0 {
			fields = appendField(fields, f.tag, f.v)
		}
	}
	if len(p.Approvers) > 0 || p.Requester != "" {
		list, req := encodeApprovers(p.Approvers, p.Requester)
		if list != nil {
			fields = appendField(fields, fieldApprovers, list)
		}
		if req != nil {
			fields = appendField(fields, fieldRequester, req)
		}
	}
	if p.Receipt {
		fields = appendField(fields, fieldApprovalFlags, []byte{flagReceipt})
	}
	// openSealed refuses to inflate more than maxPlaintext: a payload that
	// only fits a URL compressed must not be made, or its URL never works.
	if len(fields) > maxPlaintext {
		return nil, callbackurls.Errorf(callbackurls.CodeURLTooLong,
			"the payload for action %s is %d bytes, over the %d a URL may carry: shorten its output, error, cause or response",
			p.Action, len(fields), maxPlaintext)
	}
	out := make([]byte, 2, 2+len(fields))
	out[0] = layoutV1
	// Random token bytes do not compress; JSON does. Deflate only when it
	// pays for itself, so the corpus of real tokens costs nothing extra,
	// and try only when there is enough else to compress (deflating is far
	// slower than the rest of the encoding).
	if len(fields)-random > 64 {
		if z := deflate(fields); len(z) < len(fields) {
			flags |= flagDeflated
			fields = z
		}
	}
	out[1] = flags
	return append(out, fields...), nil
}

func appendField(dst []byte, tag byte, v []byte) []byte {
	dst = append(dst, tag)
	dst = binary.AppendUvarint(dst, uint64(len(v)))
	return append(dst, v...)
}

// deflater is a reusable compressor: a new flate.Writer allocates about a
// megabyte of tables, far more than the payload it compresses.
type deflater struct {
	w   *flate.Writer
	buf bytes.Buffer
}

var deflaters = sync.Pool{New: func() any {
	d := &deflater{}
	d.w, _ = flate.NewWriter(&d.buf, flate.BestCompression)
	return d
}}

func deflate(b []byte) []byte {
	d := deflaters.Get().(*deflater)
	defer deflaters.Put(d)
	d.buf.Reset()
	d.w.Reset(&d.buf)
	_, _ = d.w.Write(b)
	_ = d.w.Close()
	return append([]byte(nil), d.buf.Bytes()...)
}

func inflate(b []byte) ([]byte, error) {
	r := flate.NewReader(bytes.NewReader(b))
	defer r.Close()
	// Read one byte past the limit to tell "exactly at" from "over".
	out, err := io.ReadAll(io.LimitReader(r, maxPlaintext+1))
	if err != nil || len(out) > maxPlaintext {
		return nil, errDamaged
	}
	return out, nil
}

func unmarshalBinary(b []byte) (*callbackurls.Payload, error) {
	if len(b) < 2 || b[0] != layoutV1 {
		return nil, errDamaged
	}
	flags := b[1]
	typ := callbackurls.ActionTypeOfCode(flags & typeMask)
	if typ == "" || flags&^(typeMask|flagParameters|flagDeflated) != 0 {
		return nil, errDamaged
	}
	p := &callbackurls.Payload{Type: typ, Parameters: flags&flagParameters != 0}
	fields := b[2:]
	if flags&flagDeflated != 0 {
		var err error
		if fields, err = inflate(fields); err != nil {
			return nil, err
		}
	}
	var seen uint32
	var offset int64 // minutes east of UTC
	var approvers, requester []byte
	for len(fields) > 0 {
		tag := fields[0]
		n, k := binary.Uvarint(fields[1:])
		if k <= 0 || n > uint64(len(fields)-1-k) {
			return nil, errDamaged
		}
		v := fields[1+k : 1+k+int(n)]
		fields = fields[1+k+int(n):]
		if tag == 0 || tag > lastField || seen&(1<<tag) != 0 {
			return nil, errDamaged
		}
		seen |= 1 << tag
		switch tag {
		case fieldExpirationOffset:
			var k int
			if offset, k = binary.Varint(v); k != len(v) || offset == 0 || offset < -maxOffsetMinutes || offset > maxOffsetMinutes {
				return nil, errDamaged
			}
			continue
		case fieldApprovers:
			approvers = v
			continue
		case fieldRequester:
			requester = v
			continue
		}
		if err := setField(p, tag, v); err != nil {
			return nil, err
		}
	}
	if seen&(1<<fieldToken) == 0 || seen&(1<<fieldAction) == 0 || p.Target.ID == "" || p.Action == "" {
		return nil, errDamaged
	}
	if offset != 0 {
		if p.Expiration.IsZero() {
			return nil, errDamaged
		}
		p.Expiration = p.Expiration.In(offsetZone(offset))
	}
	if approvers != nil || requester != nil {
		var err error
		if p.Approvers, p.Requester, err = decodeApprovers(approvers, requester); err != nil {
			return nil, err
		}
	}
	if p.Type.Spec().Output && p.Output == nil {
		return nil, errDamaged
	}
	return p, nil
}

func setField(p *callbackurls.Payload, tag byte, v []byte) error {
	var err error
	switch tag {
	case fieldToken:
		p.Target.ID, err = readToken(v)
	case fieldTargetKind:
		// One spelling per payload: a task token has no kind field.
		if len(v) != 1 || v[0] == byte(callbackurls.TaskToken) || callbackurls.TargetKind(v[0]).Spec() == nil {
			return errDamaged
		}
		p.Target.Kind = callbackurls.TargetKind(v[0])
	case fieldTIDHex:
		p.TransactionID = hex.EncodeToString(v)
	case fieldTIDText:
		p.TransactionID = string(v)
	case fieldAction:
		p.Action = string(v)
	case fieldIssuedAt, fieldExpiration:
		secs, k := binary.Uvarint(v)
		if k != len(v) || secs == 0 || secs > 1<<40 {
			return errDamaged
		}
		t := time.Unix(int64(secs), 0).UTC()
		if tag == fieldIssuedAt {
			p.IssuedAt = t
		} else {
			p.Expiration = t
		}
	case fieldOutput:
		p.Output = clone(v)
	case fieldError:
		p.Error = string(v)
	case fieldCause:
		p.Cause = string(v)
	case fieldResponse:
		p.Response = clone(v)
	case fieldOutcomes:
		p.Outcomes = clone(v)
	case fieldPresentation:
		p.Presentation = clone(v)
	case fieldApprovalFlags:
		if len(v) != 1 || v[0] != flagReceipt {
			return errDamaged
		}
		p.Receipt = true
	case fieldConfirm:
		p.Confirm = clone(v)
	default:
		return errDamaged
	}
	return err
}

// offsetMinutes is t's UTC offset in whole minutes, and whether there is
// one to record (not UTC, and whole minutes as RFC 3339 writes them).
func offsetMinutes(t time.Time) (int, bool) {
	_, secs := t.Zone()
	if secs == 0 || secs%60 != 0 || secs/60 < -maxOffsetMinutes || secs/60 > maxOffsetMinutes {
		return 0, false
	}
	return secs / 60, true
}

// offsetZone is the fixed zone of an offset in minutes, unnamed as
// time.Parse makes it for an offset that is not the local zone's.
func offsetZone(minutes int64) *time.Location {
	return time.FixedZone("", int(minutes)*60)
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// textLike reports whether a base64 reference's decoded bytes are long
// and mostly printable ASCII: text in base64, such as a long durable
// callback id that is base64 of JSON, which deflate shrinks, unlike a task
// token's random bytes. Short ones are not worth deflate's time (about
// 60 µs a URL): their URLs are short anyway.
func textLike(b []byte) bool {
	printable := 0
	for _, c := range b {
		if c >= 0x20 && c < 0x7f {
			printable++
		}
	}
	return len(b) >= 256 && printable*10 >= len(b)*9
}
