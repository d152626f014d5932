package kmskeys_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/testkit"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls/callbackurlstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// apiBase is an API Gateway stage URL, the base of the length goals.
const apiBase = "https://abc123defg.execute-api.us-east-1.amazonaws.com/v1"

// newClock is a clock at a fixed time.
func newClock() *testkit.Clock { return testkit.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) }

// sfnCall is one decision the target double received.
type sfnCall = callbackurlstest.Call

// newSource is a Source on srv's client; each is a separate "function"
// with its own caches.
func newSource(t testing.TB, srv *kmstest.Server, opts kmskeys.Options) *kmskeys.Source {
	t.Helper()
	if opts.KeyID == "" {
		opts.KeyID = kmstest.Alias
	}
	s, err := kmskeys.New(context.Background(), srv.Client(context.Background()), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newService(keys payload.KeySource, sfn callbackurls.Target, now func() time.Time) *callbackurls.Service {
	return callbackurls.New(callbackurls.Config{BaseURL: apiBase, Now: now}, &payload.Codec{Keys: keys}, callbackurls.Targets{callbackurls.TaskToken: sfn})
}

// twoActions is the reference's two-action example for token.
func twoActions(token string) string {
	tok, _ := json.Marshal(token)
	return `{"token":` + string(tok) + `,"actions":[
	{"name":"approve","type":"success","output":{"name_in_output":"Ben"}},
	{"name":"reject","type":"failure","error":"rejected","cause":"Ben rejected it"}]}`
}

// threeActions adds a heartbeat to the two.
func threeActions(token string) string {
	tok, _ := json.Marshal(token)
	return `{"token":` + string(tok) + `,"actions":[
	{"name":"approve","type":"success","output":{"name_in_output":"Ben"}},
	{"name":"reject","type":"failure","error":"rejected","cause":"Ben rejected it"},
	{"name":"ping","type":"heartbeat"}]}`
}

func create(t testing.TB, svc *callbackurls.Service, body string) (map[string]string, error) {
	t.Helper()
	req, err := callbackurls.ParseCreateRequest([]byte(body))
	if err != nil {
		t.Fatalf("ParseCreateRequest: %v", err)
	}
	resp, _, err := svc.CreateURLs(context.Background(), req, callbackurls.Gateway{})
	if err != nil {
		return nil, err
	}
	return resp.URLs, nil
}

func mustCreate(t testing.TB, svc *callbackurls.Service, body string) map[string]string {
	t.Helper()
	urls, err := create(t, svc, body)
	if err != nil {
		t.Fatalf("CreateURLs: %v", err)
	}
	return urls
}

func respond(t testing.TB, svc *callbackurls.Service, rawURL string) (*callbackurls.CallbackResult, error) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("url.Parse: %v", err)
	}
	// A program's GET: act on it.
	cb, err := svc.Open(context.Background(), u.Query())
	if err != nil {
		return &callbackurls.CallbackResult{Callback: cb}, err
	}
	res, err := svc.Act(context.Background(), cb, callbackurls.Submission{})
	return &res, err
}

func dataOf(t testing.TB, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get(callbackurls.QueryData)
}

// fixedKey is a KeySource sealing with a given KMS data key, to make URLs
// whose encrypted key was made in unusual ways.
type fixedKey struct {
	blob []byte
	aead cipher.AEAD
}

func newFixedKey(t testing.TB, blob, plain []byte) *fixedKey {
	t.Helper()
	block, err := aes.NewCipher(plain)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return &fixedKey{blob: blob, aead: aead}
}

func (k *fixedKey) EncryptionKey(context.Context) (byte, []byte, cipher.AEAD, error) {
	return payload.ModeKMS, k.blob, k.aead, nil
}

func (k *fixedKey) DecryptionKey(context.Context, byte, []byte) (cipher.AEAD, error) {
	return k.aead, nil
}

var token = corpus.Tokens()[0]

// keyMode is one of the two KMS modes, as kmstest.New's server serves it.
type keyMode struct {
	name             string
	kind             kmskeys.Kind
	keyID            string // the key of that kind in kmstest.New's server
	createOp, openOp string // the KMS operations that make and open data keys
	headerMode       byte
}

var modes = []keyMode{
	{"envelope", kmskeys.Envelope, kmstest.Alias, "GenerateDataKey", "Decrypt", payload.ModeKMS},
	{"hmac", kmskeys.HMAC, kmstest.HMACAlias, "GenerateMac", "GenerateMac", payload.ModeKMSHMACGated},
}

// calls are the KMS calls of create data keys made and open data keys
// opened, DescribeKey apart.
func (m keyMode) calls(create, open int) kmsCounts {
	if m.kind == kmskeys.HMAC {
		return kmsCounts{GenerateMac: create + open}
	}
	return kmsCounts{GenerateDataKey: create, Decrypt: open}
}

// envelopeOf is a URL's data parameter, decoded.
func envelopeOf(t testing.TB, rawURL string) []byte {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(dataOf(t, rawURL), payload.PrefixEncrypted))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// keyRefOf is the mode and key reference a URL's header names.
func keyRefOf(t testing.TB, rawURL string) []byte {
	t.Helper()
	raw := envelopeOf(t, rawURL)
	switch raw[0] {
	case payload.ModeKMS:
		return raw[:3+int(binary.BigEndian.Uint16(raw[1:3]))]
	case payload.ModeKMSHMAC, payload.ModeKMSHMACGated:
		return raw[:1+payload.HMACKeyRefSize]
	case payload.ModeKMSGated:
		return raw[:7+int(binary.BigEndian.Uint16(raw[5:7]))]
	}
	t.Fatalf("URL of mode %d", raw[0])
	return nil
}
