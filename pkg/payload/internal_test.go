package payload

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// staticKeys is a one-key KeySource (the keyring package imports this one,
// so its tests cannot use it).
type staticKeys struct {
	id   []byte
	aead cipher.AEAD
}

func newStaticKeys(t testing.TB, id string) *staticKeys {
	t.Helper()
	key := bytes.Repeat([]byte{0x42}, 32)
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return &staticKeys{id: []byte(id), aead: aead}
}

func (k *staticKeys) EncryptionKey(context.Context) (byte, []byte, cipher.AEAD, error) {
	return ModeStaticKey, k.id, k.aead, nil
}

func (k *staticKeys) DecryptionKey(_ context.Context, mode byte, ref []byte) (cipher.AEAD, error) {
	if mode != ModeStaticKey || !bytes.Equal(ref, k.id) {
		return nil, invalid("unknown key")
	}
	return k.aead, nil
}

// sealPlain seals an arbitrary plaintext the way seal does.
func sealPlain(t testing.TB, k *staticKeys, plain []byte) string {
	t.Helper()
	buf := appendHeader(nil, ModeStaticKey, k.id)
	ad := append([]byte(adPrefix), buf...)
	nonce := make([]byte, nonceSize)
	if _, err := rand.Read(nonce); err != nil {
		t.Fatal(err)
	}
	buf = append(buf, nonce...)
	buf = k.aead.Seal(buf, nonce, plain, ad)
	return PrefixEncrypted + base64.RawURLEncoding.EncodeToString(buf)
}

func wantInvalid(t testing.TB, err error) {
	t.Helper()
	var e *callbackurls.Error
	if !errors.As(err, &e) || e.Code != callbackurls.CodeInvalidPayload || e.Kind != callbackurls.BadInput {
		t.Fatalf("got %v, want InvalidPayload", err)
	}
}

