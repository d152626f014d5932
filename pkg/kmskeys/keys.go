package kmskeys

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/awserr"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// Kind is what a KMS key is to this service, from its spec and usage.
type Kind uint8

const (
	// Envelope is a symmetric encryption key (SYMMETRIC_DEFAULT,
	// ENCRYPT_DECRYPT): data keys from GenerateDataKey, carried encrypted.
	Envelope Kind = iota + 1
	// HMAC is an HMAC_256 key (GENERATE_VERIFY_MAC): data keys derived
	// with GenerateMac from an identifier the URL carries.
	HMAC
)

func (k Kind) String() string {
	switch k {
	case Envelope:
		return "envelope"
	case HMAC:
		return "hmac"
	}
	return "unknown"
}

// The layout of an HMAC mode key reference and of the message its data
// key is derived from (docs/FORMAT.md, "Mode 3").
const (
	tagSize        = 4
	identifierSize = payload.HMACKeyRefSize - tagSize // 96 bits
	// deriveLabel and deriveVersion start every GenerateMac message: no
	// other use of the key MACs this prefix unless it means to make our
	// data keys.
	deriveLabel   = "sfn-callback-urls data key"
	deriveVersion = 1
	// tagLabel separates a key tag's hash from any other hash of a key id.
	tagLabel = "sfn-callback-urls key tag"
	// gateLabel and gateVersion start the GenerateMac message of an HMAC
	// key's gate key (docs/FORMAT.md, "Gated modes"): no data key
	// message starts so.
	gateLabel   = "sfn-callback-urls gate key"
	gateVersion = 1
)

// keyTag names an HMAC key in a URL: the first 4 bytes of
// SHA-256(tagLabel || 0x00 || key id). The key id, not the ARN, so that
// the replicas of a multi-Region key, which derive the same data keys,
// share their tag.
type keyTag [tagSize]byte

func tagOf(keyID string) keyTag {
	h := sha256.New()
	h.Write([]byte(tagLabel))
	h.Write([]byte{0})
	h.Write([]byte(keyID))
	return keyTag(h.Sum(nil))
}

// deriveMessage is the GenerateMac message for a data key identifier.
func deriveMessage(identifier []byte) []byte {
	msg := make([]byte, 0, len(deriveLabel)+2+len(identifier))
	msg = append(msg, deriveLabel...)
	msg = append(msg, 0, deriveVersion)
	return append(msg, identifier...)
}

// key is one KMS key as DescribeKey described it.
type key struct {
	name string // as configured, for messages
	arn  string
	kind Kind
	tag  keyTag // HMAC keys
	ops  *operations
	gate gate // HMAC keys: the gate key, derived on first use
}

// keyName is a key as a setting names it.
type keyName struct {
	name    string
	setting string // KEY_ID, PREVIOUS_KEY_IDS or GATE_KEY_ID
}

// describeAll describes the keys named (at once: a first use waits for
// one round trip, not one per key), one per name, a key named twice (by
// alias and by ARN, say) being the same *key.
func describeAll(ctx context.Context, opsFor func(string) *operations, names []keyName) ([]*key, error) {
	keys := make([]*key, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		ops := opsFor(n.name)
		if i == len(names)-1 {
			keys[i], errs[i] = describe(ctx, ops, n)
			continue
		}
		wg.Go(func() { keys[i], errs[i] = describe(ctx, ops, n) })
	}
	wg.Wait()
	seen := map[string]*key{}
	for i, k := range keys {
		if errs[i] != nil {
			return nil, errs[i]
		}
		if seen[k.arn] == nil {
			seen[k.arn] = k
		}
		keys[i] = seen[k.arn]
	}
	return keys, nil
}

