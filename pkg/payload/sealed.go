package payload

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// Sealed values: what a deployment hands out besides URLs and must get
// back unchanged and unread (a sign-in's state, its cookies), sealed with
// the keys that seal payloads so that nothing is stored anywhere. The
// envelope is a payload's (docs/FORMAT.md), without the "3-" prefix:
//
//	sealed = base64url(mode keyref nonce(12) ciphertext||tag(16))
//	AD     = "sfncb-sealed" 0x00 purpose 0x00 binding 0x00 mode keyref
//
// The purpose ("signin-state", ...) and the binding (the deployment's base
// URL, say) are authenticated, never stored: a value sealed for one
// purpose or one deployment does not open as another's, and no sealed
// value opens as a payload (whose AD starts "sfncb3").
const sealedPrefix = "sfncb-sealed"

// MaxSealed bounds what Open reads.
const MaxSealed = 16 << 10

// ErrNoKeys: sealing needs keys, and encryption is disabled.
var ErrNoKeys = errors.New("payload: sealing needs encryption keys, and encryption is disabled")

// Seal encrypts and authenticates plain for purpose and binding.
func Seal(ctx context.Context, keys KeySource, purpose, binding string, plain []byte) (string, error) {
	if keys == nil {
		return "", ErrNoKeys
	}
	mode, ref, aead, err := keys.EncryptionKey(ctx)
	if err != nil {
		return "", err
	}
	if !validRef(mode, ref) {
		return "", callbackurls.Errorf(callbackurls.CodeEncryptionFailed, "the key reference has an invalid length")
	}
	buf := make([]byte, 0, 3+len(ref)+nonceSize+len(plain)+tagSize)
	buf = appendHeader(buf, mode, ref)
	hdrLen := len(buf)
	ad := sealedAD(purpose, binding, buf)
	buf = buf[:hdrLen+nonceSize]
	if _, err := rand.Read(buf[hdrLen:]); err != nil {
		return "", err
	}
	buf = aead.Seal(buf, buf[hdrLen:], plain, ad)
	return base64.RawURLEncoding.EncodeToString(buf), nil
}

// Open checks and decrypts what Seal made for the same purpose and
// binding. A value that is damaged, sealed for something else or with a
// key the deployment does not have is an InvalidPayload *callbackurls.Error;
// a passing failure of the keys wraps ErrUnavailable.
func Open(ctx context.Context, keys KeySource, purpose, binding, sealed string) ([]byte, error) {
	if keys == nil {
		return nil, ErrNoKeys
	}
	if len(sealed) > MaxSealed || strings.ContainsAny(sealed, "\r\n") {
		return nil, invalid("the sealed value is damaged")
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(sealed)
	if err != nil {
		return nil, invalid("the sealed value is damaged")
	}
	h, err := parseHeader(raw)
	if err != nil {
		return nil, err
	}
	aead, err := keys.DecryptionKey(ctx, h.mode, h.ref)
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, raw[h.end:h.end+nonceSize], raw[h.end+nonceSize:], sealedAD(purpose, binding, raw[:h.end]))
	if err != nil {
		return nil, invalid("the sealed value was altered, is for something else, or was not made with this deployment's keys")
	}
	return plain, nil
}

func sealedAD(purpose, binding string, header []byte) []byte {
	ad := make([]byte, 0, len(sealedPrefix)+len(purpose)+len(binding)+3+len(header))
	ad = append(ad, sealedPrefix...)
	ad = append(append(ad, 0), purpose...)
	ad = append(append(ad, 0), binding...)
	ad = append(ad, 0)
	return append(ad, header...)
}
