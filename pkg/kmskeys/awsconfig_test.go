package kmskeys_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/standin"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
)

func TestARNRegion(t *testing.T) {
	tests := []struct{ in, want string }{
		{"arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "eu-west-1"},
		{"arn:aws-cn:kms:cn-north-1:111122223333:alias/x", "cn-north-1"},
		{"alias/x", ""},
		{"1234abcd-12ab-34cd-56ef-1234567890ab", ""},
	}
	for _, tt := range tests {
		if got := kmskeys.ARNRegion(tt.in); got != tt.want {
			t.Errorf("arnRegion(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// signingRegions is an HTTP client that records the region each request
// is signed for (SigV4's credential scope).
type signingRegions struct {
	client *http.Client
	mu     sync.Mutex
	seen   []string
}

func (s *signingRegions) Do(r *http.Request) (*http.Response, error) {
	_, cred, _ := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	scope := strings.Split(strings.SplitN(cred, ",", 2)[0], "/")
	s.mu.Lock()
	if len(scope) == 5 {
		s.seen = append(s.seen, scope[2])
	} else {
		s.seen = append(s.seen, "unsigned")
	}
	s.mu.Unlock()
	return s.client.Do(r)
}

// TestNewFromAWSConfig: the client is built from the configuration given,
// in its region, except that a key ARN's own region wins.
func TestNewFromAWSConfig(t *testing.T) {
	srv := kmstest.New(t)
	tests := []struct {
		name       string
		keyID      string // "arn": the stand-in's key ARN, in kmstest.Region
		wantRegion string
	}{
		{"alias: the configuration's region", kmstest.Alias, "eu-west-1"},
		{"key ARN: the key's region", "arn", kmstest.Region},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.Reset()
			keyID := tt.keyID
			if keyID == "arn" {
				keyID = srv.KeyARN()
			}
			rec := &signingRegions{client: http.DefaultClient}
			cfg := aws.Config{
				Region:       "eu-west-1",
				BaseEndpoint: aws.String(srv.URL()),
				Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
					return standin.Credentials(), nil
				}),
				HTTPClient: rec,
			}
			src, err := kmskeys.NewFromAWSConfig(context.Background(), cfg, kmskeys.Options{KeyID: keyID})
			if err != nil {
				t.Fatal(err)
			}
			svc := newFn(src, nil)
			if err := svc.respond(t, svc.mustCreate(t, twoActions(token))["approve"]); err != nil {
				t.Fatalf("Respond: %v", callbackurls.AsError(err))
			}
			// DescribeKey at start, then GenerateDataKey.
			if diff := cmp.Diff([]string{tt.wantRegion, tt.wantRegion}, rec.seen); diff != "" {
				t.Errorf("signing regions (-want +got):\n%s", diff)
			}
			if got := srv.Count("GenerateDataKey"); got != 1 {
				t.Errorf("%d GenerateDataKey requests, want 1", got)
			}
			if cfg.Region != "eu-west-1" {
				t.Errorf("the caller's configuration was changed: region %s", cfg.Region)
			}
		})
	}
	t.Run("no key id", func(t *testing.T) {
		if _, err := kmskeys.NewFromAWSConfig(context.Background(), aws.Config{Region: "eu-west-1"}, kmskeys.Options{}); err == nil {
			t.Error("no error without a key id")
		}
	})
}
