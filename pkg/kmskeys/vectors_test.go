package kmskeys_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// kmsVectorsPath holds known answers of the KMS key mode (mode 2, a 2-byte
// length and the encrypted data key in the header). The static mode's are
// pkg/payload/testdata/vectors.json.
var kmsVectorsPath = filepath.Join("testdata", "kms_vectors.json")

type kmsVectors struct {
	Comment string `json:"comment"`
	// DataKey and EncryptedDataKey stand for a GenerateDataKey answer.
	DataKey          []byte `json:"data_key"`
	EncryptedDataKey []byte `json:"encrypted_data_key"`
	Vectors          []struct {
		Name    string                `json:"name"`
		Data    string                `json:"data"`
		Payload *callbackurls.Payload `json:"payload"` // for readers; the test's copy is kmsVectorPayloads
	} `json:"vectors"`
}

func kmsVectorPayloads() map[string]*callbackurls.Payload {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	return map[string]*callbackurls.Payload{
		"approve, corpus token": {
			Target: callbackurls.TargetRef{ID: corpus.Tokens()[0]}, TransactionID: "0123456789abcdef0123456789abcdef", IssuedAt: at,
			Action: "approve", Type: callbackurls.Success, Output: json.RawMessage(`{"name_in_output":"Ben"}`),
		},
		"reject, expiring": {
			Target: callbackurls.TargetRef{ID: corpus.Tokens()[3]}, TransactionID: "0123456789abcdef0123456789abcdef", IssuedAt: at,
			Expiration: at.Add(24 * time.Hour), Action: "reject", Type: callbackurls.Failure,
			Error: "rejected", Cause: "Ben rejected it",
		},
	}
}

// TestKMSVectors: URLs sealed under a KMS data key by a released version
// keep opening. UPDATE_VECTORS=1 rewrites the file, for a deliberate new
// format only (old vectors must then stay too).
func TestKMSVectors(t *testing.T) {
	if os.Getenv("UPDATE_VECTORS") != "" {
		writeKMSVectors(t)
	}
	var vs kmsVectors
	readVectors(t, kmsVectorsPath, &vs, false)
	if len(vs.EncryptedDataKey) != 184 {
		t.Fatalf("vector encrypted data key is %d bytes, want KMS's 184", len(vs.EncryptedDataKey))
	}
	codec := &payload.Codec{Keys: newSealer(t, payload.ModeKMS, vs.EncryptedDataKey, vs.DataKey, nil)}
	want := kmsVectorPayloads()
	if len(vs.Vectors) != len(want) {
		t.Errorf("%d vectors, want %d", len(vs.Vectors), len(want))
	}
	for _, v := range vs.Vectors {
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(v.Data, payload.PrefixEncrypted))
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		// The header, byte for byte.
		if raw[0] != payload.ModeKMS || binary.BigEndian.Uint16(raw[1:3]) != 184 || !bytes.Equal(raw[3:187], vs.EncryptedDataKey) {
			t.Errorf("%s: header % x... is not mode 2, length 184, the encrypted data key", v.Name, raw[:8])
		}
		got, err := codec.Decode(context.Background(), v.Data)
		if err != nil {
			t.Errorf("%s: %v", v.Name, err)
			continue
		}
		if diff := cmp.Diff(want[v.Name], got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", v.Name, diff)
		}
	}
}

func writeKMSVectors(t *testing.T) {
	vs := kmsVectors{
		Comment:          "Known answers of the KMS key mode; regenerate with UPDATE_VECTORS=1 go test ./pkg/kmskeys -run TestKMSVectors only for a deliberate format change.",
		DataKey:          make([]byte, 32),
		EncryptedDataKey: make([]byte, 184),
	}
	for i := range vs.DataKey {
		vs.DataKey[i] = byte(0x40 + i)
	}
	for i := range vs.EncryptedDataKey {
		vs.EncryptedDataKey[i] = byte(i * 7)
	}
	codec := &payload.Codec{Keys: newSealer(t, payload.ModeKMS, vs.EncryptedDataKey, vs.DataKey, nil)}
	for _, name := range []string{"approve, corpus token", "reject, expiring"} {
		p := kmsVectorPayloads()[name]
		data, err := codec.Encode(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		vs.Vectors = append(vs.Vectors, struct {
			Name    string                `json:"name"`
			Data    string                `json:"data"`
			Payload *callbackurls.Payload `json:"payload"`
		}{name, data, p})
	}
	writeVectors(t, kmsVectorsPath, vs)
}

// readVectors decodes a file of known answers into v; a missing file is
// an error unless optional (a writer adding to it).
func readVectors(t testing.TB, path string, v any, optional bool) {
	t.Helper()
	b, err := os.ReadFile(path)
	if optional && errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// writeVectors writes v as a file of known answers (UPDATE_VECTORS=1).
func writeVectors(t testing.TB, path string, v any) {
	t.Helper()
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}
