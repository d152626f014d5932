package kmskeys_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// hmacVectorsPath holds known answers of the HMAC key mode (mode 3). The
// test reads docs/FORMAT.md's derivation itself (crypto/hmac, sha256) and
// opens the vectors through a Source on the stand-in holding the same
// key, so that the tag, the GenerateMac message and the header are all
// pinned.
var hmacVectorsPath = filepath.Join("testdata", "hmac_vectors.json")

type hmacVectors struct {
	Comment string `json:"comment"`
	// KeyID is the HMAC key's id (a UUID), KeyARN its ARN in the
	// stand-in's account and region, HMACKey its secret, KeyTag the
	// URL's tag of it.
	KeyID   string       `json:"key_id"`
	KeyARN  string       `json:"key_arn"`
	HMACKey []byte       `json:"hmac_key"`
	KeyTag  string       `json:"key_tag"`
	Vectors []hmacVector `json:"vectors"`
}

type hmacVector struct {
	Name       string                `json:"name"`
	Identifier string                `json:"identifier"` // hex
	Message    string                `json:"message"`    // hex: the GenerateMac message
	DataKey    string                `json:"data_key"`   // hex: its MAC, the AES-256 key
	Data       string                `json:"data"`
	Payload    *callbackurls.Payload `json:"payload"` // for readers; the test's copy is hmacVectorPayloads
}

func hmacVectorPayloads() map[string]*callbackurls.Payload {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	return map[string]*callbackurls.Payload{
		"approve, corpus token": {
			Target: callbackurls.TargetRef{ID: corpus.Tokens()[0]}, TransactionID: "0123456789abcdef0123456789abcdef", IssuedAt: at,
			Action: "approve", Type: callbackurls.Success, Output: json.RawMessage(`{"name_in_output":"Ben"}`),
		},
		"reject, expiring at +02:00": {
			Target: callbackurls.TargetRef{ID: corpus.Tokens()[3]}, TransactionID: "0123456789abcdef0123456789abcdef", IssuedAt: at,
			Expiration: at.Add(24 * time.Hour).In(time.FixedZone("", 2*3600)), Action: "reject", Type: callbackurls.Failure,
			Error: "rejected", Cause: "Ben rejected it",
		},
	}
}

// hmacVectorOrder is the order of the vectors in the file; the identifiers
// are fixed so that the file is readable.
var hmacVectorOrder = []struct{ name, identifier string }{
	{"approve, corpus token", "000102030405060708090a0b"},
	{"reject, expiring at +02:00", "f0e1d2c3b4a5968778695a4b"},
}

// Our own reading of docs/FORMAT.md, "Mode 3".
func formatTag(keyID string) []byte {
	sum := sha256.Sum256(append([]byte("sfn-callback-urls key tag\x00"), keyID...))
	return sum[:4]
}

func formatMessage(identifier []byte) []byte {
	return append([]byte("sfn-callback-urls data key\x00\x01"), identifier...)
}

func formatDataKey(secret, message []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write(message)
	return h.Sum(nil)
}

