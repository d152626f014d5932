package payload_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

func secret(seed byte) []byte {
	b := make([]byte, keyring.KeySize)
	for i := range b {
		b[i] = seed + byte(i)*3
	}
	return b
}

func ring(t testing.TB, keys ...keyring.Key) *keyring.Keyring {
	t.Helper()
	r, err := keyring.New(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func staticCodec(t testing.TB) *payload.Codec {
	return &payload.Codec{Keys: ring(t, keyring.Key{ID: "k1", Secret: secret(1)})}
}

func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	var e *callbackurls.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %T %v, want a *callbackurls.Error %s", err, err, code)
	}
	if want := callbackurls.KindOf(code); e.Code != code || e.Kind != want {
		t.Fatalf("got %s (%s) %q, want %s (%s)", e.Code, e.Kind, e.Message, code, want)
	}
}

// semanticJSON compares JSON documents by value: the unencrypted form
// re-encodes them (compacted, with HTML characters escaped).
var semanticJSON = cmp.Transformer("semanticJSON", func(r json.RawMessage) any {
	if r == nil {
		return "<nil>"
	}
	var v any
	if err := json.Unmarshal(r, &v); err != nil {
		return "invalid JSON: " + string(r)
	}
	return v
})

var sec = func(y int, mo time.Month, d, h, mi, s int) time.Time {
	return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
}

