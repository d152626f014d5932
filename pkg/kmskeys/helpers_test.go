package kmskeys_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/testkit"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls/callbackurlstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// apiBase is an API Gateway stage URL, the base of the length goals.
const apiBase = servicetest.APIBase

// newClock is a clock at a fixed time.
func newClock() *testkit.Clock { return testkit.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) }

// sfnCall is one decision the target double received.
type sfnCall = callbackurlstest.Call

var token = corpus.Tokens()[0]

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

// fn is one function of a deployment: the core over its keys (nil:
// encryption off), sending decisions to a target double of its own.
type fn struct {
	*callbackurls.Service
	target *callbackurlstest.Target
}

func newFn(keys payload.KeySource, now func() time.Time) *fn {
	target := &callbackurlstest.Target{}
	return &fn{callbackurls.New(callbackurls.Config{BaseURL: apiBase, Now: now}, &payload.Codec{Keys: keys},
		callbackurls.Targets{callbackurls.TaskToken: target}), target}
}

// create creates URLs for a request body.
func (f *fn) create(t testing.TB, body string) (map[string]string, error) {
	t.Helper()
	req, err := callbackurls.ParseCreateRequest([]byte(body))
	if err != nil {
		t.Fatalf("ParseCreateRequest: %v", err)
	}
	resp, _, err := f.CreateURLs(context.Background(), req, callbackurls.Gateway{})
	if err != nil {
		return nil, err
	}
	return resp.URLs, nil
}

func (f *fn) mustCreate(t testing.TB, body string) map[string]string {
	t.Helper()
	urls, err := f.create(t, body)
	if err != nil {
		t.Fatalf("CreateURLs: %v", err)
	}
	return urls
}

// respond acts on a URL as a program's GET does.
func (f *fn) respond(t testing.TB, rawURL string) error {
	t.Helper()
	_, err := f.act(t, rawURL)
	return err
}

func (f *fn) mustRespond(t testing.TB, rawURL string) {
	t.Helper()
	res, err := f.act(t, rawURL)
	if err != nil {
		t.Fatalf("Respond: %v", err)
	}
	if !res.Sent {
		t.Fatalf("Respond did not send")
	}
}

func (f *fn) act(t testing.TB, rawURL string) (callbackurls.CallbackResult, error) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("url.Parse: %v", err)
	}
	cb, err := f.Open(context.Background(), u.Query())
	if err != nil {
		return callbackurls.CallbackResult{}, err
	}
	return f.Act(context.Background(), cb, callbackurls.Submission{})
}

// approveURL is the approve URL of the reference's two actions for token,
// sealed with keys by a function of its own.
func approveURL(t testing.TB, keys payload.KeySource) string {
	t.Helper()
	return newFn(keys, nil).mustCreate(t, twoActions(token))["approve"]
}

// sourceURL is approveURL with a Source of opts on srv.
func sourceURL(t testing.TB, srv *kmstest.Server, opts kmskeys.Options) string {
	t.Helper()
	return approveURL(t, newSource(t, srv, opts))
}

// distinctURLs makes n ping URLs, each with its own data key.
func distinctURLs(t testing.TB, srv *kmstest.Server, opts kmskeys.Options, n int) []string {
	t.Helper()
	opts.DataKeyMaxUses = -1
	creator := newFn(newSource(t, srv, opts), nil)
	var urls []string
	for range n {
		urls = append(urls, creator.mustCreate(t, oneAction(token))["ping"])
	}
	return urls
}

// oneAction, twoActions and threeActions are requests for token: a
// heartbeat; the reference's approve and reject; the three.
func oneAction(token string) string {
	return `{"token":"` + token + `","actions":[{"name":"ping","type":"heartbeat"}]}`
}

func twoActions(token string) string {
	tok, _ := json.Marshal(token)
	return `{"token":` + string(tok) + `,"actions":[
	{"name":"approve","type":"success","output":{"name_in_output":"Ben"}},
	{"name":"reject","type":"failure","error":"rejected","cause":"Ben rejected it"}]}`
}

func threeActions(token string) string {
	return strings.TrimSuffix(twoActions(token), "]}") + `,{"name":"ping","type":"heartbeat"}]}`
}

// apiResult is what a caller sees of an error: its code and kind (the
// edge's status follows from the kind: BadInput 400, Unavailable 503,
// Internal 500).
type apiResult struct {
	OK          bool
	Code        string
	Kind        callbackurls.Kind
	Unavailable bool // wraps callbackurls.ErrUnavailable
}

// The results of no error, of a URL refused, and of KMS failing a
// callback (503 ServiceError, as the bound on cold calls also answers).
var (
	succeeded = apiResult{OK: true}
	refused   = apiResult{Code: callbackurls.CodeInvalidPayload, Kind: callbackurls.BadInput}
	overBound = apiResult{Code: callbackurls.CodeServiceError, Kind: callbackurls.Unavailable, Unavailable: true}
)

func resultOf(err error) apiResult {
	if err == nil {
		return succeeded
	}
	e := callbackurls.AsError(err)
	return apiResult{Code: e.Code, Kind: e.Kind, Unavailable: errors.Is(err, callbackurls.ErrUnavailable)}
}

// newKeyring is a static keyring of one new key.
var newKeyring = servicetest.NewKeyring

// sealer is a KeySource sealing, and opening, with a given data key under
// a key reference of a given mode, as no Source would: URLs whose data key
// was made in unusual ways, known answers with fixed identifiers, an
// attacker's made-up references. gate is the gated modes' gate key.
type sealer struct {
	mode byte
	ref  []byte
	aead cipher.AEAD
	gate []byte
}

func newSealer(t testing.TB, mode byte, ref, key, gate []byte) *sealer {
	t.Helper()
	return &sealer{mode: mode, ref: ref, aead: gcm(t, key), gate: gate}
}

func (k *sealer) EncryptionKey(context.Context) (byte, []byte, cipher.AEAD, error) {
	return k.mode, k.ref, k.aead, nil
}

func (k *sealer) DecryptionKey(context.Context, byte, []byte) (cipher.AEAD, error) {
	return k.aead, nil
}

func (k *sealer) GateKey(context.Context, byte, []byte) (*payload.GateKey, error) {
	return payload.NewGateKey(k.gate)
}

func gcm(t testing.TB, key []byte) cipher.AEAD {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return aead
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

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

// opts are Options with the mode's key.
func (m keyMode) opts() kmskeys.Options { return kmskeys.Options{KeyID: m.keyID} }

// calls are the KMS calls of create data keys made and open data keys
// opened, DescribeKey apart.
func (m keyMode) calls(create, open int) kmsCounts {
	if m.kind == kmskeys.HMAC {
		return kmsCounts{GenerateMac: create + open}
	}
	return kmsCounts{GenerateDataKey: create, Decrypt: open}
}

// dataOf is a URL's data parameter.
func dataOf(t testing.TB, rawURL string) string {
	t.Helper()
	return servicetest.DataParam(t, rawURL)
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

// alterData flips one bit of the decoded data parameter at offset (past
// the "3-" prefix; from the end if negative): 3+n is inside the encrypted
// key for n < 184.
func alterData(t testing.TB, rawURL string, offset int) string {
	t.Helper()
	data := dataOf(t, rawURL)
	raw := envelopeOf(t, rawURL)
	if offset < 0 {
		offset += len(raw)
	}
	raw[offset] ^= 0x40
	return strings.Replace(rawURL, data, payload.PrefixEncrypted+base64.RawURLEncoding.EncodeToString(raw), 1)
}
