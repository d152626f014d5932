package keyring_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring/keyringtest"
)

// sourceKeyring is a two-key keyring document and its key ids.
func sourceKeyring(t *testing.T) (doc string, ids []string) {
	t.Helper()
	a, err := keyring.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := keyring.New(a)
	if err != nil {
		t.Fatal(err)
	}
	b, err := keyring.GenerateKey(r)
	if err != nil {
		t.Fatal(err)
	}
	if r, err = r.With(b); err != nil {
		t.Fatal(err)
	}
	data, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return string(data), []string{a.ID, b.ID}
}

func keyIDs(r *keyring.Keyring) []string {
	var ids []string
	for _, k := range r.Keys() {
		ids = append(ids, k.ID)
	}
	return ids
}

// badKey is a syntactically broken document whose first bad character is
// part of a key: errors must not quote it.
const badKey = `{"keys":[{"id":"a","key":Zsecret}]}`

func TestFromSecretsManager(t *testing.T) {
	ctx := context.Background()
	doc, ids := sourceKeyring(t)
	tests := []struct {
		name     string
		setup    func(s *keyringtest.Server)
		id       string // "arn" for the ARN of "keyring"
		wantIDs  []string
		wantErr  string
		wantReqs int
	}{
		{"by name", func(s *keyringtest.Server) { s.Put("keyring", doc) }, "keyring", ids, "", 1},
		{"by ARN", func(s *keyringtest.Server) { s.Put("keyring", doc) }, "arn", ids, "", 1},
		{"binary secret", func(s *keyringtest.Server) { s.PutBinary("keyring", []byte(doc)) }, "keyring", ids, "", 1},
		{"throttled once", func(s *keyringtest.Server) { s.Put("keyring", doc); s.FailNext(1, 400, "ThrottlingException") }, "keyring", ids, "", 2},
		{"missing", nil, "keyring", nil, "ResourceNotFoundException", 1},
		{"access denied", func(s *keyringtest.Server) { s.Put("keyring", doc); s.FailNext(1, 400, "AccessDeniedException") }, "keyring", nil, "AccessDeniedException", 1},
		{"not a keyring", func(s *keyringtest.Server) { s.Put("keyring", `{"keys":[]}`) }, "keyring", nil, "no keys", 1},
		{"broken JSON", func(s *keyringtest.Server) { s.Put("keyring", badKey) }, "keyring", nil, "invalid JSON at byte", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := keyringtest.NewSecretsManager(t)
			if tt.setup != nil {
				tt.setup(srv)
			}
			id := tt.id
			if id == "arn" {
				id = srv.ARN("keyring")
			}
			r, err := keyring.FromSecretsManager(ctx, srv.SecretsManagerClient(ctx), id)
			checkSource(t, r, err, tt.wantIDs, tt.wantErr)
			if got := srv.Count(); got != tt.wantReqs {
				t.Errorf("%d requests, want %d", got, tt.wantReqs)
			}
		})
	}
}

func TestFromParameter(t *testing.T) {
	ctx := context.Background()
	doc, ids := sourceKeyring(t)
	tests := []struct {
		name    string
		setup   func(s *keyringtest.Server)
		id      string
		wantIDs []string
		wantErr string
	}{
		{"by name", func(s *keyringtest.Server) { s.Put("/sfn-callback-urls/keyring", doc) }, "/sfn-callback-urls/keyring", ids, ""},
		{"by ARN", func(s *keyringtest.Server) { s.Put("/sfn-callback-urls/keyring", doc) }, "arn", ids, ""},
		{"missing", nil, "/sfn-callback-urls/keyring", nil, "ParameterNotFound"},
		{"plain String refused", func(s *keyringtest.Server) {
			s.PutParameter("/sfn-callback-urls/keyring", keyringtest.String, doc)
		}, "/sfn-callback-urls/keyring", nil, "store the keyring as a SecureString"},
		{"access denied", func(s *keyringtest.Server) {
			s.Put("/sfn-callback-urls/keyring", doc)
			s.FailNext(1, 400, "AccessDeniedException")
		}, "/sfn-callback-urls/keyring", nil, "AccessDeniedException"},
		{"broken JSON", func(s *keyringtest.Server) { s.Put("/sfn-callback-urls/keyring", badKey) }, "/sfn-callback-urls/keyring", nil, "invalid JSON at byte"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := keyringtest.NewParameterStore(t)
			if tt.setup != nil {
				tt.setup(srv)
			}
			id := tt.id
			if id == "arn" {
				id = srv.ARN("/sfn-callback-urls/keyring")
			}
			r, err := keyring.FromParameter(ctx, srv.SSMClient(ctx), id)
			checkSource(t, r, err, tt.wantIDs, tt.wantErr)
		})
	}
}

func TestFromEnv(t *testing.T) {
	doc, ids := sourceKeyring(t)
	r, err := keyring.FromEnv(doc)
	checkSource(t, r, err, ids, "")
	_, err = keyring.FromEnv(badKey)
	checkSource(t, nil, err, nil, "invalid JSON at byte")
}

func checkSource(t *testing.T, r *keyring.Keyring, err error, wantIDs []string, wantErr string) {
	t.Helper()
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("error %v, want one saying %q", err, wantErr)
		}
		if strings.Contains(err.Error(), "'Z'") || strings.Contains(err.Error(), "secret}") {
			t.Errorf("error %q quotes the document", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantIDs, keyIDs(r)); diff != "" {
		t.Errorf("key ids (-want +got):\n%s", diff)
	}
}
