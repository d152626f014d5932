package kmskeys_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// benchPayload is the approve payload of the reference's example with a
// real token.
func benchPayload() *callbackurls.Payload {
	return &callbackurls.Payload{
		Target: callbackurls.TargetRef{ID: token}, TransactionID: "0123456789abcdef0123456789abcdef",
		IssuedAt: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
		Action:   "approve", Type: callbackurls.Success, Output: json.RawMessage(`{"name_in_output":"Ben"}`),
	}
}

func benchEncode(b *testing.B, keys payload.KeySource) {
	ctx := context.Background()
	codec := &payload.Codec{Keys: keys}
	p := benchPayload()
	if _, err := codec.Encode(ctx, p); err != nil { // warm the data key
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := codec.Encode(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
}

func benchDecode(b *testing.B, keys payload.KeySource) {
	ctx := context.Background()
	codec := &payload.Codec{Keys: keys}
	data, err := codec.Encode(ctx, benchPayload())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := codec.Decode(ctx, data); err != nil { // warm the cache
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := codec.Decode(ctx, data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncryptKMSWarm seals a payload with a cached data key: no KMS
// call.
func BenchmarkEncryptKMSWarm(b *testing.B) {
	benchEncode(b, newSource(b, kmstest.New(b), kmskeys.Options{}))
}

// BenchmarkDecryptKMSWarm opens a payload whose data key is cached: no KMS
// call.
func BenchmarkDecryptKMSWarm(b *testing.B) {
	benchDecode(b, newSource(b, kmstest.New(b), kmskeys.Options{}))
}

// BenchmarkDecryptKMSCold opens a payload with a Decrypt call every time
// (to the local stand-in, so this is the SDK's cost plus loopback HTTP,
// not KMS's latency).
func BenchmarkDecryptKMSCold(b *testing.B) {
	ctx := context.Background()
	srv := kmstest.New(b)
	data, err := (&payload.Codec{Keys: newSource(b, srv, kmskeys.Options{})}).Encode(ctx, benchPayload())
	if err != nil {
		b.Fatal(err)
	}
	codec := &payload.Codec{Keys: newSource(b, srv, kmskeys.Options{CacheSize: -1, ColdCallsPerSecond: -1})}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := codec.Decode(ctx, data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncryptHMACWarm, BenchmarkDecryptHMACWarm and
// BenchmarkDecryptHMACCold are the same in HMAC mode (GenerateMac).
func BenchmarkEncryptHMACWarm(b *testing.B) {
	benchEncode(b, newSource(b, kmstest.New(b), kmskeys.Options{KeyID: kmstest.HMACAlias}))
}

func BenchmarkDecryptHMACWarm(b *testing.B) {
	benchDecode(b, newSource(b, kmstest.New(b), kmskeys.Options{KeyID: kmstest.HMACAlias}))
}

func BenchmarkDecryptHMACCold(b *testing.B) {
	ctx := context.Background()
	srv := kmstest.New(b)
	data, err := (&payload.Codec{Keys: newSource(b, srv, kmskeys.Options{KeyID: kmstest.HMACAlias})}).Encode(ctx, benchPayload())
	if err != nil {
		b.Fatal(err)
	}
	codec := &payload.Codec{Keys: newSource(b, srv, kmskeys.Options{KeyID: kmstest.HMACAlias, CacheSize: -1, ColdCallsPerSecond: -1})}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := codec.Decode(ctx, data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecryptOverBound is a forged URL's cost once the bound on cold
// calls is spent: no KMS call, a 503.
func BenchmarkDecryptOverBound(b *testing.B) {
	ctx := context.Background()
	srv := kmstest.New(b)
	data, err := (&payload.Codec{Keys: newSource(b, srv, kmskeys.Options{KeyID: kmstest.HMACAlias})}).Encode(ctx, benchPayload())
	if err != nil {
		b.Fatal(err)
	}
	clk := newClock()
	codec := &payload.Codec{Keys: newSource(b, srv, kmskeys.Options{KeyID: kmstest.HMACAlias, ColdCallsPerSecond: 1, ColdCallsBurst: 1, Now: clk.Now})}
	// Another data key's URL spends the only token.
	other, _ := (&payload.Codec{Keys: newSource(b, srv, kmskeys.Options{KeyID: kmstest.HMACAlias})}).Encode(ctx, benchPayload())
	if _, err := codec.Decode(ctx, other); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := codec.Decode(ctx, data); err == nil {
			b.Fatal("opened over the bound")
		}
	}
}

// BenchmarkEncryptStatic and BenchmarkDecryptStatic are the same work
// with a static keyring, for comparison.
func BenchmarkEncryptStatic(b *testing.B) { benchEncode(b, newKeyring(b)) }

func BenchmarkDecryptStatic(b *testing.B) { benchDecode(b, newKeyring(b)) }
