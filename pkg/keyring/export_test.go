package keyring

import "encoding/base64"

// With returns a keyring with k added as the newest key.
func (r *Keyring) With(k Key) (*Keyring, error) {
	return New(append(r.Keys(), k)...)
}

// SecretBase64 is the key material as the keyring document holds it.
func (k Key) SecretBase64() string { return base64.StdEncoding.EncodeToString(k.Secret) }
