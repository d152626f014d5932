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

// MaxKeyRef bounds a header's key reference (a KMS blob is 184 bytes).
const MaxKeyRef = 512

// HMACKeyRefSize is the size of a ModeKMSHMAC key reference: a 4-byte key
// tag and a 12-byte (96-bit) data key identifier.
const HMACKeyRefSize = 16

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
	return seal(p, mode, ref, aead)
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
	aead, err := c.Keys.DecryptionKey(ctx, h.mode, h.ref)
	if err != nil {
		return nil, err
	}
	return openSealed(raw, h, aead)
}

func invalid(msg string) *callbackurls.Error {
	return callbackurls.Errorf(callbackurls.CodeInvalidPayload, "%s", msg)
}

var errDamaged = errors.New("damaged payload")