func TestSealPlainMatchesSeal(t *testing.T) {
	// The helper must be faithful for the crafted-plaintext tests to mean
	// anything: a plaintext from marshalBinary sealed by it decodes.
	k := newStaticKeys(t, "kt")
	p := &callbackurls.Payload{Target: callbackurls.TargetRef{ID: "tok"}, Action: "ping", Type: callbackurls.Heartbeat}
	plain, err := marshalBinary(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := (&Codec{Keys: k}).Decode(context.Background(), sealPlain(t, k, plain))
	if err != nil || got.Target.ID != "tok" || got.Action != "ping" {
		t.Fatalf("Decode = %+v, %v", got, err)
	}
}

func TestCorpusTokensUseBase64Kind(t *testing.T) {
	ctx := context.Background()
	c := &Codec{Keys: newStaticKeys(t, "kt")}
	for i, tok := range corpus.Tokens() {
		enc := appendToken(nil, tok)
		if enc[0] != tokenBase64 {
			t.Errorf("corpus token %d is stored as text", i)
			continue
		}
		if saved := len(tok) + 1 - len(enc); saved < len(tok)/5 {
			t.Errorf("corpus token %d: compact form saves only %d of %d bytes", i, saved, len(tok))
		}
		// The same length of text that is not base64 makes a longer URL
		// (deflate wins back most of the difference from the 64-letter
		// alphabet, but not all of it).
		p := &callbackurls.Payload{Target: callbackurls.TargetRef{ID: tok}, TransactionID: "0123456789abcdef0123456789abcdef",
			Action: "approve", Type: callbackurls.Success, Output: json.RawMessage(`{"name_in_output":"Ben"}`)}
		compact, err := c.Encode(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		p.Target.ID = "*" + tok[1:]
		if appendToken(nil, p.Target.ID)[0] != tokenText {
			t.Fatal("the text variant is not stored as text")
		}
		text, err := c.Encode(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(compact) > len(text)-40 {
			t.Errorf("corpus token %d: data %d characters, %d with the text kind", i, len(compact), len(text))
		}
		t.Logf("corpus token %d (%d chars): data %d chars with the base64 kind, %d with the text kind", i, len(tok), len(compact), len(text))
	}
}

func TestTokenEncodingKinds(t *testing.T) {
	tests := []struct {
		token string
		kind  byte
	}{
		{"QQ==", tokenBase64},
		{"QQ==QQ==", tokenBase64},
		{"QUJD", tokenBase64},
		{"QQ", tokenBase64},           // unpadded last segment
		{"QUI=QQ", tokenBase64},       // padded then unpadded
		{"QR==", tokenText},           // non-canonical padding bits
		{"Q", tokenText},              // impossible length
		{"=", tokenText},              // padding alone
		{"==", tokenText},             //
		{"a=", tokenText},             // short padded segment
		{"AAAA=", tokenText},          // padding after a full quantum
		{"QQ===", tokenText},          // too much padding
		{"QQ\nQQ", tokenText},         // the decoder skips newlines
		{"QQ\r\n==", tokenText},       //
		{"QQ==\n", tokenText},         //
		{"Q-_A", tokenText},           // URL alphabet
		{"a b", tokenText},            //
		{"", tokenBase64},             // no segments
		{"QUJD\x00", tokenText},       //
		{"QQ==QQ", tokenBase64},       //
		{"QQ==QR==", tokenText},       // second segment non-canonical
		{"QUJDRA==RA==", tokenBase64}, //
	}
	for _, tt := range tests {
		enc := appendToken(nil, tt.token)
		if enc[0] != tt.kind {
			t.Errorf("appendToken(%q) kind %d, want %d", tt.token, enc[0], tt.kind)
		}
		got, err := readToken(enc)
		if err != nil || got != tt.token {
			t.Errorf("readToken(appendToken(%q)) = %q, %v", tt.token, got, err)
		}
	}
}

func TestReadTokenRejectsDamage(t *testing.T) {
	for _, b := range [][]byte{
		nil,
		{2},                                     // unknown kind
		{tokenBase64, 0x80},                     // truncated uvarint
		{tokenBase64, 0},                        // empty segment
		{tokenBase64, 4 << 1},                   // segment longer than the rest
		{tokenBase64, 1 << 1, 'a', 1 << 1, 'b'}, // unpadded segment that is not last
		{tokenBase64, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, // uvarint overflow
	} {
		if got, err := readToken(b); err == nil {
			t.Errorf("readToken(%v) = %q, want an error", b, got)
		}
	}
}

func FuzzTokenRoundTrip(f *testing.F) {
	for _, s := range append(corpus.Tokens(), "", "=", "==", "a=", "AAAA=", "QQ==QQ==", "QQ", "Q", "QR==", "QQ\n==", "é漢😀", "\xff\xfe", "a b+c/d%26&e") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		enc := appendToken(nil, token)
		got, err := readToken(enc)
		if err != nil {
			t.Fatalf("readToken(appendToken(%q)): %v", token, err)
		}
		if got != token {
			t.Fatalf("round trip of %q gave %q", token, got)
		}
		if enc[0] == tokenBase64 && len(enc) > len(token)+1 {
			t.Fatalf("the base64 kind of %q is longer (%d) than text (%d)", token, len(enc), len(token)+1)
		}
		// Appending after other bytes works the same.
		prefixed := appendToken([]byte("xyz"), token)
		if !bytes.Equal(prefixed[3:], enc) {
			t.Fatalf("appendToken depends on dst")
		}
	})
}

// deflatedSuccess is the plaintext of a deflated success payload whose
// output is a string of outputLen letters.
func deflatedSuccess(outputLen int) []byte {
	fields := appendField(nil, fieldToken, appendToken(nil, "tok"))
	fields = appendField(fields, fieldAction, []byte("approve"))
	fields = appendField(fields, fieldOutput, []byte(`"`+strings.Repeat("a", outputLen)+`"`))
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	_, _ = w.Write(fields)
	_ = w.Close()
	return append([]byte{layoutV1, 1 | flagDeflated}, buf.Bytes()...)
}

// bombSize is what a decompression bomb inflates to: megabytes from a data
// parameter that fits a URL.
const bombSize = 8 << 20

func TestDecompressionBound(t *testing.T) {
	k := newStaticKeys(t, "kt")
	c := &Codec{Keys: k}
	ctx := context.Background()

	// Control: a small deflated plaintext opens.
	p, err := c.Decode(ctx, sealPlain(t, k, deflatedSuccess(1000)))
	if err != nil || len(p.Output) != 1002 {
		t.Fatalf("small deflated payload: %v", err)
	}
	// Fields of exactly maxPlaintext bytes open; one more does not.
	exact := maxPlaintext - len(appendField(nil, fieldToken, appendToken(nil, "tok"))) - len(appendField(nil, fieldAction, []byte("approve"))) - 3 - 2
	plain := deflatedSuccess(exact)
	if fields, err := inflate(plain[2:]); err != nil || len(fields) != maxPlaintext {
		t.Fatalf("inflated %d bytes, %v; want exactly %d", len(fields), err, maxPlaintext)
	}
	if _, err := c.Decode(ctx, sealPlain(t, k, plain)); err != nil {
		t.Errorf("fields of exactly maxPlaintext bytes: %v", err)
	}
	_, err = c.Decode(ctx, sealPlain(t, k, deflatedSuccess(exact+1)))
	wantInvalid(t, err)

	// A bomb.
	data := sealPlain(t, k, deflatedSuccess(bombSize))
	if len(data) > callbackurls.MaxDataLength {
		t.Fatalf("the bomb does not fit a URL: %d", len(data))
	}
	start := time.Now()
	_, err = c.Decode(ctx, data)
	wantInvalid(t, err)
	// How fast it is refused is BenchmarkDecodeBomb's to track.
	t.Logf("bomb: %d-character data parameter for %d bytes of fields, refused in %v", len(data), bombSize, time.Since(start))

	// Encode refuses what Decode would refuse, even when it compresses well.
	_, err = c.Encode(ctx, &callbackurls.Payload{Target: callbackurls.TargetRef{ID: "tok"}, Action: "approve", Type: callbackurls.Success,
		Output: json.RawMessage(`"` + strings.Repeat("a", maxPlaintext) + `"`)})
	var e *callbackurls.Error
	if !errors.As(err, &e) || e.Code != callbackurls.CodeURLTooLong || e.Kind != callbackurls.BadInput {
		t.Errorf("Encode of an oversized payload: %v, want UrlTooLong", err)
	}
}

// BenchmarkDecodeBomb is the refusal of a decompression bomb: it stops
// inflating at maxPlaintext, so it costs about as much as opening the
// largest payload, not as inflating megabytes.
func BenchmarkDecodeBomb(b *testing.B) {
	k := newStaticKeys(b, "kt")
	c := &Codec{Keys: k}
	ctx := context.Background()
	data := sealPlain(b, k, deflatedSuccess(bombSize))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Decode(ctx, data); err == nil {
			b.Fatal("the bomb was opened")
		}
	}
}

func TestUnmarshalBinaryRejectsDamage(t *testing.T) {
	tok := appendToken(nil, "tok")
	field := func(tag byte, v []byte) []byte { return appendField(nil, tag, v) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	good := cat(field(fieldToken, tok), field(fieldAction, []byte("a")))
	secs := func(n uint64) []byte { return binary.AppendUvarint(nil, n) }
	heartbeat := byte(3)
	tests := []struct {
		name  string
		plain []byte
	}{
		{"empty", nil},
		{"layout only", []byte{layoutV1}},
		{"unknown layout", cat([]byte{2, heartbeat}, good)},
		{"type 0", cat([]byte{layoutV1, 0}, good)},
		{"type 5", cat([]byte{layoutV1, 5}, good)},
		{"type 7", cat([]byte{layoutV1, 7}, good)},
		{"unknown flag", cat([]byte{layoutV1, heartbeat | 1<<5}, good)},
		{"no fields", []byte{layoutV1, heartbeat}},
		{"no token", []byte{layoutV1, heartbeat, fieldAction, 1, 'a'}},
		{"no action", cat([]byte{layoutV1, heartbeat}, field(fieldToken, tok))},
		{"empty action", cat([]byte{layoutV1, heartbeat}, field(fieldToken, tok), field(fieldAction, nil))},
		{"empty token", cat([]byte{layoutV1, heartbeat}, field(fieldToken, []byte{tokenText}), field(fieldAction, []byte("a")))},
		{"bad token", cat([]byte{layoutV1, heartbeat}, field(fieldToken, []byte{9, 'x'}), field(fieldAction, []byte("a")))},
		{"success without output", cat([]byte{layoutV1, 1}, good)},
		{"duplicate field", cat([]byte{layoutV1, heartbeat}, good, field(fieldAction, []byte("b")))},
		{"tag 0", cat([]byte{layoutV1, heartbeat}, good, field(0, []byte("x")))},
		{"unknown tag", cat([]byte{layoutV1, heartbeat}, good, field(lastField+1, []byte("x")))},
		{"expiration offset without expiration", cat([]byte{layoutV1, heartbeat}, good, field(fieldExpirationOffset, binary.AppendVarint(nil, 60)))},
		{"expiration offset 0", cat([]byte{layoutV1, heartbeat}, good, field(fieldExpiration, secs(1700000000)), field(fieldExpirationOffset, binary.AppendVarint(nil, 0)))},
		{"expiration offset 24:00", cat([]byte{layoutV1, heartbeat}, good, field(fieldExpiration, secs(1700000000)), field(fieldExpirationOffset, binary.AppendVarint(nil, 24*60)))},
		{"expiration offset -24:00", cat([]byte{layoutV1, heartbeat}, good, field(fieldExpiration, secs(1700000000)), field(fieldExpirationOffset, binary.AppendVarint(nil, -24*60)))},
		{"expiration offset with trailing byte", cat([]byte{layoutV1, heartbeat}, good, field(fieldExpiration, secs(1700000000)), field(fieldExpirationOffset, append(binary.AppendVarint(nil, 60), 0)))},
		{"expiration offset twice", cat([]byte{layoutV1, heartbeat}, good, field(fieldExpiration, secs(1700000000)), field(fieldExpirationOffset, binary.AppendVarint(nil, 60)), field(fieldExpirationOffset, binary.AppendVarint(nil, 60)))},
		{"tag 255", cat([]byte{layoutV1, heartbeat}, good, field(255, []byte("x")))},
		{"length past the end", cat([]byte{layoutV1, heartbeat}, good, []byte{fieldError, 5, 'x'})},
		{"tag without length", cat([]byte{layoutV1, heartbeat}, good, []byte{fieldError})},
		{"huge length", cat([]byte{layoutV1, heartbeat}, good, []byte{fieldError, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})},
		{"issued at 0", cat([]byte{layoutV1, heartbeat}, good, field(fieldIssuedAt, secs(0)))},
		{"issued at far future", cat([]byte{layoutV1, heartbeat}, good, field(fieldIssuedAt, secs(1<<41)))},
		{"expiration with trailing byte", cat([]byte{layoutV1, heartbeat}, good, field(fieldExpiration, append(secs(1700000000), 0)))},
		{"expiration empty", cat([]byte{layoutV1, heartbeat}, good, field(fieldExpiration, nil))},
		{"deflate flag on raw fields", cat([]byte{layoutV1, heartbeat | flagDeflated}, good)},
		{"truncated deflate stream", cat([]byte{layoutV1, heartbeat | flagDeflated}, deflate(good)[:4])},
	}
	k := newStaticKeys(t, "kt")
	c := &Codec{Keys: k}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if p, err := unmarshalBinary(tt.plain); err == nil {
				t.Errorf("unmarshalBinary accepted %v: %+v", tt.plain, p)
			}
			_, err := c.Decode(context.Background(), sealPlain(t, k, tt.plain))
			wantInvalid(t, err)
		})
	}
	// The well-formed base of these cases is accepted.
	if _, err := unmarshalBinary(cat([]byte{layoutV1, heartbeat}, good)); err != nil {
		t.Fatalf("the good plaintext: %v", err)
	}
	if _, err := unmarshalBinary(cat([]byte{layoutV1, heartbeat | flagDeflated}, deflate(good))); err != nil {
		t.Fatalf("the good plaintext deflated: %v", err)
	}
}

