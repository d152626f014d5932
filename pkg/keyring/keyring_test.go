package keyring_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

func secret(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i)*5
	}
	return b
}

func key(id string, seed byte) keyring.Key {
	return keyring.Key{ID: id, Secret: secret(seed, keyring.KeySize)}
}

func mustNew(t testing.TB, keys ...keyring.Key) *keyring.Keyring {
	t.Helper()
	r, err := keyring.New(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestNew(t *testing.T) {
	many := make([]keyring.Key, keyring.MaxKeys+1)
	for i := range many {
		many[i] = key(fmt.Sprintf("k%d", i), byte(i))
	}
	bad := []struct {
		name string
		keys []keyring.Key
		want string // part of the message
	}{
		{"no keys", nil, "no keys"},
		{"too many keys", many, "at most"},
		{"empty id", []keyring.Key{key("", 1)}, "key id"},
		{"id with a space", []keyring.Key{key("a b", 1)}, "key id"},
		{"id with a slash", []keyring.Key{key("a/b", 1)}, "key id"},
		{"id with a dot", []keyring.Key{key("a.b", 1)}, "key id"},
		{"non-ASCII id", []keyring.Key{key("clé", 1)}, "key id"},
		{"17-character id", []keyring.Key{key(strings.Repeat("a", 17), 1)}, "key id"},
		{"31-byte key", []keyring.Key{{ID: "k", Secret: secret(1, 31)}}, "31 bytes"},
		{"16-byte key (AES-128)", []keyring.Key{{ID: "k", Secret: secret(1, 16)}}, "16 bytes"},
		{"33-byte key", []keyring.Key{{ID: "k", Secret: secret(1, 33)}}, "33 bytes"},
		{"no secret", []keyring.Key{{ID: "k"}}, "0 bytes"},
		{"duplicate id", []keyring.Key{key("k1", 1), key("k2", 2), key("k1", 3)}, "twice"},
		{"bad key after good ones", []keyring.Key{key("k1", 1), {ID: "k2", Secret: secret(1, 8)}}, "8 bytes"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			r, err := keyring.New(tt.keys...)
			if err == nil || r != nil {
				t.Fatalf("New = %v, %v; want an error", r, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			for _, k := range tt.keys {
				if len(k.Secret) > 0 && strings.Contains(err.Error(), base64.StdEncoding.EncodeToString(k.Secret)) {
					t.Errorf("error holds a secret: %v", err)
				}
			}
		})
	}

	r := mustNew(t, key("old", 1), key("A-Z_0-9abcdefghi", 2), key("new", 3))
	if got := r.Current().ID; got != "new" {
		t.Errorf("Current = %s, want the last key", got)
	}
	if n := len(mustNew(t, many[:keyring.MaxKeys]...).Keys()); n != keyring.MaxKeys {
		t.Errorf("%d keys", n)
	}
	// Keys returns a copy.
	ks := r.Keys()
	ks[0].ID = "changed"
	if r.Keys()[0].ID != "old" {
		t.Error("Keys exposes the keyring's slice")
	}
}

func TestParseMarshal(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r := mustNew(t, keyring.Key{ID: "k1", Secret: secret(1, 32), Created: created}, key("k2", 2))
	data, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string][]map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("Marshal wrote %s: %v", data, err)
	}
	if doc["keys"][0]["key"] != base64.StdEncoding.EncodeToString(secret(1, 32)) || doc["keys"][0]["created"] != "2026-01-02T03:04:05Z" {
		t.Errorf("file form %s", data)
	}
	if _, ok := doc["keys"][1]["created"]; ok {
		t.Errorf("a zero created time is written: %s", data)
	}
	again, err := keyring.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r.Keys(), again.Keys()); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	// The parsed keyring decrypts what the original encrypted.
	ctx := context.Background()
	data2, err := (&payload.Codec{Keys: r}).Encode(ctx, &callbackurls.Payload{Target: callbackurls.TargetRef{ID: "t"}, Action: "a", Type: callbackurls.Heartbeat})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&payload.Codec{Keys: again}).Decode(ctx, data2); err != nil {
		t.Errorf("parsed keyring cannot decrypt: %v", err)
	}

	for _, bad := range []string{
		``, `not json`, `[]`, `{}`, `{"keys":[]}`, `{"keys":{}}`,
		`{"keys":[{"id":"k","key":"not base64!"}]}`,
		`{"keys":[{"id":"k","key":"AAAA"}]}`,
		`{"keys":[{"id":"bad id","key":"` + base64.StdEncoding.EncodeToString(secret(1, 32)) + `"}]}`,
	} {
		if r, err := keyring.Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%s) = %v, want an error", bad, r)
		}
	}
}