// describe asks KMS what a setting's key is, and refuses a key of a kind
// this service cannot use.
func describe(ctx context.Context, ops *operations, n keyName) (*key, error) {
	name := n.name
	out, err := ops.describeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(name)})
	if err != nil {
		return nil, describeError(n, err)
	}
	md := out.KeyMetadata
	if md == nil || aws.ToString(md.Arn) == "" || aws.ToString(md.KeyId) == "" {
		return nil, fmt.Errorf("%s %s: DescribeKey returned no key metadata", n.setting, name)
	}
	k := &key{name: name, arn: aws.ToString(md.Arn), ops: ops}
	// Each of the two specs has one possible usage, so the spec decides; an
	// absent usage (some KMS stand-ins omit it) is that one.
	spec, usage := md.KeySpec, md.KeyUsage
	switch {
	case spec == types.KeySpecSymmetricDefault && (usage == "" || usage == types.KeyUsageTypeEncryptDecrypt):
		k.kind = Envelope
	case spec == types.KeySpecHmac256 && (usage == "" || usage == types.KeyUsageTypeGenerateVerifyMac):
		k.kind = HMAC
		k.tag = tagOf(aws.ToString(md.KeyId))
	default:
		return nil, fmt.Errorf("%s %s: KMS key %s has key spec %s and key usage %s: use a symmetric encryption key "+
			"(SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT) or an HMAC key (HMAC_256, GENERATE_VERIFY_MAC)",
			n.setting, name, k.arn, orNone(string(spec)), orNone(string(usage)))
	}
	if n.setting == gateSetting && k.kind != HMAC {
		return nil, fmt.Errorf("%s %s: KMS key %s is a symmetric encryption key: the gate key must be an HMAC key (HMAC_256, GENERATE_VERIFY_MAC)",
			n.setting, name, k.arn)
	}
	return k, nil
}

// The settings that name keys, for messages.
const (
	currentSetting  = "KEY_ID"
	previousSetting = "PREVIOUS_KEY_IDS"
	gateSetting     = "GATE_KEY_ID"
)

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func errTagCollision(a, b *key) error {
	return fmt.Errorf("KMS keys %s and %s have the same 4-byte tag %x, so URLs could not tell them apart: "+
		"use another HMAC key in place of one of them", a.arn, b.arn, a.tag[:])
}

// createOp is the call that makes this key's data keys.
func (k *key) createOp() string {
	if k.kind == HMAC {
		return "GenerateMac"
	}
	return "GenerateDataKey"
}

// generateDataKey makes an envelope data key: its encrypted form is the
// key reference.
func (k *key) generateDataKey(ctx context.Context) ([]byte, cipher.AEAD, error) {
	out, err := k.ops.generateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId:             aws.String(k.arn),
		KeySpec:           types.DataKeySpecAes256,
		EncryptionContext: EncryptionContext(),
	})
	if err != nil {
		return nil, nil, createError("GenerateDataKey", k.name, err)
	}
	defer clear(out.Plaintext)
	if len(out.Plaintext) != DataKeySize || len(out.CiphertextBlob) == 0 || len(out.CiphertextBlob) > payload.MaxKeyRef {
		return nil, nil, createError("GenerateDataKey", k.name, fmt.Errorf("GenerateDataKey returned a %d-byte key and a %d-byte encrypted key",
			len(out.Plaintext), len(out.CiphertextBlob)))
	}
	aead, err := newAEAD(out.Plaintext)
	if err != nil {
		return nil, nil, createError("GenerateDataKey", k.name, err)
	}
	return clone(out.CiphertextBlob), aead, nil
}

// decrypt opens an envelope data key, pinned to this key: KMS refuses a
// data key of any other key rather than use whatever key the blob names.
func (k *key) decrypt(ctx context.Context, blob []byte) (cipher.AEAD, error) {
	out, err := k.ops.decrypt(ctx, &kms.DecryptInput{
		CiphertextBlob:    blob,
		KeyId:             aws.String(k.arn),
		EncryptionContext: EncryptionContext(),
	})
	if err != nil {
		return nil, openError("Decrypt", err)
	}
	defer clear(out.Plaintext)
	if len(out.Plaintext) != DataKeySize {
		return nil, invalidPayload("the URL's encrypted data key is not a data key of this service")
	}
	return newAEAD(out.Plaintext)
}

