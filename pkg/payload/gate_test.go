package payload_test

import (
	"bytes"
	"context"
	"crypto/cipher"
	"encoding/binary"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// gatedKeys is a KeySource of a gated mode that records what the codec
// asks of it.
type gatedKeys struct {
	mode      byte
	ref       []byte
	aead      cipher.AEAD
	gate      *payload.GateKey
	lookups   int // DecryptionKey calls
	confirmed int // Opened calls
}

func (k *gatedKeys) EncryptionKey(context.Context) (byte, []byte, cipher.AEAD, error) {
	return k.mode, k.ref, k.aead, nil
}

func (k *gatedKeys) DecryptionKey(_ context.Context, mode byte, ref []byte) (cipher.AEAD, error) {
	k.lookups++
	if mode != k.mode || !bytes.Equal(ref, k.ref) {
		return nil, callbackurls.Errorf(callbackurls.CodeInvalidPayload, "not ours")
	}
	return k.aead, nil
}

func (k *gatedKeys) GateKey(context.Context, byte, []byte) (*payload.GateKey, error) {
	return k.gate, nil
}

func (k *gatedKeys) Opened(byte, []byte, cipher.AEAD) { k.confirmed++ }

func gateKey(t *testing.T, seed byte) *payload.GateKey {
	t.Helper()
	g, err := payload.NewGateKey(secret(seed))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestGatedModes: modes 4 and 5 end with a gate tag over every byte before
// it; a payload whose tag does not check is refused before its data key is
// looked up, and a key is confirmed (kept) only once a payload
// authenticates under it.
func TestGatedModes(t *testing.T) {
	ctx := context.Background()
	p := &callbackurls.Payload{Target: callbackurls.TargetRef{ID: "tok"}, Action: "a", Type: callbackurls.Heartbeat}
	blob := bytes.Repeat([]byte{7}, 184)
	for _, tt := range []struct {
		name   string
		mode   byte
		ref    []byte
		header []byte
	}{
		{"mode 4", payload.ModeKMSHMACGated, []byte("TAG!identifier12"), append([]byte{4}, "TAG!identifier12"...)},
		{"mode 5", payload.ModeKMSGated, append([]byte("GATE"), blob...), append(append([]byte{5}, "GATE"...), append(binary.BigEndian.AppendUint16(nil, 184), blob...)...)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			keys := &gatedKeys{mode: tt.mode, ref: tt.ref, aead: aeadFor(t, secret(5)), gate: gateKey(t, 9)}
			c := &payload.Codec{Keys: keys}
			data, err := c.Encode(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			raw := envelope(t, data)
			if !bytes.HasPrefix(raw, tt.header) {
				t.Fatalf("header % x, want % x", raw[:len(tt.header)], tt.header)
			}
			if tag := raw[len(raw)-payload.GateTagSize:]; !bytes.Equal(tag, keys.gate.Tag(raw[:len(raw)-payload.GateTagSize])) {
				t.Errorf("gate tag % x is not the gate key's tag of the envelope", tag)
			}
			if got, err := c.Decode(ctx, data); err != nil || got.Target.ID != "tok" {
				t.Fatalf("Decode: %+v, %v", got, err)
			}
			if keys.lookups != 1 || keys.confirmed != 1 {
				t.Errorf("%d lookups and %d confirmations for a good payload, want 1 and 1", keys.lookups, keys.confirmed)
			}
			// Any byte changed, the gate tag's included, or another gate
			// key: refused without a lookup.
			keys.lookups, keys.confirmed = 0, 0
			for i := range raw {
				changed := bytes.Clone(raw)
				changed[i] ^= 0x20
				_, err := c.Decode(ctx, seal(changed))
				wantCode(t, err, callbackurls.CodeInvalidPayload)
			}
			other := &gatedKeys{mode: tt.mode, ref: tt.ref, aead: aeadFor(t, secret(5)), gate: gateKey(t, 10)}
			_, err = (&payload.Codec{Keys: other}).Decode(ctx, data)
			wantCode(t, err, callbackurls.CodeInvalidPayload)
			if keys.lookups+other.lookups != 0 || keys.confirmed+other.confirmed != 0 {
				t.Errorf("changed payloads: %d lookups and %d confirmations, want none", keys.lookups+other.lookups, keys.confirmed+other.confirmed)
			}
			// Without the gate tag's room, it is truncated.
			_, err = c.Decode(ctx, seal(raw[:len(tt.header)+12+16+payload.GateTagSize-1]))
			wantCode(t, err, callbackurls.CodeInvalidPayload)
			// A source of no gated mode cannot read it.
			_, err = (&payload.Codec{Keys: hmacLike{ref: tt.ref[:16], aead: aeadFor(t, secret(5))}}).Decode(ctx, data)
			wantCode(t, err, callbackurls.CodeInvalidPayload)
		})
	}
}

// TestConfirmedOnlyWhenAuthenticated: an ungated payload whose key
// reference resolves but whose ciphertext does not authenticate leaves
// nothing for the source to keep.
func TestConfirmedOnlyWhenAuthenticated(t *testing.T) {
	ctx := context.Background()
	p := &callbackurls.Payload{Target: callbackurls.TargetRef{ID: "tok"}, Action: "a", Type: callbackurls.Heartbeat}
	keys := &gatedKeys{mode: payload.ModeKMSHMAC, ref: []byte("TAG!identifier12"), aead: aeadFor(t, secret(5))}
	data, err := (&payload.Codec{Keys: hmacLike{ref: keys.ref, aead: aeadFor(t, secret(6))}}).Encode(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	_, err = (&payload.Codec{Keys: keys}).Decode(ctx, data)
	wantCode(t, err, callbackurls.CodeInvalidPayload)
	if keys.lookups != 1 || keys.confirmed != 0 {
		t.Errorf("%d lookups and %d confirmations, want 1 and 0", keys.lookups, keys.confirmed)
	}
}