func roundTripCases() []struct {
	name string
	p    callbackurls.Payload
} {
	tok := corpus.Tokens()[0]
	return []struct {
		name string
		p    callbackurls.Payload
	}{
		{"success, every field", callbackurls.Payload{
			Target: callbackurls.TargetRef{ID: tok}, TransactionID: "0123456789abcdef0123456789abcdef",
			IssuedAt: sec(2026, 1, 2, 3, 4, 5), Expiration: sec(2026, 2, 3, 4, 5, 6),
			Action: "approve", Type: callbackurls.Success, Output: json.RawMessage(`{"name_in_output":"Ben","n":[1,2.5,null,true]}`),
			Parameters:   true,
			Response:     json.RawMessage(`{"redirect":"https://example.com/done?x=1&y=2"}`),
			Presentation: json.RawMessage(`{"title":"Approve the deploy?","confirm":true}`),
		}},
		{"failure with error and cause", callbackurls.Payload{
			Target: callbackurls.TargetRef{ID: tok}, TransactionID: "fedcba9876543210fedcba9876543210", IssuedAt: sec(2030, 12, 31, 23, 59, 59),
			Action: "reject", Type: callbackurls.Failure, Error: "rejected", Cause: "Ben rejected it: «non» 漢字 😀",
			Response: json.RawMessage(`{"json":{"a":"b"},"html":"<b>no</b>","text":"no"}`),
		}},
		{"failure bare", callbackurls.Payload{Target: callbackurls.TargetRef{ID: tok}, Action: "r", Type: callbackurls.Failure}},
		{"heartbeat minimal", callbackurls.Payload{Target: callbackurls.TargetRef{ID: "t"}, Action: "p", Type: callbackurls.Heartbeat}},
		{"post with outcomes", callbackurls.Payload{
			Target: callbackurls.TargetRef{ID: tok}, TransactionID: "00", Action: "hook", Type: callbackurls.Post,
			Outcomes: json.RawMessage(`[{"name":"ok","type":"success","schema":{"type":"object"},"output_path":"$.a"}]`),
		}},
		{"tid not hex", callbackurls.Payload{Target: callbackurls.TargetRef{ID: tok}, TransactionID: "tid-with-dashes", Action: "a", Type: callbackurls.Heartbeat}},
		{"tid upper-case hex", callbackurls.Payload{Target: callbackurls.TargetRef{ID: tok}, TransactionID: "ABCDEF", Action: "a", Type: callbackurls.Heartbeat}},
		{"tid odd-length hex", callbackurls.Payload{Target: callbackurls.TargetRef{ID: tok}, TransactionID: "abc", Action: "a", Type: callbackurls.Heartbeat}},
		{"tid unicode", callbackurls.Payload{Target: callbackurls.TargetRef{ID: tok}, TransactionID: "é", Action: "a", Type: callbackurls.Heartbeat}},
		{"unicode action, text token", callbackurls.Payload{Target: callbackurls.TargetRef{ID: "not base64: é漢😀 a=b&c%20"}, Action: "ñandú_1", Type: callbackurls.Heartbeat}},
		{"AQC token with '=' inside", callbackurls.Payload{Target: callbackurls.TargetRef{ID: "AQCEAAAAKgAAAAMAAAAAAAAAAUXJ+vmPSMtl1R2vAh2y3Q==" + strings.Repeat("QUJD", 100) + "rA=="}, Action: "a", Type: callbackurls.Heartbeat}},
		{"2048-character token", callbackurls.Payload{Target: callbackurls.TargetRef{ID: strings.Repeat("漢", 2048)}, Action: "a", Type: callbackurls.Heartbeat}},
		{"output null", callbackurls.Payload{Target: callbackurls.TargetRef{ID: tok}, Action: "a", Type: callbackurls.Success, Output: json.RawMessage(`null`)}},
		{"output string", callbackurls.Payload{Target: callbackurls.TargetRef{ID: tok}, Action: "a", Type: callbackurls.Success, Output: json.RawMessage(`"yes"`)}},
		{"output large and compressible", callbackurls.Payload{Target: callbackurls.TargetRef{ID: tok}, Action: "a", Type: callbackurls.Success,
			Output: json.RawMessage(`{"items":[` + strings.Repeat(`{"id":1,"name":"item","tags":["a","b"]},`, 150) + `{}]}`)}},
		{"parameters flag on a failure", callbackurls.Payload{Target: callbackurls.TargetRef{ID: tok}, Action: "r", Type: callbackurls.Failure, Error: "E_$code", Parameters: true}},
		{"expiration without issued at", callbackurls.Payload{Target: callbackurls.TargetRef{ID: tok}, Action: "a", Type: callbackurls.Heartbeat, Expiration: sec(2099, 1, 1, 0, 0, 0)}},
		{"far future times", callbackurls.Payload{Target: callbackurls.TargetRef{ID: tok}, Action: "a", Type: callbackurls.Heartbeat, IssuedAt: sec(9999, 12, 31, 23, 59, 59), Expiration: sec(9999, 12, 31, 23, 59, 59)}},
		{"approvers and a requester at their domain", callbackurls.Payload{Target: callbackurls.TargetRef{ID: tok}, Action: "approve", Type: callbackurls.Success, Output: json.RawMessage(`{}`),
			Approvers: []string{"@ops.example.org", "alice@example.com", "bob@example.com", "carol@example.net", "slack:U0123ABCD"}, Requester: "dave@example.com"}},
		{"requester alone, receipt", callbackurls.Payload{Target: callbackurls.TargetRef{ID: tok}, Action: "reject", Type: callbackurls.Failure,
			Requester: "dave@example.com", Receipt: true}},
		{"receipt alone", callbackurls.Payload{Target: callbackurls.TargetRef{ID: tok}, Action: "approve", Type: callbackurls.Success, Output: json.RawMessage(`{"a":1}`), Receipt: true}},
	}
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	families := []struct {
		name   string
		codec  *payload.Codec
		prefix string
		opts   []cmp.Option
	}{
		{"encrypted", staticCodec(t), payload.PrefixEncrypted, nil},
		{"unencrypted", &payload.Codec{}, payload.PrefixUnencrypted, []cmp.Option{semanticJSON}},
	}
	for _, fam := range families {
		for _, tt := range roundTripCases() {
			t.Run(fam.name+"/"+tt.name, func(t *testing.T) {
				in := tt.p
				data, err := fam.codec.Encode(ctx, &in)
				if err != nil {
					t.Fatalf("Encode: %v", err)
				}
				if !strings.HasPrefix(data, fam.prefix) {
					t.Errorf("data %.20s... does not start with %s", data, fam.prefix)
				}
				if strings.Trim(data, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=") != "" {
					t.Errorf("data needs escaping in a URL: %q", data)
				}
				if len(data) > callbackurls.MaxDataLength {
					t.Errorf("data is %d characters", len(data))
				}
				got, err := fam.codec.Decode(ctx, data)
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if diff := cmp.Diff(&tt.p, got, fam.opts...); diff != "" {
					t.Errorf("round trip (-want +got):\n%s", diff)
				}
				for _, ts := range []time.Time{got.IssuedAt, got.Expiration} {
					if !ts.IsZero() && (ts.Location() != time.UTC || ts.Nanosecond() != 0) {
						t.Errorf("time %v is not whole seconds UTC", ts)
					}
				}
				if in.Target.ID != tt.p.Target.ID || string(in.Output) != string(tt.p.Output) {
					t.Error("Encode changed its input")
				}
			})
		}
	}
}