func TestGenerateKey(t *testing.T) {
	idRE := regexp.MustCompile(`^[a-z0-9]{4}$`)
	k1, err := keyring.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	r := mustNew(t, k1)
	seen := map[string]bool{k1.ID: true}
	for range 50 {
		k, err := keyring.GenerateKey(r)
		if err != nil {
			t.Fatal(err)
		}
		if !idRE.MatchString(k.ID) || len(k.Secret) != keyring.KeySize || k.Created.IsZero() {
			t.Fatalf("generated %q, %d bytes, created %v", k.ID, len(k.Secret), k.Created)
		}
		if k.ID == k1.ID || string(k.Secret) == string(k1.Secret) {
			t.Fatal("generated a key that is in use")
		}
		seen[k.ID] = true
		if r, err = r.With(k); err != nil && len(r.Keys()) < keyring.MaxKeys {
			t.Fatal(err)
		}
	}
	if len(seen) < 40 {
		t.Errorf("only %d distinct ids in 51 keys", len(seen))
	}
}

func mode(t testing.TB, path string) fs.FileMode {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Mode().Perm()
}

func TestLoadOrCreate(t *testing.T) {
	base := t.TempDir()
	path := filepath.Join(base, "new", "dir", "keyring.json")
	r, created, err := keyring.LoadOrCreate(path)
	if err != nil || !created {
		t.Fatalf("LoadOrCreate = %v, %t, %v", r, created, err)
	}
	if m := mode(t, path); m != 0o600 {
		t.Errorf("file mode %v, want 0600", m)
	}
	for _, dir := range []string{filepath.Join(base, "new"), filepath.Join(base, "new", "dir")} {
		if m := mode(t, dir); m != 0o700 {
			t.Errorf("directory %s mode %v, want 0700", dir, m)
		}
	}
	if n := len(r.Keys()); n != 1 {
		t.Errorf("%d keys", n)
	}
	again, created, err := keyring.LoadOrCreate(path)
	if err != nil || created {
		t.Fatalf("second LoadOrCreate = %t, %v", created, err)
	}
	if diff := cmp.Diff(r.Keys(), again.Keys()); diff != "" {
		t.Errorf("reloaded keyring (-want +got):\n%s", diff)
	}
	loaded, err := keyring.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r.Keys(), loaded.Keys()); diff != "" {
		t.Errorf("loaded keyring (-want +got):\n%s", diff)
	}
	// Save leaves no temporary files behind.
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %v", entries)
	}

	// Saving a rotated keyring replaces the file, keeping its mode.
	k, err := keyring.GenerateKey(r)
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := r.With(k)
	if err != nil {
		t.Fatal(err)
	}
	if err := rotated.Save(path); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, path); m != 0o600 {
		t.Errorf("file mode after Save %v", m)
	}
	loaded, err = keyring.Load(path)
	if err != nil || loaded.Current().ID != k.ID || len(loaded.Keys()) != 2 {
		t.Errorf("after rotation: %v, %v", loaded, err)
	}
}

func TestLoadRefusesReadableFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keyring.json")
	if err := mustNew(t, key("k1", 1)).Save(path); err != nil {
		t.Fatal(err)
	}
	for _, m := range []fs.FileMode{0o644, 0o640, 0o604, 0o666, 0o660} {
		if err := os.Chmod(path, m); err != nil {
			t.Fatal(err)
		}
		_, err := keyring.Load(path)
		if err == nil {
			t.Fatalf("mode %v: loaded", m)
		}
		if !strings.Contains(err.Error(), "chmod") || !strings.Contains(err.Error(), path) {
			t.Errorf("mode %v: error %q does not say how to fix it", m, err)
		}
		// LoadOrCreate does not paper over it with a new key.
		if _, created, err := keyring.LoadOrCreate(path); err == nil || created {
			t.Errorf("mode %v: LoadOrCreate = %t, %v", m, created, err)
		}
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := keyring.Load(path); err != nil {
		t.Errorf("mode 0400: %v", err)
	}

	_, err := keyring.Load(filepath.Join(dir, "missing.json"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	garbage := filepath.Join(dir, "garbage.json")
	if err := os.WriteFile(garbage, []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := keyring.Load(garbage); err == nil || !strings.Contains(err.Error(), garbage) {
		t.Errorf("garbage file: %v", err)
	}
}

func TestRotation(t *testing.T) {
	ctx := context.Background()
	p := &callbackurls.Payload{Target: callbackurls.TargetRef{ID: "tok"}, Action: "approve", Type: callbackurls.Success, Output: json.RawMessage(`{}`)}
	old := mustNew(t, key("old", 1))
	oldURL, err := (&payload.Codec{Keys: old}).Encode(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := old.With(key("new", 2))
	if err != nil {
		t.Fatal(err)
	}
	if len(old.Keys()) != 1 {
		t.Error("With changed the original keyring")
	}
	codec := &payload.Codec{Keys: rotated}
	if got, err := codec.Decode(ctx, oldURL); err != nil || got.Target.ID != "tok" {
		t.Errorf("a URL sealed with the old key: %v", err)
	}
	newURL, err := codec.Encode(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if id := keyID(t, newURL); id != "new" {
		t.Errorf("new URLs use key %q, want new", id)
	}
	if id := keyID(t, oldURL); id != "old" {
		t.Errorf("old URL names key %q", id)
	}
	// The old deployment cannot read what the new key sealed.
	_, err = (&payload.Codec{Keys: old}).Decode(ctx, newURL)
	wantInvalid(t, err)
	// Retiring the old key breaks its URLs, cleanly.
	_, err = (&payload.Codec{Keys: mustNew(t, key("new", 2))}).Decode(ctx, oldURL)
	wantInvalid(t, err)
	// A key id cannot be reused.
	if _, err := rotated.With(key("old", 3)); err == nil {
		t.Error("With accepted a duplicate id")
	}
}

func keyID(t testing.TB, data string) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(data, payload.PrefixEncrypted))
	if err != nil || raw[0] != payload.ModeStaticKey {
		t.Fatalf("not a static-key envelope: %v", err)
	}
	return string(raw[2 : 2+int(raw[1])])
}

func wantInvalid(t testing.TB, err error) {
	t.Helper()
	var e *callbackurls.Error
	if !errors.As(err, &e) || e.Code != callbackurls.CodeInvalidPayload || e.Kind != callbackurls.BadInput {
		t.Fatalf("got %v, want InvalidPayload", err)
	}
}

// TestParseSecret: KEYRING holds the document; a broken one is refused
// without quoting it (its first bad character is part of a key).
func TestParseSecret(t *testing.T) {
	r := mustNew(t, key("k1", 1), key("k2", 2))
	doc, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		value   string
		wantIDs []string
		wantErr string
	}{
		{"two keys", string(doc), []string{"k1", "k2"}, ""},
		{"broken JSON", `{"keys":[{"id":"a","key":Zsecret}]}`, nil, "invalid JSON at byte 26"},
		{"no keys", `{"keys":[]}`, nil, "no keys"},
		{"empty", "", nil, "not a keyring document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := keyring.ParseSecret([]byte(tt.value))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "'Z'") || strings.Contains(err.Error(), "secret}") {
					t.Errorf("error %q quotes the document", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, k := range got.Keys() {
				ids = append(ids, k.ID)
			}
			if diff := cmp.Diff(tt.wantIDs, ids); diff != "" {
				t.Errorf("key ids (-want +got):\n%s", diff)
			}
		})
	}
}

func TestKeySource(t *testing.T) {
	ctx := context.Background()
	r := mustNew(t, key("k1", 1), key("k2", 2))
	mode, ref, aead, err := r.EncryptionKey(ctx)
	if err != nil || mode != payload.ModeStaticKey || string(ref) != "k2" || aead == nil {
		t.Fatalf("EncryptionKey = %d, %q, %v, %v", mode, ref, aead, err)
	}
	for _, id := range []string{"k1", "k2"} {
		if a, err := r.DecryptionKey(ctx, payload.ModeStaticKey, []byte(id)); err != nil || a == nil {
			t.Errorf("DecryptionKey(%s) = %v, %v", id, a, err)
		}
	}
	for _, tc := range []struct {
		mode byte
		ref  string
	}{
		{payload.ModeStaticKey, "k3"},
		{payload.ModeStaticKey, ""},
		{payload.ModeStaticKey, "K1"},
		{payload.ModeStaticKey, "k1\x00"},
		{payload.ModeKMS, "k1"},
		{0, "k1"},
		{0xff, "k2"},
	} {
		a, err := r.DecryptionKey(ctx, tc.mode, []byte(tc.ref))
		if a != nil {
			t.Errorf("DecryptionKey(%d, %q) returned a key", tc.mode, tc.ref)
		}
		wantInvalid(t, err)
	}
}

func TestSecretsStayOutOfStrings(t *testing.T) {
	k := key("k1", 7)
	r := mustNew(t, k)
	forms := map[string]string{
		"base64":     base64.StdEncoding.EncodeToString(k.Secret),
		"base64url":  base64.RawURLEncoding.EncodeToString(k.Secret),
		"hex":        hex.EncodeToString(k.Secret),
		"bytes":      fmt.Sprint([]byte(k.Secret)),
		"bytes tail": strings.Trim(fmt.Sprint([]byte(k.Secret[8:16])), "[]"),
	}
	outputs := map[string]string{
		"Key.String": k.String(),
		"Key %v":     fmt.Sprintf("%v", k),
		"Key %+v":    fmt.Sprintf("%+v", k),
		//lint:ignore S1025 the point is to exercise fmt's %s verb
		"Key %s":      fmt.Sprintf("%s", k),
		"*Key %v":     fmt.Sprintf("%v", &k),
		"[]Key %v":    fmt.Sprintf("%v", r.Keys()),
		"Current %v":  fmt.Sprintf("%v", r.Current()),
		"Keyring %v":  fmt.Sprintf("%v", r),
		"Keyring %+v": fmt.Sprintf("%+v", r),
		//lint:ignore S1025 the point is to exercise fmt's %s verb
		"Keyring %s": fmt.Sprintf("%s", r),
	}
	for name, out := range outputs {
		for form, secret := range forms {
			if strings.Contains(out, secret) {
				t.Errorf("%s holds the secret (%s): %s", name, form, out)
			}
		}
	}
	if !strings.Contains(k.String(), "k1") {
		t.Errorf("String() = %q does not name the key", k.String())
	}
	if k.SecretBase64() != forms["base64"] {
		t.Error("SecretBase64")
	}
}
