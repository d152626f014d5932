package kmskeys_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// FuzzDecodeKMS feeds the decoder of a KMS deployment with keys of both
// kinds arbitrary data parameters, with real key references in the seeds
// so that mutations reach KMS (an altered encrypted key or identifier)
// and the payload cipher (an altered body). Whatever comes in, the answer
// is a payload or a 4xx, never a 5xx: the stand-in never fails on its
// own, so a 5xx would be a misclassified input.
func FuzzDecodeKMS(f *testing.F) {
	ctx := context.Background()
	srv := kmstest.New(f)
	// No bound on cold calls: the fuzzer makes thousands, and the bound's
	// 503 is not what this test is about.
	opener, err := kmskeys.New(ctx, srv.Client(ctx), kmskeys.Options{KeyID: kmstest.Alias, PreviousKeyIDs: []string{kmstest.HMACAlias}, ColdCallsPerSecond: -1})
	if err != nil {
		f.Fatal(err)
	}
	codec := &payload.Codec{Keys: opener}
	for _, m := range modes {
		creator, err := kmskeys.New(ctx, srv.Client(ctx), m.opts())
		if err != nil {
			f.Fatal(err)
		}
		headerLen := 187
		if m.kind == kmskeys.HMAC {
			headerLen = 1 + payload.HMACKeyRefSize
		}
		for _, p := range []*callbackurls.Payload{
			benchPayload(),
			{Target: callbackurls.TargetRef{ID: "t"}, Action: "ping", Type: callbackurls.Heartbeat},
			{Target: callbackurls.TargetRef{ID: strings.Repeat("QUJD", 170) + "==QQ=="}, Action: "reject", Type: callbackurls.Failure, Error: "e", Cause: strings.Repeat("c", 300)},
		} {
			data, err := (&payload.Codec{Keys: creator}).Encode(ctx, p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
			raw, _ := base64.RawURLEncoding.DecodeString(data[2:])
			f.Add("3-" + base64.RawURLEncoding.EncodeToString(raw[:headerLen]))
		}
	}
	f.Add("3-Aw")
	f.Add("3-")
	f.Add("3-AgC4")
	f.Add("1-e30")
	f.Add("2-AYAAA")
	f.Add("3-" + base64.RawURLEncoding.EncodeToString(append([]byte{2, 0xff, 0xff}, make([]byte, 64)...)))

	f.Fuzz(func(t *testing.T, data string) {
		p, err := codec.Decode(ctx, data)
		if err == nil {
			if p.Target.ID == "" || p.Action == "" || !p.Type.Valid() {
				t.Fatalf("decoded an incomplete payload: %+v", p)
			}
			return
		}
		e := callbackurls.AsError(err)
		// Bad input is never a 5xx kind (Unavailable, Internal).
		if e.Kind == callbackurls.Unavailable || e.Kind == callbackurls.Internal || errors.Is(err, callbackurls.ErrUnavailable) {
			t.Fatalf("Decode(%q): %s %s: %v", data, e.Kind, e.Code, err)
		}
	})
}