// TestRoundTripTimes: times are whole seconds; the issue time is UTC and
// the expiration keeps the request's UTC offset (whole minutes), in both
// formats.
func TestRoundTripTimes(t *testing.T) {
	ctx := context.Background()
	paris := time.FixedZone("Paris", 3600)
	tests := []struct {
		name       string
		expiration time.Time
		wantOffset int // seconds east of UTC after decoding
	}{
		{"+01:00", time.Date(2027, 1, 2, 3, 4, 5, 1, paris), 3600},
		{"UTC", time.Date(2027, 1, 2, 2, 4, 5, 0, time.UTC), 0},
		{"+00:00 as a fixed zone", time.Date(2027, 1, 2, 2, 4, 5, 0, time.FixedZone("", 0)), 0},
		{"-09:30", time.Date(2027, 1, 1, 16, 34, 5, 0, time.FixedZone("", -(9*3600+1800))), -(9*3600 + 1800)},
		{"+05:45", time.Date(2027, 1, 2, 7, 49, 5, 0, time.FixedZone("", 5*3600+2700)), 5*3600 + 2700},
		{"+23:59", time.Date(2027, 1, 3, 2, 3, 5, 0, time.FixedZone("", 23*3600+59*60)), 23*3600 + 59*60},
		{"-23:59", time.Date(2027, 1, 1, 2, 5, 5, 0, time.FixedZone("", -(23*3600+59*60))), -(23*3600 + 59*60)},
		// Not a whole minute: not an RFC 3339 offset, kept as UTC.
		{"+00:00:30", time.Date(2027, 1, 2, 2, 4, 35, 0, time.FixedZone("", 30)), 0},
	}
	for _, tt := range tests {
		for _, c := range []*payload.Codec{staticCodec(t), {}} {
			in := callbackurls.Payload{Target: callbackurls.TargetRef{ID: "t"}, Action: "a", Type: callbackurls.Heartbeat,
				IssuedAt: time.Date(2026, 1, 2, 3, 4, 5, 999_999_999, paris), Expiration: tt.expiration}
			data, err := c.Encode(ctx, &in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Decode(ctx, data)
			if err != nil {
				t.Fatal(err)
			}
			if want := time.Date(2026, 1, 2, 2, 4, 5, 0, time.UTC); got.IssuedAt != want {
				t.Errorf("%s: IssuedAt %v, want %v", tt.name, got.IssuedAt, want)
			}
			if !got.Expiration.Equal(tt.expiration.Truncate(time.Second)) {
				t.Errorf("%s: Expiration %v, want the instant %v", tt.name, got.Expiration, tt.expiration)
			}
			if _, off := got.Expiration.Zone(); off != tt.wantOffset {
				t.Errorf("%s (%.2s): Expiration %v has offset %ds, want %ds", tt.name, data, got.Expiration, off, tt.wantOffset)
			}
			if tt.wantOffset == 0 && got.Expiration.Location() != time.UTC {
				t.Errorf("%s (%.2s): Expiration %v is not in UTC", tt.name, data, got.Expiration)
			}
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	ctx := context.Background()
	_, err := staticCodec(t).Encode(ctx, &callbackurls.Payload{Target: callbackurls.TargetRef{ID: "t"}, Action: "a", Type: "approve"})
	wantCode(t, err, callbackurls.CodeInvalidAction)
	_, err = staticCodec(t).Encode(ctx, &callbackurls.Payload{Target: callbackurls.TargetRef{ID: "t"}, Action: "a", Type: callbackurls.Heartbeat, Expiration: sec(1960, 1, 1, 0, 0, 0)})
	wantCode(t, err, callbackurls.CodeInvalidDate)
}

// randomToken draws a token of 1..2048 characters from one of several
// alphabets, or glues padded base64 segments together as AQC tokens do.
func randomToken(r *rand.Rand) string {
	alphabets := []string{
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=",
		"AQ=",
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=%& -_?#",
		"ab=+/%& é漢😀\x00\t\n\r\"\\",
	}
	n := 1 + r.IntN(2048)
	switch r.IntN(4) {
	case 0: // segments of real base64, padded or not
		var b strings.Builder
		for b.Len() < n {
			seg := make([]byte, 1+r.IntN(300))
			for i := range seg {
				seg[i] = byte(r.Uint32())
			}
			if r.IntN(2) == 0 {
				b.WriteString(base64.StdEncoding.EncodeToString(seg))
			} else {
				b.WriteString(base64.RawStdEncoding.EncodeToString(seg))
			}
		}
		s := b.String()
		for utf8.RuneCountInString(s) > 2048 {
			s = s[:len(s)-1]
		}
		return s
	default:
		alpha := []rune(alphabets[r.IntN(len(alphabets))])
		rs := make([]rune, n)
		for i := range rs {
			rs[i] = alpha[r.IntN(len(alpha))]
		}
		return string(rs)
	}
}

func TestTokenLossless(t *testing.T) {
	ctx := context.Background()
	c := staticCodec(t)
	tokens := append(corpus.Tokens(), "=", "==", "a=", "AAAA=", "QQ==QQ==", "QQ", "Q", "QR==", "QQ==", "QQ\n==",
		"AQCEAAAAKgAAAAMAAAAAAAAAAUXJ+vmPSMtl1R2vAh2y3Q==mid=AQCE==end", " QQ== ", "%3D%3D", "a+b/c", "é", "漢", "😀",
		strings.Repeat("=", 2048), strings.Repeat("A", 2048), strings.Repeat("😀", 2048))
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		tokens = append(tokens, randomToken(r))
	}
	for i, tok := range tokens {
		if n := utf8.RuneCountInString(tok); n < 1 || n > callbackurls.MaxTokenLength {
			t.Fatalf("token %d has %d characters", i, n)
		}
		data, err := c.Encode(ctx, &callbackurls.Payload{Target: callbackurls.TargetRef{ID: tok}, Action: "a", Type: callbackurls.Heartbeat})
		if err != nil {
			t.Fatalf("token %d (%q): Encode: %v", i, tok, err)
		}
		got, err := c.Decode(ctx, data)
		if err != nil {
			t.Fatalf("token %d (%q): Decode: %v", i, tok, err)
		}
		if got.Target.ID != tok {
			t.Fatalf("token %d: round trip of %q gave %q", i, tok, got.Target.ID)
		}
	}
}

// envelope returns the binary envelope of a 3- data parameter.
func envelope(t testing.TB, data string) []byte {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(data, payload.PrefixEncrypted))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func seal(raw []byte) string {
	return payload.PrefixEncrypted + base64.RawURLEncoding.EncodeToString(raw)
}

func TestTamper(t *testing.T) {
	ctx := context.Background()
	c := staticCodec(t)
	var seen [3]int
	for _, tt := range roundTripCases() {
		data, err := c.Encode(ctx, &tt.p)
		if err != nil {
			t.Fatal(err)
		}
		raw := envelope(t, data)
		if raw[0] != payload.ModeStaticKey || raw[1] != 2 || string(raw[2:4]) != "k1" {
			t.Fatalf("envelope header %v", raw[:4])
		}
		// Two cases for each length modulo 3 (the last base64 character
		// holds 0, 4 or 2 unused bits).
		if seen[len(raw)%3]++; seen[len(raw)%3] > 2 {
			continue
		}
		// Every single-byte change is refused.
		for i := range raw {
			for _, mask := range []byte{0x01, 0x02, 0x03, 0x80, 0xff} {
				b := append([]byte(nil), raw...)
				b[i] ^= mask
				_, err := c.Decode(ctx, seal(b))
				if err == nil {
					t.Fatalf("%s: byte %d ^ %#x accepted", tt.name, i, mask)
				}
				wantCode(t, err, callbackurls.CodeInvalidPayload)
			}
		}
		// Every truncation is refused, of the envelope and of the text.
		for n := range raw {
			_, err := c.Decode(ctx, seal(raw[:n]))
			wantCode(t, err, callbackurls.CodeInvalidPayload)
		}
		for n := range len(data) {
			_, err := c.Decode(ctx, data[:n])
			wantCode(t, err, callbackurls.CodeInvalidPayload)
		}
		// Extra bytes are refused.
		_, err = c.Decode(ctx, seal(append(append([]byte(nil), raw...), 0)))
		wantCode(t, err, callbackurls.CodeInvalidPayload)
		// Changing any character of the text is refused: there is one
		// spelling of each payload.
		for i := len(payload.PrefixEncrypted); i < len(data); i++ {
			for _, c2 := range []byte{'A', 'B', '-', '_', 'z'} {
				if data[i] == c2 {
					continue
				}
				_, err := c.Decode(ctx, data[:i]+string(c2)+data[i+1:])
				if err == nil {
					t.Fatalf("%s: character %d changed to %q accepted", tt.name, i, c2)
				}
				wantCode(t, err, callbackurls.CodeInvalidPayload)
			}
		}
		// Line breaks (which base64 decoders skip) are refused.
		for _, i := range []int{2, len(data) / 2, len(data)} {
			for _, nl := range []string{"\n", "\r", "\r\n"} {
				_, err := c.Decode(ctx, data[:i]+nl+data[i:])
				wantCode(t, err, callbackurls.CodeInvalidPayload)
			}
		}
		// Standard base64 and padding are not our spelling.
		for _, alt := range []string{
			payload.PrefixEncrypted + base64.RawStdEncoding.EncodeToString(raw),
			payload.PrefixEncrypted + base64.URLEncoding.EncodeToString(raw),
		} {
			if alt == data {
				continue
			}
			if _, err := c.Decode(ctx, alt); err == nil && strings.ContainsAny(alt, "+/=") {
				t.Errorf("%s: a second spelling is accepted: %.40s...", tt.name, alt)
			}
		}
	}
	if seen[0] == 0 || seen[1] == 0 || seen[2] == 0 {
		t.Errorf("envelope lengths modulo 3 not all covered: %v", seen)
	}
}

func TestWrongKeys(t *testing.T) {
	ctx := context.Background()
	p := &callbackurls.Payload{Target: callbackurls.TargetRef{ID: "tok"}, Action: "a", Type: callbackurls.Heartbeat}
	data, err := staticCodec(t).Encode(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	for name, keys := range map[string]*keyring.Keyring{
		"unknown key id":             ring(t, keyring.Key{ID: "k2", Secret: secret(1)}),
		"same id, another secret":    ring(t, keyring.Key{ID: "k1", Secret: secret(2)}),
		"id that is a prefix of k1":  ring(t, keyring.Key{ID: "k", Secret: secret(1)}),
		"id that extends k1":         ring(t, keyring.Key{ID: "k12", Secret: secret(1)}),
		"several keys, none of them": ring(t, keyring.Key{ID: "a", Secret: secret(1)}, keyring.Key{ID: "b", Secret: secret(1)}),
	} {
		_, err := (&payload.Codec{Keys: keys}).Decode(ctx, data)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		wantCode(t, err, callbackurls.CodeInvalidPayload)
	}

	// A KMS-mode envelope (a well-formed one, with a 184-byte blob) on a
	// deployment with a keyring.
	kms := &payload.Codec{Keys: kmsLike{blob: make([]byte, 184), aead: aeadFor(t, secret(1))}}
	data, err = kms.Encode(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if raw := envelope(t, data); raw[0] != payload.ModeKMS || raw[1] != 0 || raw[2] != 184 {
		t.Fatalf("KMS envelope header %v", raw[:3])
	}
	if _, err := kms.Decode(ctx, data); err != nil {
		t.Fatalf("the KMS-like source cannot read its own payload: %v", err)
	}
	_, err = staticCodec(t).Decode(ctx, data)
	wantCode(t, err, callbackurls.CodeInvalidPayload)

	// Unknown mode bytes.
	raw := envelope(t, data)
	for _, mode := range []byte{0, 4, 0x7f, 0xff} {
		raw[0] = mode
		_, err := staticCodec(t).Decode(ctx, seal(raw))
		wantCode(t, err, callbackurls.CodeInvalidPayload)
	}
}

type kmsLike struct {
	blob []byte
	aead cipher.AEAD
}

func (k kmsLike) EncryptionKey(context.Context) (byte, []byte, cipher.AEAD, error) {
	return payload.ModeKMS, k.blob, k.aead, nil
}

func (k kmsLike) DecryptionKey(_ context.Context, mode byte, ref []byte) (cipher.AEAD, error) {
	if mode != payload.ModeKMS || len(ref) != len(k.blob) {
		return nil, callbackurls.Errorf(callbackurls.CodeInvalidPayload, "not ours")
	}
	return k.aead, nil
}

func aeadFor(t testing.TB, key []byte) cipher.AEAD {
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

// failingKeys fails like an unreachable KMS.
type failingKeys struct{}

func (failingKeys) EncryptionKey(context.Context) (byte, []byte, cipher.AEAD, error) {
	return 0, nil, nil, fmt.Errorf("kms: %w", callbackurls.ErrUnavailable)
}

func (failingKeys) DecryptionKey(context.Context, byte, []byte) (cipher.AEAD, error) {
	return nil, fmt.Errorf("kms: %w", callbackurls.ErrUnavailable)
}

func TestKeySourceOutage(t *testing.T) {
	ctx := context.Background()
	c := &payload.Codec{Keys: failingKeys{}}
	if _, err := c.Encode(ctx, &callbackurls.Payload{Target: callbackurls.TargetRef{ID: "t"}, Action: "a", Type: callbackurls.Heartbeat}); !errors.Is(err, callbackurls.ErrUnavailable) {
		t.Errorf("Encode: %v, want ErrUnavailable", err)
	}
	data, err := staticCodec(t).Encode(ctx, &callbackurls.Payload{Target: callbackurls.TargetRef{ID: "t"}, Action: "a", Type: callbackurls.Heartbeat})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Decode(ctx, data)
	if !errors.Is(err, callbackurls.ErrUnavailable) {
		t.Errorf("Decode: %v, want ErrUnavailable", err)
	}
	if e := callbackurls.AsError(err); e.Kind != callbackurls.Unavailable {
		t.Errorf("outage maps to %s, want %s", e.Kind, callbackurls.Unavailable)
	}
}

func TestFamilies(t *testing.T) {
	ctx := context.Background()
	p := &callbackurls.Payload{Target: callbackurls.TargetRef{ID: "t"}, Action: "a", Type: callbackurls.Heartbeat}
	one, err := (&payload.Codec{}).Encode(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	three, err := staticCodec(t).Encode(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		codec *payload.Codec
		data  string
		code  string
	}{
		{"1- on encrypted", staticCodec(t), one, callbackurls.CodeEncryptionRequired},
		{"3- on unencrypted", &payload.Codec{}, three, callbackurls.CodeDecryptionUnsupported},
		{"2- on encrypted", staticCodec(t), "2-AYADeHB2aXhS9A5a2K1Zq3a6V5sAbwAC", callbackurls.CodeInvalidPayload},
		{"2- on unencrypted", &payload.Codec{}, "2-AYADeHB2aXhS9A5a2K1Zq3a6V5sAbwAC", callbackurls.CodeDecryptionUnsupported},
		{"no prefix, encrypted", staticCodec(t), three[2:], callbackurls.CodeInvalidPayload},
		{"no prefix, unencrypted", &payload.Codec{}, one[2:], callbackurls.CodeInvalidPayload},
		{"empty", &payload.Codec{}, "", callbackurls.CodeInvalidPayload},
		{"4-", staticCodec(t), "4-" + three[2:], callbackurls.CodeInvalidPayload},
		{"too long", staticCodec(t), three + strings.Repeat("A", callbackurls.MaxDataLength), callbackurls.CodeInvalidPayload},
		{"too long, unencrypted", &payload.Codec{}, one + strings.Repeat("A", callbackurls.MaxDataLength), callbackurls.CodeInvalidPayload},
		{"1- not base64", &payload.Codec{}, "1-!!!!", callbackurls.CodeInvalidPayload},
		{"1- not JSON", &payload.Codec{}, "1-" + base64.URLEncoding.EncodeToString([]byte("not json")), callbackurls.CodeInvalidPayload},
		{"1- JSON array", &payload.Codec{}, "1-" + base64.URLEncoding.EncodeToString([]byte(`[1]`)), callbackurls.CodeInvalidPayload},
		{"1- no name", &payload.Codec{}, "1-" + base64.URLEncoding.EncodeToString([]byte(`{"token":"t","act":"heartbeat","data":{}}`)), callbackurls.CodeInvalidPayload},
		{"1- no token", &payload.Codec{}, "1-" + base64.URLEncoding.EncodeToString([]byte(`{"name":"a","act":"heartbeat","data":{}}`)), callbackurls.CodeInvalidPayload},
		{"1- unknown act", &payload.Codec{}, "1-" + base64.URLEncoding.EncodeToString([]byte(`{"token":"t","name":"a","act":"approve","data":{}}`)), callbackurls.CodeInvalidPayload},
		{"1- success without output", &payload.Codec{}, "1-" + base64.URLEncoding.EncodeToString([]byte(`{"token":"t","name":"a","act":"success","data":{}}`)), callbackurls.CodeInvalidPayload},
		{"1- iat a string", &payload.Codec{}, "1-" + base64.URLEncoding.EncodeToString([]byte(`{"token":"t","name":"a","act":"heartbeat","iat":"now","data":{}}`)), callbackurls.CodeInvalidPayload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.codec.Decode(ctx, tt.data)
			if got != nil {
				t.Errorf("payload with an error: %+v", got)
			}
			wantCode(t, err, tt.code)
		})
	}

	// The reference's padded urlsafe base64, and the unpadded form, both read.
	for _, data := range []string{one, strings.TrimRight(one, "=")} {
		if _, err := (&payload.Codec{}).Decode(ctx, data); err != nil {
			t.Errorf("Decode(%s): %v", data, err)
		}
	}
}

// Fuzzing.

func FuzzDecode(f *testing.F) {
	ctx := context.Background()
	enc := staticCodec(f)
	plain := &payload.Codec{}
	for _, tt := range roundTripCases() {
		for _, c := range []*payload.Codec{enc, plain} {
			data, err := c.Encode(ctx, &tt.p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	for _, s := range []string{"", "1-", "2-", "3-", "3-AQ", "3-AQJrMQ", "1-e30", "1-e30=", "1-bnVsbA==", "x", "3-" + strings.Repeat("A", 100),
		"1-" + base64.URLEncoding.EncodeToString([]byte(`{"token": "tok", "iat": 1700000000, "tid": "abc", "name": "approve", "act": "success", "data": {"output": {"a": 1}}}`))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		for _, c := range []*payload.Codec{enc, plain} {
			p, err := c.Decode(ctx, data)
			if err != nil {
				var e *callbackurls.Error
				if !errors.As(err, &e) {
					t.Fatalf("error %T %v is not a *callbackurls.Error", err, err)
				}
				if !clientKind(e.Kind) || e.Code == "" {
					t.Fatalf("error %+v is not a 4xx kind with a code", e)
				}
				if p != nil {
					t.Fatal("a payload with an error")
				}
				continue
			}
			if p.Target.ID == "" || p.Action == "" || !p.Type.Valid() || (p.Type == callbackurls.Success && p.Output == nil) {
				t.Fatalf("decoded an incomplete payload: %+v", p)
			}
			// What was read can be written and read again.
			again, err := c.Encode(ctx, p)
			if err != nil {
				continue // e.g. a 1- payload too large for the binary form
			}
			p2, err := c.Decode(ctx, again)
			if err != nil {
				t.Fatalf("re-encoded payload does not decode: %v", err)
			}
			if diff := cmp.Diff(p, p2, semanticJSON); diff != "" {
				t.Fatalf("re-encoded payload differs (-first +second):\n%s", diff)
			}
		}
	})
}

// Benchmarks.

func benchPayload() *callbackurls.Payload {
	return &callbackurls.Payload{Target: callbackurls.TargetRef{ID: corpus.Tokens()[0]}, TransactionID: "0123456789abcdef0123456789abcdef",
		IssuedAt: time.Unix(1767225600, 0).UTC(), Action: "approve", Type: callbackurls.Success,
		Output: json.RawMessage(`{"name_in_output":"Ben"}`)}
}

func benchEncode(b *testing.B, c *payload.Codec) {
	ctx := context.Background()
	p := benchPayload()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Encode(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
}

func benchDecode(b *testing.B, c *payload.Codec) {
	ctx := context.Background()
	data, err := c.Encode(ctx, benchPayload())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Decode(ctx, data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeStatic(b *testing.B)      { benchEncode(b, staticCodec(b)) }
func BenchmarkDecodeStatic(b *testing.B)      { benchDecode(b, staticCodec(b)) }
func BenchmarkEncodeUnencrypted(b *testing.B) { benchEncode(b, &payload.Codec{}) }
func BenchmarkDecodeUnencrypted(b *testing.B) { benchDecode(b, &payload.Codec{}) }

// FuzzDecodeJSON fuzzes the unencrypted form's JSON document itself
// (random base64 rarely decodes to JSON).
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"token": "tok", "iat": 1700000000, "tid": "abc", "name": "approve", "act": "success", "data": {"output": {"a": 1}}}`,
		`{"token":"t","name":"r","act":"failure","data":{"error":"e","cause":"c"},"par":true,"resp":{"redirect":"https://e.com"}}`,
		`{"token":"t","name":"p","act":"heartbeat","data":{},"exp":1700000000,"pres":{"title":"x"}}`,
		`{"token":"t","name":"h","act":"post","data":{"outcomes":[]}}`,
		`{"token":"t","name":"a","act":"success","data":{"output":null}}`,
		`{}`, `null`, `[]`, `{"token":1}`,
	} {
		f.Add([]byte(s))
	}
	ctx := context.Background()
	c := &payload.Codec{}
	f.Fuzz(func(t *testing.T, doc []byte) {
		for _, data := range []string{
			payload.PrefixUnencrypted + base64.URLEncoding.EncodeToString(doc),
			payload.PrefixUnencrypted + base64.RawURLEncoding.EncodeToString(doc),
		} {
			p, err := c.Decode(ctx, data)
			if err != nil {
				var e *callbackurls.Error
				if !errors.As(err, &e) || e.Kind != callbackurls.BadInput || e.Code != callbackurls.CodeInvalidPayload {
					t.Fatalf("error %v, want InvalidPayload", err)
				}
				continue
			}
			if p.Target.ID == "" || p.Action == "" || !p.Type.Valid() || (p.Type == callbackurls.Success && p.Output == nil) {
				t.Fatalf("decoded an incomplete payload: %+v", p)
			}
			again, err := c.Encode(ctx, p)
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			p2, err := c.Decode(ctx, again)
			if err != nil {
				t.Fatalf("re-encoded payload does not decode: %v", err)
			}
			if diff := cmp.Diff(p, p2, semanticJSON); diff != "" {
				t.Fatalf("re-encoded payload differs (-first +second):\n%s", diff)
			}
			// And it survives the encrypted form too.
			if sealed, err := staticCodec(t).Encode(ctx, p); err == nil {
				p3, err := staticCodec(t).Decode(ctx, sealed)
				if err != nil {
					t.Fatalf("sealed payload does not decode: %v", err)
				}
				if diff := cmp.Diff(p, p3, semanticJSON); diff != "" {
					t.Fatalf("sealed payload differs (-first +second):\n%s", diff)
				}
			}
		}
	})
}

// clientKind reports whether k is a kind the edge answers with a 4xx.
func clientKind(k callbackurls.Kind) bool {
	switch k {
	case callbackurls.BadInput, callbackurls.NotFound, callbackurls.NotAllowed, callbackurls.TooLarge, callbackurls.UnsupportedMedia:
		return true
	}
	return false
}

// hmacLike is a KeySource naming its key as KMS HMAC mode does: a
// fixed-size reference and no length byte.
type hmacLike struct {
	ref  []byte
	aead cipher.AEAD
}

func (k hmacLike) EncryptionKey(context.Context) (byte, []byte, cipher.AEAD, error) {
	return payload.ModeKMSHMAC, k.ref, k.aead, nil
}

func (k hmacLike) DecryptionKey(_ context.Context, mode byte, ref []byte) (cipher.AEAD, error) {
	if mode != payload.ModeKMSHMAC || !bytes.Equal(ref, k.ref) {
		return nil, callbackurls.Errorf(callbackurls.CodeInvalidPayload, "not ours")
	}
	return k.aead, nil
}

// TestHMACModeHeader: mode 3's header is the mode byte and the 16-byte
// reference, with no length, authenticated like the others.
func TestHMACModeHeader(t *testing.T) {
	ctx := context.Background()
	p := &callbackurls.Payload{Target: callbackurls.TargetRef{ID: "tok"}, Action: "a", Type: callbackurls.Heartbeat}
	ref := []byte("TAG!identifier12")
	c := &payload.Codec{Keys: hmacLike{ref: ref, aead: aeadFor(t, secret(5))}}
	data, err := c.Encode(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	raw := envelope(t, data)
	if raw[0] != payload.ModeKMSHMAC || !bytes.Equal(raw[1:17], ref) {
		t.Fatalf("header % x, want 03 and the reference", raw[:17])
	}
	if got, err := c.Decode(ctx, data); err != nil || got.Target.ID != "tok" {
		t.Fatalf("Decode: %+v, %v", got, err)
	}
	// Every header byte is authenticated: a reference the source also
	// accepts but that differs fails the tag.
	for i := 1; i < 17; i++ {
		moved := bytes.Clone(raw)
		moved[i] ^= 1
		other := &payload.Codec{Keys: hmacLike{ref: moved[1:17], aead: aeadFor(t, secret(5))}}
		_, err := other.Decode(ctx, seal(moved))
		wantCode(t, err, callbackurls.CodeInvalidPayload)
	}
	// Too short for the reference, nonce and tag.
	_, err = c.Decode(ctx, seal(raw[:1+16+12+15]))
	wantCode(t, err, callbackurls.CodeInvalidPayload)
	// A source handing out a reference of another size is refused: a fault
	// of the key back end, not of the request (500).
	for _, n := range []int{0, 15, 17, 184} {
		bad := &payload.Codec{Keys: hmacLike{ref: make([]byte, n), aead: aeadFor(t, secret(5))}}
		_, err := bad.Encode(ctx, p)
		wantCode(t, err, callbackurls.CodeEncryptionFailed)
	}
}

// TestUnencryptedExpirationOffset: exp_offset is read only as the offset
// of an expiration, within RFC 3339's range.
func TestUnencryptedExpirationOffset(t *testing.T) {
	ctx := context.Background()
	doc := func(extra string) string {
		return payload.PrefixUnencrypted + base64.URLEncoding.EncodeToString([]byte(
			`{"token":"tok","name":"ping","act":"heartbeat","data":{}`+extra+`}`))
	}
	got, err := (&payload.Codec{}).Decode(ctx, doc(`,"exp":1800000000,"exp_offset":-600`))
	if err != nil {
		t.Fatal(err)
	}
	if _, off := got.Expiration.Zone(); off != -600*60 || got.Expiration.Unix() != 1800000000 {
		t.Errorf("expiration %v, want 1800000000 at -10:00", got.Expiration)
	}
	for _, extra := range []string{`,"exp_offset":60`, `,"exp":1800000000,"exp_offset":1440`, `,"exp":1800000000,"exp_offset":-1440`, `,"exp":1800000000,"exp_offset":"60"`} {
		_, err := (&payload.Codec{}).Decode(ctx, doc(extra))
		wantCode(t, err, callbackurls.CodeInvalidPayload)
	}
}
