package awskeyring_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/awskeyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/awskeyring/awskeyringtest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
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
	if r, err = keyring.New(a, b); err != nil {
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

// reader reads a keyring from a stand-in: through a given client, or
// through a client built from a configuration.
type reader func(ctx context.Context, srv *awskeyringtest.Server, id string) (*keyring.Keyring, error)

// sourceCase is one read of a store.
type sourceCase struct {
	name     string
	setup    func(s *awskeyringtest.Server)
	id       string // "arn": the ARN of the item the test reads
	wantIDs  []string
	wantErr  string
	wantReqs int
}

// runSourceCases runs each case with each reader on a new stand-in, item
// naming the secret or parameter the cases store.
func runSourceCases(t *testing.T, newServer func(testing.TB) *awskeyringtest.Server, item string, readers map[string]reader, tests []sourceCase) {
	t.Helper()
	for name, read := range readers {
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				srv := newServer(t)
				if tt.setup != nil {
					tt.setup(srv)
				}
				id := tt.id
				if id == "arn" {
					id = srv.ARN(item)
				}
				r, err := read(t.Context(), srv, id)
				checkSource(t, r, err, tt.wantIDs, tt.wantErr)
				if got := srv.Count(); got != tt.wantReqs {
					t.Errorf("%d requests, want %d", got, tt.wantReqs)
				}
			})
		}
	}
}

func TestFromSecretsManager(t *testing.T) {
	doc, ids := sourceKeyring(t)
	readers := map[string]reader{
		"FromSecretsManager": func(ctx context.Context, srv *awskeyringtest.Server, id string) (*keyring.Keyring, error) {
			return awskeyring.FromSecretsManager(ctx, srv.Config(), id)
		},
	}
	runSourceCases(t, awskeyringtest.NewSecretsManager, "keyring", readers, []sourceCase{
		{"by name", func(s *awskeyringtest.Server) { s.Put("keyring", doc) }, "keyring", ids, "", 1},
		{"by ARN", func(s *awskeyringtest.Server) { s.Put("keyring", doc) }, "arn", ids, "", 1},
		{"binary secret", func(s *awskeyringtest.Server) { s.PutBinary("keyring", []byte(doc)) }, "keyring", ids, "", 1},
		{"throttled once", func(s *awskeyringtest.Server) { s.Put("keyring", doc); s.FailNext(1, 400, "ThrottlingException") }, "keyring", ids, "", 2},
		{"a 500 once", func(s *awskeyringtest.Server) { s.Put("keyring", doc); s.FailNext(1, 500, "InternalServiceError") }, "keyring", ids, "", 2},
		{"throttled throughout", func(s *awskeyringtest.Server) { s.Put("keyring", doc); s.FailNext(3, 400, "ThrottlingException") }, "keyring", nil, "ThrottlingException", 3},
		{"missing", nil, "keyring", nil, "ResourceNotFoundException", 1},
		{"access denied", func(s *awskeyringtest.Server) { s.Put("keyring", doc); s.FailNext(1, 400, "AccessDeniedException") }, "keyring", nil, "AccessDeniedException", 1},
		{"not a keyring", func(s *awskeyringtest.Server) { s.Put("keyring", `{"keys":[]}`) }, "keyring", nil, "no keys", 1},
		{"broken JSON", func(s *awskeyringtest.Server) { s.Put("keyring", badKey) }, "keyring", nil, "invalid JSON at byte", 1},
	})
}

func TestFromParameter(t *testing.T) {
	doc, ids := sourceKeyring(t)
	const name = "/sfn-callback-urls/keyring"
	readers := map[string]reader{
		"FromParameter": func(ctx context.Context, srv *awskeyringtest.Server, name string) (*keyring.Keyring, error) {
			return awskeyring.FromParameter(ctx, srv.Config(), name)
		},
	}
	runSourceCases(t, awskeyringtest.NewParameterStore, name, readers, []sourceCase{
		{"by name", func(s *awskeyringtest.Server) { s.Put(name, doc) }, name, ids, "", 1},
		{"by ARN", func(s *awskeyringtest.Server) { s.Put(name, doc) }, "arn", ids, "", 1},
		{"missing", nil, name, nil, "ParameterNotFound", 1},
		{"throttled once", func(s *awskeyringtest.Server) { s.Put(name, doc); s.FailNext(1, 400, "ThrottlingException") }, name, ids, "", 2},
		{"plain String refused", func(s *awskeyringtest.Server) {
			s.PutParameter(name, awskeyringtest.String, doc)
		}, name, nil, "store the keyring as a SecureString", 1},
		{"access denied", func(s *awskeyringtest.Server) {
			s.Put(name, doc)
			s.FailNext(1, 400, "AccessDeniedException")
		}, name, nil, "AccessDeniedException", 1},
		{"broken JSON", func(s *awskeyringtest.Server) { s.Put(name, badKey) }, name, nil, "invalid JSON at byte", 1},
	})
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
