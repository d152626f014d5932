// Package keyring holds static 256-bit keys with short ids: the newest
// encrypts, all decrypt, so keys can be rotated without breaking URLs
// already handed out. It is the local server's key file and the
// deployment's no-KMS mode.
//
// A keyring's JSON document can live in a file (Load), an environment
// variable (FromEnv), a Secrets Manager secret or an SSM SecureString
// parameter. The readers of the two AWS stores are in package awskeyring,
// so that this package, the local server and keygen link no AWS client;
// they parse with ParseSecret.
package keyring

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// KeySize is the AES-256 key length.
const KeySize = 32

// MaxKeys bounds a keyring (rotation needs only a few).
const MaxKeys = 100

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,16}$`)

// Key is one named key.
type Key struct {
	ID      string    `json:"id"`
	Secret  []byte    `json:"key"` // base64 in JSON
	Created time.Time `json:"created,omitzero"`
}

// Keyring is an ordered set of keys; the last one encrypts. It may hold
// signing keys for receipts too (signing.go).
type Keyring struct {
	keys    []Key
	aeads   map[string]cipher.AEAD
	signing []SigningKey
}

type fileFormat struct {
	Keys        []Key        `json:"keys"`
	SigningKeys []SigningKey `json:"signing_keys,omitempty"`
}

// New builds a keyring from keys, oldest first.
func New(keys ...Key) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("keyring: no keys")
	}
	if len(keys) > MaxKeys {
		return nil, fmt.Errorf("keyring: %d keys, at most %d", len(keys), MaxKeys)
	}
	r := &Keyring{keys: keys, aeads: make(map[string]cipher.AEAD, len(keys))}
	for _, k := range keys {
		if !idPattern.MatchString(k.ID) {
			return nil, fmt.Errorf("keyring: key id %q must be 1 to 16 letters, digits, '-' or '_'", k.ID)
		}
		if len(k.Secret) != KeySize {
			return nil, fmt.Errorf("keyring: key %q is %d bytes, want %d", k.ID, len(k.Secret), KeySize)
		}
		if _, dup := r.aeads[k.ID]; dup {
			return nil, fmt.Errorf("keyring: key id %q appears twice", k.ID)
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		r.aeads[k.ID] = aead
	}
	return r, nil
}

// Parse reads the JSON form: {"keys": [{"id": "...", "key": "<base64>"}],
// "signing_keys": [{"id", "alg": "EdDSA", "key": "<base64 seed>", "public":
// "<base64>"}]}; signing keys are optional.
func Parse(data []byte) (*Keyring, error) {
	var f fileFormat
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("keyring: not a keyring document: %w", err)
	}
	r, err := New(f.Keys...)
	if err != nil || f.SigningKeys == nil {
		return r, err
	}
	return r.WithSigningKeys(f.SigningKeys...)
}

// ParseSecret is Parse for a document read from a secret store (a secret,
// a parameter, the KEYRING variable): syntax errors are reduced to their
// offset, since the json package quotes the offending character, a
// character of the secret.
func ParseSecret(doc []byte) (*Keyring, error) {
	var syntax *json.SyntaxError
	if err := json.Unmarshal(doc, new(any)); errors.As(err, &syntax) {
		return nil, fmt.Errorf("keyring: not a keyring document: invalid JSON at byte %d", syntax.Offset)
	}
	return Parse(doc)
}

// Marshal writes the JSON form.
func (r *Keyring) Marshal() ([]byte, error) {
	return json.MarshalIndent(fileFormat{Keys: r.keys, SigningKeys: r.signing}, "", "  ")
}

// Keys returns the keys, oldest first.
func (r *Keyring) Keys() []Key { return append([]Key(nil), r.keys...) }

// Current is the key new payloads are encrypted with.
func (r *Keyring) Current() Key { return r.keys[len(r.keys)-1] }

// GenerateKey returns a new random key with a random 4-character id that
// is not in use by r (r may be nil).
func GenerateKey(r *Keyring) (Key, error) {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	secret := make([]byte, KeySize)
	if _, err := rand.Read(secret); err != nil {
		return Key{}, err
	}
	for {
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			return Key{}, err
		}
		for i := range b {
			b[i] = alphabet[int(b[i])%len(alphabet)]
		}
		id := string(b[:])
		if r == nil || r.aeads[id] == nil {
			return Key{ID: id, Secret: secret, Created: time.Now().UTC().Truncate(time.Second)}, nil
		}
	}
}

// Generate returns a new keyring: one key, and a signing key for receipts.
func Generate() (*Keyring, error) {
	k, err := GenerateKey(nil)
	if err != nil {
		return nil, err
	}
	r, err := New(k)
	if err != nil {
		return nil, err
	}
	r, _, err = r.RotateSigningKey()
	return r, err
}

// Load reads a keyring file. The file must not be readable by others.
func Load(path string) (*Keyring, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("keyring: %s is readable by other users (mode %v): chmod 600 it", path, info.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// LoadOrCreate loads the keyring at path, or creates it (mode 0600, parent
// directories 0700) with one new key. created reports which.
func LoadOrCreate(path string) (r *Keyring, created bool, err error) {
	r, err = Load(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return r, false, err
	}
	if r, err = Generate(); err != nil {
		return nil, false, err
	}
	if err := r.Save(path); err != nil {
		return nil, false, err
	}
	return r, true, nil
}

// Save writes the keyring to path with mode 0600, atomically.
func (r *Keyring) Save(path string) error {
	data, err := r.Marshal()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".keyring-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// EncryptionKey implements payload.KeySource with the newest key.
func (r *Keyring) EncryptionKey(context.Context) (byte, []byte, cipher.AEAD, error) {
	k := r.Current()
	return payload.ModeStaticKey, []byte(k.ID), r.aeads[k.ID], nil
}

// DecryptionKey implements payload.KeySource.
func (r *Keyring) DecryptionKey(_ context.Context, mode byte, ref []byte) (cipher.AEAD, error) {
	if mode != payload.ModeStaticKey {
		return nil, callbackurls.Errorf(callbackurls.CodeInvalidPayload,
			"the URL was encrypted with KMS but this deployment uses a static keyring")
	}
	aead := r.aeads[string(ref)]
	if aead == nil {
		return nil, callbackurls.Errorf(callbackurls.CodeInvalidPayload,
			"the URL was encrypted with a key this deployment no longer has")
	}
	return aead, nil
}

var _ payload.KeySource = (*Keyring)(nil)

// String keeps the secret out of fmt's %v.
func (k Key) String() string { return "key " + k.ID }

// String keeps the secrets out of fmt's %v: a keyring prints as its ids.
func (r Keyring) String() string {
	ids := make([]string, len(r.keys))
	for i, k := range r.keys {
		ids[i] = k.ID
	}
	s := "keyring " + strings.Join(ids, ",")
	if len(r.signing) > 0 {
		sids := make([]string, len(r.signing))
		for i, k := range r.signing {
			sids[i] = k.ID
		}
		s += " signing " + strings.Join(sids, ",")
	}
	return s
}
