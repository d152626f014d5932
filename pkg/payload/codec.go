// Package payload seals a callback URL's payload into its data parameter
// and opens it again. Two families are read and written:
//
//   - "1-": base64url of the payload as JSON, unencrypted, readable by and
//     from the reference implementation. Accepted only when encryption is
//     disabled: anyone can forge one.
//   - "3-": our compact binary form, encrypted and authenticated with
//     AES-256-GCM under a key named in its header (docs/FORMAT.md).
//
// "2-" (the reference's AWS Encryption SDK messages) is recognised only to
// be refused clearly.
package payload

import (
	"context"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// Format prefixes of the data parameter.
const (
	PrefixUnencrypted = "1-"
	PrefixReference   = "2-"
	PrefixEncrypted   = "3-"
)

// Key modes of the encrypted form's header: how the key is named.
const (
	ModeStaticKey byte = 1 // key reference: a short key id from a keyring
	ModeKMS       byte = 2 // key reference: a KMS-encrypted data key
	// ModeKMSHMAC's key reference is a KMS HMAC key's tag and a data key
	// identifier, from which GenerateMac derives the data key (package
	// kmskeys). It has a fixed size, HMACKeyRefSize, and no length byte.
	ModeKMSHMAC byte = 3
)

// The gated modes add a gate tag to the envelope (GateKey): a payload
// whose tag does not check is refused before its data key is looked up,
// so a made-up key reference costs no KMS call and takes no room in a
// cache (docs/FORMAT.md, "Gated modes").
const (
	// ModeKMSHMACGated is ModeKMSHMAC with a gate tag, under a gate key
	// derived from the HMAC key its tag names.
	ModeKMSHMACGated byte = 4
	// ModeKMSGated is ModeKMS with a gate tag, under a gate key derived
	// from an HMAC key named by a 4-byte tag; its key reference is that
	// tag followed by the encrypted data key.
	ModeKMSGated byte = 5
)

// Gated reports whether a key mode carries a gate tag.
func Gated(mode byte) bool { return mode == ModeKMSHMACGated || mode == ModeKMSGated }

// MaxKeyRef bounds a header's key reference (a KMS blob is 184 bytes).
const MaxKeyRef = 512

// HMACKeyRefSize is the size of a ModeKMSHMAC (and ModeKMSHMACGated) key
// reference: a 4-byte key tag and a 12-byte (96-bit) data key identifier.
const HMACKeyRefSize = 16

// GateTagSize is the size of a gated envelope's gate tag, and
// GateKeySize of a gate key.
const (
	GateTagSize = 8
	GateKeySize = 32
)

// KeySource provides the keys of the encrypted form. It is implemented by a
// static keyring and by KMS (envelope encryption or HMAC derivation).
type KeySource interface {
	// EncryptionKey returns the AEAD to seal new payloads with and the
	// header that names it (mode and key reference).
	EncryptionKey(ctx context.Context) (mode byte, ref []byte, aead cipher.AEAD, err error)
	// DecryptionKey returns the AEAD named by a header. A reference that
	// names no usable key is an *callbackurls.Error InvalidPayload; an
	// outage wraps callbackurls.ErrUnavailable.
	DecryptionKey(ctx context.Context, mode byte, ref []byte) (cipher.AEAD, error)
}

// GateKeys is implemented by a KeySource that makes or opens payloads of
// the gated modes.
type GateKeys interface {
	// GateKey returns the gate key of a gated mode's key reference. It is
	// called before DecryptionKey: a reference naming no gate key of this
	// deployment is an *callbackurls.Error InvalidPayload (no KMS call);
	// an outage wraps callbackurls.ErrUnavailable.
	GateKey(ctx context.Context, mode byte, ref []byte) (*GateKey, error)
}

// Confirmer is implemented by a KeySource that keeps the keys it looks up:
// Opened says that a payload authenticated under the key DecryptionKey
// returned for mode and ref. Keys are kept only then, so that a made-up
// reference never pushes a real key out of a cache.
type Confirmer interface {
	Opened(mode byte, ref []byte, aead cipher.AEAD)
}

// GateKey tags the envelopes of the gated modes: HMAC-SHA-256 under the
// key, over every byte of the envelope before the tag, cut to GateTagSize.
type GateKey struct{ secret [GateKeySize]byte }

// NewGateKey returns a gate key holding a copy of secret.
func NewGateKey(secret []byte) (*GateKey, error) {
	if len(secret) != GateKeySize {
		return nil, errors.New("payload: a gate key is 32 bytes")
	}
	g := &GateKey{}
	copy(g.secret[:], secret)
	return g, nil
}

// Tag is the gate tag of envelope (everything before the tag).
func (g *GateKey) Tag(envelope []byte) []byte {
	m := hmac.New(sha256.New, g.secret[:])
	m.Write(envelope)
	return m.Sum(nil)[:GateTagSize]
}

// Codec implements callbackurls.PayloadCodec.
type Codec struct {
	// Keys encrypts and decrypts; nil means encryption is disabled.
	Keys KeySource
}

var _ callbackurls.PayloadCodec = (*Codec)(nil)

// Encode seals p.
// Authenticates reports whether the payloads it writes are sealed, so that
// nobody without the keys can write one (false: encryption is disabled).
func (c *Codec) Authenticates() bool { return c.Keys != nil }

func (c *Codec) Encode(ctx context.Context, p *callbackurls.Payload) (string, error) {
	if c.Keys == nil {
		return encodeUnencrypted(p)
	}
	mode, ref, aead, err := c.Keys.EncryptionKey(ctx)
	if err != nil {
		return "", err
	}
	var gate *GateKey
	if Gated(mode) {
		g, ok := c.Keys.(GateKeys)
		if !ok {
			return "", callbackurls.Errorf(callbackurls.CodeEncryptionFailed, "the key source gives no gate key for key mode %d", mode)
		}
		if gate, err = g.GateKey(ctx, mode, ref); err != nil {
			return "", err
		}
	}
	return seal(p, mode, ref, aead, gate)
}

// Decode opens data. Every size is checked before the work it bounds.
func (c *Codec) Decode(ctx context.Context, data string) (*callbackurls.Payload, error) {
	if len(data) > callbackurls.MaxDataLength {
		return nil, invalid("the data parameter is too long")
	}
	switch {
	case strings.HasPrefix(data, PrefixUnencrypted):
		if c.Keys != nil {
			return nil, callbackurls.Errorf(callbackurls.CodeEncryptionRequired,
				"this deployment only accepts encrypted payloads")
		}
		return decodeUnencrypted(data[len(PrefixUnencrypted):])
	case strings.HasPrefix(data, PrefixEncrypted):
		if c.Keys == nil {
			return nil, callbackurls.Errorf(callbackurls.CodeDecryptionUnsupported,
				"this deployment has encryption disabled and cannot read encrypted payloads")
		}
		return c.open(ctx, data[len(PrefixEncrypted):])
	case strings.HasPrefix(data, PrefixReference):
		if c.Keys == nil {
			return nil, callbackurls.Errorf(callbackurls.CodeDecryptionUnsupported,
				"this deployment has encryption disabled and cannot read encrypted payloads")
		}
		return nil, invalid("the payload was made by the Python sfn-callback-urls (AWS Encryption SDK format), which this service does not read")
	}
	return nil, invalid("the data parameter has no known format id")
}

func (c *Codec) open(ctx context.Context, b64 string) (*callbackurls.Payload, error) {
	// Strict, and without the line breaks the decoder skips: one
	// spelling per payload.
	raw, err := base64.RawURLEncoding.Strict().DecodeString(b64)
	if err != nil || strings.ContainsAny(b64, "\r\n") {
		return nil, invalid("the data parameter is damaged (not base64url)")
	}
	h, err := parseHeader(raw)
	if err != nil {
		return nil, err
	}
	if Gated(h.mode) {
		g, ok := c.Keys.(GateKeys)
		if !ok {
			return nil, invalid("the data parameter names a key mode this deployment does not use")
		}
		gate, err := g.GateKey(ctx, h.mode, h.ref)
		if err != nil {
			return nil, err
		}
		body, tag := raw[:len(raw)-GateTagSize], raw[len(raw)-GateTagSize:]
		if !hmac.Equal(gate.Tag(body), tag) {
			return nil, invalid("the data parameter was altered or was not made with this deployment's keys")
		}
		raw = body
	}
	aead, err := c.Keys.DecryptionKey(ctx, h.mode, h.ref)
	if err != nil {
		return nil, err
	}
	plain, err := openEnvelope(raw, h, aead)
	if err != nil {
		return nil, err
	}
	if cf, ok := c.Keys.(Confirmer); ok {
		cf.Opened(h.mode, h.ref, aead)
	}
	p, err := unmarshalBinary(plain)
	if err != nil {
		return nil, invalid("the payload is damaged")
	}
	return p, nil
}

func invalid(msg string) *callbackurls.Error {
	return callbackurls.Errorf(callbackurls.CodeInvalidPayload, "%s", msg)
}

var errDamaged = errors.New("damaged payload")
