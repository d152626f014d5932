package kmskeys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// SigningKey signs receipts with an asymmetric KMS key (SIGNING_KEY_ID):
// ECC_NIST_P256 with usage SIGN_VERIFY, ECDSA_SHA_256, the JWS alg ES256
// (a receipts.Key). Its private key never leaves KMS: each receipt costs
// one kms:Sign of a 32-byte digest. The public key is read with
// kms:GetPublicKey at the first receipt or key set, not at start, and kept.
type SigningKey struct {
	keyID        string
	sign         func(context.Context, *kms.SignInput, ...func(*kms.Options)) (*kms.SignOutput, error)
	getPublicKey func(context.Context, *kms.GetPublicKeyInput, ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error)

	mu  sync.Mutex
	pub *ecdsa.PublicKey
}

// SigningAPI is the part of the KMS client a SigningKey calls.
type SigningAPI interface {
	Sign(ctx context.Context, in *kms.SignInput, optFns ...func(*kms.Options)) (*kms.SignOutput, error)
	GetPublicKey(ctx context.Context, in *kms.GetPublicKeyInput, optFns ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error)
}

// NewSigningKey is the KMS key keyID (ARN, id, alias) through api. It
// calls nothing.
func NewSigningKey(api SigningAPI, keyID string) *SigningKey {
	return &SigningKey{keyID: keyID, sign: api.Sign, getPublicKey: api.GetPublicKey}
}

// NewSigningKeyFromAWSConfig makes the KMS client, in the key's region when
// its ARN names one, and calls nothing.
func NewSigningKeyFromAWSConfig(cfg aws.Config, keyID string) *SigningKey {
	if region := arnRegion(keyID); region != "" {
		cfg = cfg.Copy()
		cfg.Region = region
	}
	// Method values, not the client: a client held in an interface keeps
	// every KMS operation linked (internal/archtest).
	client := kms.NewFromConfig(cfg)
	return &SigningKey{keyID: keyID, sign: client.Sign, getPublicKey: client.GetPublicKey}
}

// Algorithm is the JWS alg of the key's signatures.
func (k *SigningKey) Algorithm() string { return "ES256" }

// Public reads the public key once, checking that the key can sign
// receipts.
func (k *SigningKey) Public(ctx context.Context) (crypto.PublicKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.pub != nil {
		return k.pub, nil
	}
	out, err := k.getPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(k.keyID)})
	if err != nil {
		return nil, signingError("GetPublicKey", k.keyID, err)
	}
	if out.KeySpec != types.KeySpecEccNistP256 || out.KeyUsage != types.KeyUsageTypeSignVerify {
		return nil, signingError("GetPublicKey", k.keyID, fmt.Errorf("key spec %s, usage %s: SIGNING_KEY_ID must be an ECC_NIST_P256 key with usage SIGN_VERIFY", out.KeySpec, out.KeyUsage))
	}
	pub, err := x509.ParsePKIXPublicKey(out.PublicKey)
	ec, ok := pub.(*ecdsa.PublicKey)
	if err != nil || !ok || ec.Curve != elliptic.P256() {
		return nil, signingError("GetPublicKey", k.keyID, errors.New("the public key is not a P-256 key"))
	}
	k.pub = ec
	return ec, nil
}

// Sign signs the SHA-256 of the JWS signing input and returns the JWS
// form of the signature, r || s.
func (k *SigningKey) Sign(ctx context.Context, signingInput []byte) ([]byte, error) {
	sum := sha256.Sum256(signingInput)
	out, err := k.sign(ctx, &kms.SignInput{KeyId: aws.String(k.keyID), Message: sum[:],
		MessageType: types.MessageTypeDigest, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})
	if err != nil {
		return nil, signingError("Sign", k.keyID, err)
	}
	var sig struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(out.Signature, &sig); err != nil || len(rest) > 0 || sig.R == nil || sig.S == nil ||
		sig.R.Sign() <= 0 || sig.S.Sign() <= 0 || sig.R.BitLen() > 256 || sig.S.BitLen() > 256 {
		return nil, signingError("Sign", k.keyID, errors.New("KMS returned a signature that is not a P-256 ECDSA signature"))
	}
	return append(sig.R.FillBytes(make([]byte, 32)), sig.S.FillBytes(make([]byte, 32))...), nil
}

// signingError: a receipt that cannot be signed stops the decision, which
// is not sent. Throttling and outages are worth a retry (503); a key the
// function cannot use is the deployment's fault (500, the cause logged).
func signingError(op, keyID string, err error) error {
	wrapped := fmt.Errorf("kmskeys: %s on signing key %s: %w", op, keyID, err)
	if classifier.Transient(err) {
		e := callbackurls.Unavailablef(callbackurls.CodeServiceError, "the service cannot sign receipts right now: try again later")
		e.Err = fmt.Errorf("%w: %w", callbackurls.ErrUnavailable, wrapped)
		return e
	}
	e := callbackurls.Errorf(callbackurls.CodeServiceError, "the service cannot sign receipts: its signing key is misconfigured")
	e.Err = fmt.Errorf("deployment problem, check SIGNING_KEY_ID, the key's state and kms:%s: %w", op, wrapped)
	return e
}