func TestHMACVectors(t *testing.T) {
	if os.Getenv("UPDATE_VECTORS") != "" {
		writeHMACVectors(t)
	}
	var vs hmacVectors
	readVectors(t, hmacVectorsPath, &vs, false)
	tag := formatTag(vs.KeyID)
	if hex.EncodeToString(tag) != vs.KeyTag || !bytes.Equal(kmskeys.TagOf(vs.KeyID), tag) {
		t.Errorf("key tag %s in the file, %x by FORMAT.md, %x by the code", vs.KeyTag, tag, kmskeys.TagOf(vs.KeyID))
	}
	srv := kmstest.New(t)
	if arn := srv.AddHMACKey(vs.KeyID, vs.HMACKey); arn != vs.KeyARN {
		t.Fatalf("stand-in ARN %s, want %s", arn, vs.KeyARN)
	}
	src := newSource(t, srv, kmskeys.Options{KeyID: vs.KeyARN})
	codec := &payload.Codec{Keys: src}
	want := hmacVectorPayloads()
	if len(vs.Vectors) != len(want) {
		t.Errorf("%d vectors, want %d", len(vs.Vectors), len(want))
	}
	for _, v := range vs.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			id, _ := hex.DecodeString(v.Identifier)
			if len(id) != kmskeys.IdentifierSize {
				t.Fatalf("identifier of %d bytes, want %d", len(id), kmskeys.IdentifierSize)
			}
			msg := formatMessage(id)
			if hex.EncodeToString(msg) != v.Message || !bytes.Equal(kmskeys.DeriveMessage(id), msg) {
				t.Errorf("message %s in the file, %x by FORMAT.md, %x by the code", v.Message, msg, kmskeys.DeriveMessage(id))
			}
			key := formatDataKey(vs.HMACKey, msg)
			if hex.EncodeToString(key) != v.DataKey {
				t.Errorf("data key %s in the file, %x by FORMAT.md", v.DataKey, key)
			}
			// The header, byte for byte, and the envelope opened with our
			// own AES-GCM.
			raw := envelopeOf(t, "https://x/respond?data="+v.Data)
			header := append(append([]byte{payload.ModeKMSHMAC}, tag...), id...)
			if !bytes.Equal(raw[:len(header)], header) {
				t.Errorf("header % x, want % x", raw[:len(header)], header)
			}
			if _, err := gcm(t, key).Open(nil, raw[17:29], raw[29:], append([]byte("sfncb3"), header...)); err != nil {
				t.Errorf("the envelope does not open with the data key and AD \"sfncb3\" || header: %v", err)
			}

			srv.Reset()
			got, err := codec.Decode(context.Background(), v.Data)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want[v.Name], got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if _, off := got.Expiration.Zone(); !got.Expiration.IsZero() {
				if _, wantOff := want[v.Name].Expiration.Zone(); off != wantOff {
					t.Errorf("expiration offset %d, want %d", off, wantOff)
				}
			}
			calls := srv.Calls()
			if len(calls) != 1 || calls[0].Operation != "GenerateMac" || calls[0].KeyID != vs.KeyARN {
				t.Errorf("KMS calls %+v, want one GenerateMac with the key's ARN", calls)
			}
		})
	}
}

// writeHMACVectors adds the vectors the file lacks and keeps the others
// as they are: sealing draws a random nonce.
func writeHMACVectors(t *testing.T) {
	vs := hmacVectors{
		Comment: "Known answers of the KMS HMAC key mode (docs/FORMAT.md, mode 3); UPDATE_VECTORS=1 go test ./pkg/kmskeys -run TestHMACVectors adds missing vectors and keeps the others.",
		KeyID:   "5f0c1c0e-7a4b-4c2d-9e8f-0a1b2c3d4e5f",
		HMACKey: make([]byte, 32),
	}
	for i := range vs.HMACKey {
		vs.HMACKey[i] = byte(0xa0 + i)
	}
	readVectors(t, hmacVectorsPath, &vs, true)
	vs.KeyARN = "arn:aws:kms:" + kmstest.Region + ":" + kmstest.Account + ":key/" + vs.KeyID
	vs.KeyTag = hex.EncodeToString(formatTag(vs.KeyID))
	have := map[string]bool{}
	for _, v := range vs.Vectors {
		have[v.Name] = true
	}
	for _, o := range hmacVectorOrder {
		if have[o.name] {
			continue
		}
		id, _ := hex.DecodeString(o.identifier)
		msg := formatMessage(id)
		key := formatDataKey(vs.HMACKey, msg)
		ref := append(formatTag(vs.KeyID), id...)
		p := hmacVectorPayloads()[o.name]
		data, err := (&payload.Codec{Keys: newSealer(t, payload.ModeKMSHMAC, ref, key, nil)}).Encode(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		vs.Vectors = append(vs.Vectors, hmacVector{Name: o.name, Identifier: o.identifier, Message: hex.EncodeToString(msg),
			DataKey: hex.EncodeToString(key), Data: data, Payload: p})
	}
	writeVectors(t, hmacVectorsPath, vs)
}