// TestExpirationOffsetField: the offset costs 4 bytes of plaintext and
// nothing when the expiration is UTC, so that UTC payloads are the bytes
// they were before the field existed.
func TestExpirationOffsetField(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2027, 1, 2, 2, 4, 5, 0, time.UTC)
	p := callbackurls.Payload{Target: callbackurls.TargetRef{ID: "t"}, Action: "a", Type: callbackurls.Heartbeat, Expiration: at}
	utc, err := marshalBinary(&p)
	if err != nil {
		t.Fatal(err)
	}
	p.Expiration = at.In(time.FixedZone("", -5*3600))
	zoned, err := marshalBinary(&p)
	if err != nil {
		t.Fatal(err)
	}
	// tag 13, length 2, zigzag varint of -300 minutes.
	if want := append(append([]byte(nil), utc...), 13, 2, 0xd7, 0x04); !bytes.Equal(zoned, want) {
		t.Errorf("plaintext with -05:00 is\n% x, want\n% x", zoned, want)
	}
	// The unencrypted form carries it as exp_offset, in minutes.
	data, err := (&Codec{}).Encode(ctx, &p)
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := base64.URLEncoding.DecodeString(strings.TrimPrefix(data, PrefixUnencrypted))
	if !bytes.Contains(doc, []byte(`"exp_offset":-300`)) {
		t.Errorf("1- document %s has no exp_offset -300", doc)
	}
}

