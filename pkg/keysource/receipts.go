package keysource

import (
	"crypto"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/receipts"
)

// CanSign reports whether receipts can be signed: a KMS signing key is
// named (SIGNING_KEY_ID), or the static keyring has a signing key.
func (k Keys) CanSign(signingKeyID string) bool {
	if signingKeyID != "" {
		return true
	}
	r, ok := k.Source.(*keyring.Keyring)
	if !ok {
		return false
	}
	_, ok = r.Signer()
	return ok
}

// ReceiptKey is the key that signs receipts, and the public keys that
// signed before it: the KMS key signingKeyID (no call is made until the
// first receipt), else the static keyring's signing key and its retired
// ones; nil when there is none.
func (k Keys) ReceiptKey(signingKeyID string, awsConfig AWSConfig) (receipts.Key, []crypto.PublicKey, error) {
	if signingKeyID != "" {
		cfg, err := load(awsConfig)
		if err != nil {
			return nil, nil, err
		}
		return kmskeys.NewSigningKeyFromAWSConfig(cfg, signingKeyID), nil, nil
	}
	r, ok := k.Source.(*keyring.Keyring)
	if !ok {
		return nil, nil, nil
	}
	priv, ok := r.Signer()
	if !ok {
		return nil, nil, nil
	}
	var previous []crypto.PublicKey
	for _, p := range r.PreviousSigningKeys() {
		previous = append(previous, p)
	}
	return receipts.NewEd25519Key(priv), previous, nil
}