// newDerivedKey draws an identifier and derives its data key: the tag and
// the identifier are the key reference.
func (k *key) newDerivedKey(ctx context.Context) ([]byte, cipher.AEAD, error) {
	ref := make([]byte, payload.HMACKeyRefSize)
	copy(ref, k.tag[:])
	if _, err := rand.Read(ref[tagSize:]); err != nil {
		return nil, nil, createError("GenerateMac", k.name, err)
	}
	aead, err := k.mac(ctx, ref[tagSize:])
	if err != nil {
		return nil, nil, createError("GenerateMac", k.name, err)
	}
	return ref, aead, nil
}

// deriveKey derives the data key of an identifier a URL carries. Nothing
// in the call depends on the URL but the identifier, so KMS refusing it is
// never the URL's fault.
func (k *key) deriveKey(ctx context.Context, identifier []byte) (cipher.AEAD, error) {
	aead, err := k.mac(ctx, identifier)
	if err != nil {
		return nil, openError("GenerateMac", err)
	}
	return aead, nil
}

func (k *key) mac(ctx context.Context, identifier []byte) (cipher.AEAD, error) {
	out, err := k.ops.generateMac(ctx, &kms.GenerateMacInput{
		KeyId:        aws.String(k.arn),
		MacAlgorithm: types.MacAlgorithmSpecHmacSha256,
		Message:      deriveMessage(identifier),
	})
	if err != nil {
		return nil, err
	}
	defer clear(out.Mac)
	if len(out.Mac) != DataKeySize {
		return nil, fmt.Errorf("GenerateMac returned a %d-byte MAC, want %d", len(out.Mac), DataKeySize)
	}
	return newAEAD(out.Mac)
}

// gate is an HMAC key's gate key: derived with one GenerateMac the first
// time a gated URL needs it, then kept for the life of the process. A
// failed derivation is not tried again for a while (the backoff doubles
// from a second to half a minute), so that a KMS outage under a flood of
// requests costs one call per backoff, not one per request.
type gate struct {
	mu      sync.Mutex
	key     *payload.GateKey
	flight  chan struct{}
	err     error // the last failure
	retryAt time.Time
	fails   int
}

// gateMessage is the GenerateMac message of a gate key.
func gateMessage() []byte {
	return append([]byte(gateLabel), 0, gateVersion)
}

// gateKey is k's gate key, derived now if it must be. A failure is KMS's
// error as it came (or the last one, within the backoff).
func (k *key) gateKey(ctx context.Context, now func() time.Time) (*payload.GateKey, error) {
	g := &k.gate
	for {
		g.mu.Lock()
		if g.key != nil {
			g.mu.Unlock()
			return g.key, nil
		}
		if c := g.flight; c != nil {
			g.mu.Unlock()
			select {
			case <-c:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			continue
		}
		if g.err != nil && now().Before(g.retryAt) {
			err := g.err
			g.mu.Unlock()
			return nil, err
		}
		c := make(chan struct{})
		g.flight = c
		g.mu.Unlock()

		gk, err := k.deriveGate(ctx)

		g.mu.Lock()
		g.flight = nil
		switch {
		case err == nil:
			g.key, g.err, g.fails = gk, nil, 0
		case awserr.IsContextErr(err) && ctx.Err() != nil:
			// The caller's deadline, not KMS's failure.
		default:
			g.fails++
			g.err, g.retryAt = err, now().Add(backoff(g.fails))
		}
		g.mu.Unlock()
		close(c)
		return gk, err
	}
}

func (k *key) deriveGate(ctx context.Context) (*payload.GateKey, error) {
	out, err := k.ops.generateMac(ctx, &kms.GenerateMacInput{
		KeyId:        aws.String(k.arn),
		MacAlgorithm: types.MacAlgorithmSpecHmacSha256,
		Message:      gateMessage(),
	})
	if err != nil {
		return nil, err
	}
	defer clear(out.Mac)
	return payload.NewGateKey(out.Mac)
}

// backoff is the wait after the n-th failure in a row of a call made once
// for the whole process (a gate key, the keys' descriptions).
func backoff(n int) time.Duration {
	return min(time.Second<<min(n-1, 5), 30*time.Second)
}