func TestDeflateOnlyWhenShorter(t *testing.T) {
	for _, tc := range []struct {
		output string
		want   bool
	}{
		{`{"name_in_output":"Ben"}`, false},
		{`"` + strings.Repeat("abc", 400) + `"`, true},
	} {
		plain, err := marshalBinary(&callbackurls.Payload{Target: callbackurls.TargetRef{ID: corpus.Tokens()[0]}, TransactionID: "0123456789abcdef0123456789abcdef",
			Action: "approve", Type: callbackurls.Success, Output: json.RawMessage(tc.output)})
		if err != nil {
			t.Fatal(err)
		}
		if got := plain[1]&flagDeflated != 0; got != tc.want {
			t.Errorf("output of %d bytes: deflated %t, want %t", len(tc.output), got, tc.want)
		}
	}
}

// TestVectorsCoverFormat checks that the known-answer vectors exercise
// what their names say (deflate, both token kinds), so that they keep
// guarding those paths of the format.
func TestVectorsCoverFormat(t *testing.T) {
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Key struct {
			ID     string `json:"id"`
			Secret []byte `json:"secret"`
		} `json:"key"`
		Vectors []struct {
			Name string `json:"name"`
			Data string `json:"data"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(f.Key.Secret)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	var deflated, stored, b64, text int
	for _, v := range f.Vectors {
		if !strings.HasPrefix(v.Data, PrefixEncrypted) {
			continue
		}
		raw, err := base64.RawURLEncoding.DecodeString(v.Data[len(PrefixEncrypted):])
		if err != nil {
			t.Fatal(err)
		}
		h, err := parseHeader(raw)
		if err != nil {
			t.Fatal(err)
		}
		ad := append([]byte(adPrefix), raw[:h.end]...)
		plain, err := aead.Open(nil, raw[h.end:h.end+nonceSize], raw[h.end+nonceSize:], ad)
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		fields := plain[2:]
		if plain[1]&flagDeflated != 0 {
			deflated++
			if fields, err = inflate(fields); err != nil {
				t.Fatal(err)
			}
		} else {
			stored++
		}
		if strings.Contains(v.Name, "deflated") && plain[1]&flagDeflated == 0 {
			t.Errorf("%s: deflated flag %t", v.Name, plain[1]&flagDeflated != 0)
		}
		// The token is the first field.
		if fields[0] != fieldToken {
			t.Fatalf("%s: first field %d", v.Name, fields[0])
		}
		if got, want := hasField(t, fields, fieldExpirationOffset), strings.Contains(v.Name, "UTC offset"); got != want {
			t.Errorf("%s: expiration offset field present %t, want %t", v.Name, got, want)
		}
		for _, f := range []struct {
			tag  byte
			word string
		}{{fieldApprovers, "approvers"}, {fieldRequester, "requester"}, {fieldApprovalFlags, "receipt"}} {
			if got, want := hasField(t, fields, f.tag), strings.Contains(v.Name, f.word); got != want {
				t.Errorf("%s: field %d present %t, want %t", v.Name, f.tag, got, want)
			}
		}
		_, k := binary.Uvarint(fields[1:])
		switch fields[1+k] {
		case tokenBase64:
			b64++
		case tokenText:
			text++
			if !strings.Contains(v.Name, "text token") {
				t.Errorf("%s: token stored as text", v.Name)
			}
		}
	}
	if deflated == 0 || stored == 0 || b64 == 0 || text == 0 {
		t.Errorf("vectors cover deflated %d, stored %d, base64 tokens %d, text tokens %d times", deflated, stored, b64, text)
	}
}

// hasField reports whether a layout 1 field list holds tag.
func hasField(t *testing.T, fields []byte, tag byte) bool {
	t.Helper()
	for len(fields) > 0 {
		n, k := binary.Uvarint(fields[1:])
		if k <= 0 || n > uint64(len(fields)-1-k) {
			t.Fatalf("damaged field list")
		}
		if fields[0] == tag {
			return true
		}
		fields = fields[1+k+int(n):]
	}
	return false
}

// FuzzOpenPlaintext fuzzes the binary layout behind a valid seal: any
// plaintext, authenticated with a real key, is either refused with
// InvalidPayload or opens to a payload that seals and opens again equal.
func FuzzOpenPlaintext(f *testing.F) {
	tok := appendToken(nil, corpus.Tokens()[0])
	good := appendField(appendField(nil, fieldToken, tok), fieldAction, []byte("approve"))
	full, err := marshalBinary(&callbackurls.Payload{Target: callbackurls.TargetRef{ID: corpus.Tokens()[3]}, TransactionID: "00ff", Action: "a",
		Type: callbackurls.Success, Output: json.RawMessage(`{"k":[1,2,3]}`), Error: "e", Cause: "c",
		IssuedAt: time.Unix(1700000000, 0), Expiration: time.Unix(1800000000, 0), Parameters: true,
		Response: json.RawMessage(`{"text":"t"}`), Presentation: json.RawMessage(`{}`)})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(append([]byte{layoutV1, 3}, good...))
	f.Add(append([]byte{layoutV1, 3 | flagDeflated}, deflate(good)...))
	f.Add(full)
	f.Add([]byte{})
	k := newStaticKeys(f, "kt")
	c := &Codec{Keys: k}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, plain []byte) {
		p, err := c.Decode(ctx, sealPlain(t, k, plain))
		if err != nil {
			wantInvalid(t, err)
			return
		}
		data, err := c.Encode(ctx, p)
		if err != nil {
			return // e.g. an expiration Encode refuses to write
		}
		p2, err := c.Decode(ctx, data)
		if err != nil {
			t.Fatalf("re-sealed payload does not open: %v", err)
		}
		if p.Target.ID != p2.Target.ID || p.Action != p2.Action || p.Type != p2.Type || p.TransactionID != p2.TransactionID ||
			!bytes.Equal(p.Output, p2.Output) || p.Error != p2.Error || p.Cause != p2.Cause ||
			!p.IssuedAt.Equal(p2.IssuedAt) || !p.Expiration.Equal(p2.Expiration) || p.Parameters != p2.Parameters {
			t.Fatalf("re-sealed payload differs:\n%+v\n%+v", p, p2)
		}
	})
}
