package payload_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// Known-answer vectors: data parameters made once (by this file, with
// UPDATE_VECTORS=1) and committed, so that a change of the format that
// breaks URLs already handed out fails a test. Sealing draws a random
// nonce, so the vectors are checked by decoding.

const vectorsFile = "testdata/vectors.json"

type vectorFile struct {
	Comment string     `json:"comment"`
	Key     vectorKey  `json:"key"`
	Vectors []vectorTC `json:"vectors"`
}

type vectorKey struct {
	ID     string `json:"id"`
	Secret []byte `json:"secret"` // base64
}

type vectorTC struct {
	Name string `json:"name"`
	Data string `json:"data"`
	// Payload is the expected callbackurls.Payload, as encoding/json
	// writes it.
	Payload json.RawMessage `json:"payload"`
}

// referenceOne is a "1-" payload made as the Python sfn-callback-urls
// makes it: '1-' + urlsafe_b64encode(json.dumps(payload)).
var referenceOne = "1-" + base64.URLEncoding.EncodeToString([]byte(
	`{"token": "tok", "iat": 1700000000, "tid": "abc", "name": "approve", "act": "success", "data": {"output": {"a": 1}}}`))

func vectorInputs() []struct {
	name      string
	encrypted bool
	p         callbackurls.Payload
} {
	tok := corpus.Tokens()[0]
	iat := time.Unix(1767225600, 0).UTC()
	type in = struct {
		name      string
		encrypted bool
		p         callbackurls.Payload
	}
	return []in{
		{"3- heartbeat, minimal", true, callbackurls.Payload{Target: callbackurls.TargetRef{ID: "tok"}, Action: "ping", Type: callbackurls.Heartbeat}},
		{"3- success, corpus token (base64 kind), hex tid, times, redirect", true, callbackurls.Payload{
			Target: callbackurls.TargetRef{ID: tok}, TransactionID: "0123456789abcdef0123456789abcdef", IssuedAt: iat, Expiration: iat.Add(72 * time.Hour),
			Action: "approve", Type: callbackurls.Success, Output: json.RawMessage(`{"name_in_output":"Ben"}`),
			Response: json.RawMessage(`{"redirect":"https://example.com/thanks"}`)}},
		{"3- failure, text token, text tid, parameters", true, callbackurls.Payload{
			Target: callbackurls.TargetRef{ID: "a token that is not base64: é漢😀"}, TransactionID: "tid-1", IssuedAt: iat,
			Action: "reject", Type: callbackurls.Failure, Error: "rejected", Cause: "$who rejected it", Parameters: true}},
		{"3- post, AQC token with '=' inside, presentation", true, callbackurls.Payload{
			Target: callbackurls.TargetRef{ID: "AQCEAAAAKgAAAAMAAAAAAAAAAUXJ+vmPSMtl1R2vAh2y3Q==" + tok[:200] + "rA=="}, TransactionID: "fedcba9876543210fedcba9876543210", IssuedAt: iat,
			Action: "hook", Type: callbackurls.Post,
			Outcomes:     json.RawMessage(`[{"name":"ok","type":"success","schema":{"type":"object"},"output_body":true}]`),
			Presentation: json.RawMessage(`{"title":"Deploy?","confirm":true}`)}},
		{"3- success, deflated output", true, callbackurls.Payload{
			Target: callbackurls.TargetRef{ID: tok}, TransactionID: "0123456789abcdef0123456789abcdef", IssuedAt: iat,
			Action: "approve", Type: callbackurls.Success,
			Output: json.RawMessage(`{"items":[` + strings.Repeat(`{"id":1,"name":"item"},`, 40) + `{}]}`)}},
		{"1- written by this service", false, callbackurls.Payload{
			Target: callbackurls.TargetRef{ID: tok}, TransactionID: "0123456789abcdef0123456789abcdef", IssuedAt: iat, Expiration: iat.Add(time.Hour),
			Action: "reject", Type: callbackurls.Failure, Error: "rejected", Cause: "Ben rejected it", Parameters: true,
			Response: json.RawMessage(`{"text":"ok"}`)}},
		// Added with the expiration offset (tag 13, exp_offset).
		{"3- reject, expiration with a UTC offset (-03:30)", true, callbackurls.Payload{
			Target: callbackurls.TargetRef{ID: tok}, TransactionID: "0123456789abcdef0123456789abcdef", IssuedAt: iat,
			Expiration: iat.Add(48 * time.Hour).In(time.FixedZone("", -(3*3600 + 1800))),
			Action:     "reject", Type: callbackurls.Failure, Error: "rejected", Cause: "Ben rejected it"}},
		{"1- heartbeat, expiration with a UTC offset (+05:45)", false, callbackurls.Payload{
			Target: callbackurls.TargetRef{ID: tok}, TransactionID: "0123456789abcdef0123456789abcdef", IssuedAt: iat,
			Expiration: iat.Add(time.Hour).In(time.FixedZone("", 5*3600+2700)),
			Action:     "ping", Type: callbackurls.Heartbeat}},
		// Added with approvers (tags 15 to 17; apr, req, rcpt).
		{"3- approve, approvers and a requester at their domain", true, callbackurls.Payload{
			Target: callbackurls.TargetRef{ID: tok}, TransactionID: "0123456789abcdef0123456789abcdef", IssuedAt: iat,
			Action: "approve", Type: callbackurls.Success, Output: json.RawMessage(`{"name_in_output":"Ben"}`),
			Approvers: []string{"@ops.example.org", "alice@example.com", "bob@example.com", "carol@example.com", "slack:U0123ABCD"},
			Requester: "dave@example.com"}},
		{"3- reject, three approvers, requester stored short, receipt", true, callbackurls.Payload{
			Target: callbackurls.TargetRef{ID: tok}, TransactionID: "0123456789abcdef0123456789abcdef", IssuedAt: iat,
			Action: "reject", Type: callbackurls.Failure, Error: "rejected", Cause: "Ben rejected it",
			Approvers: []string{"alice@example.com", "bob@example.com", "carol@example.com"}, Requester: "dave@example.com", Receipt: true}},
		{"1- approve, approvers, requester, receipt", false, callbackurls.Payload{
			Target: callbackurls.TargetRef{ID: tok}, TransactionID: "0123456789abcdef0123456789abcdef", IssuedAt: iat,
			Action: "approve", Type: callbackurls.Success, Output: json.RawMessage(`{"name_in_output":"Ben"}`),
			Approvers: []string{"@example.com"}, Requester: "dave@example.com", Receipt: true}},
		// Added with the confirmation route (tag 18, conf).
		{"3- approve, confirmation route", true, callbackurls.Payload{
			Target: callbackurls.TargetRef{ID: tok}, TransactionID: "0123456789abcdef0123456789abcdef", IssuedAt: iat,
			Action: "approve", Type: callbackurls.Success, Output: json.RawMessage(`{"approved":true}`),
			Confirm: json.RawMessage(`{"t":["alice@example.com"],"s":"arn:aws:sns:eu-west-1:123456789012:approvals"}`)}},
		{"1- reject, confirmation route", false, callbackurls.Payload{
			Target: callbackurls.TargetRef{ID: tok}, TransactionID: "0123456789abcdef0123456789abcdef", IssuedAt: iat,
			Action: "reject", Type: callbackurls.Failure, Error: "Rejected",
			Confirm: json.RawMessage(`{"t":["alice@example.com"],"c":["bob@example.com"],"r":"ops@example.com"}`)}},
		// Added with durable callbacks (tag 14, target kind 1; "kind":
		// "callback_id" in the JSON form).
		{"3- success, durable callback id", true, callbackurls.Payload{
			Target:        callbackurls.TargetRef{Kind: callbackurls.DurableCallback, ID: "ZXhlY3V0aW9uLzEvY2FsbGJhY2sv++//AQ=="},
			TransactionID: "0123456789abcdef0123456789abcdef", IssuedAt: iat, Expiration: iat.Add(24 * time.Hour),
			Action: "approve", Type: callbackurls.Success, Output: json.RawMessage(`{"approved":true}`)}},
		{"1- failure, durable callback id", false, callbackurls.Payload{
			Target:        callbackurls.TargetRef{Kind: callbackurls.DurableCallback, ID: "ZXhlY3V0aW9uLzEvY2FsbGJhY2sv++//AQ=="},
			TransactionID: "0123456789abcdef0123456789abcdef", IssuedAt: iat,
			Action: "reject", Type: callbackurls.Failure, Error: "Rejected", Cause: "no budget"}},
	}
}

func vectorKeyring(t testing.TB, k vectorKey) *keyring.Keyring {
	return ring(t, keyring.Key{ID: k.ID, Secret: k.Secret})
}

// writeVectors adds the vectors the file lacks; the vectors already in it
// stay as they are (sealing draws a random nonce, so rewriting them would
// replace released known answers with new ones).
func writeVectors(t *testing.T) {
	ctx := context.Background()
	f := vectorFile{
		Comment: "Known-answer vectors of the payload formats; regenerate with UPDATE_VECTORS=1 go test ./pkg/payload -run TestVectors (only for a deliberate format change).",
		Key:     vectorKey{ID: "kat1", Secret: secret(0x10)},
	}
	have := map[string]bool{}
	if b, err := os.ReadFile(vectorsFile); err == nil {
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		for _, v := range f.Vectors {
			have[v.Name] = true
		}
	}
	keys := &payload.Codec{Keys: vectorKeyring(t, f.Key)}
	for _, in := range vectorInputs() {
		if have[in.name] {
			continue
		}
		c := keys
		if !in.encrypted {
			c = &payload.Codec{}
		}
		data, err := c.Encode(ctx, &in.p)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(vectorOf(&in.p))
		if err != nil {
			t.Fatal(err)
		}
		f.Vectors = append(f.Vectors, vectorTC{Name: in.name, Data: data, Payload: want})
	}
	if name := "1- made by the Python reference"; !have[name] {
		want, err := json.Marshal(vectorOf(&callbackurls.Payload{Target: callbackurls.TargetRef{ID: "tok"}, TransactionID: "abc", IssuedAt: time.Unix(1700000000, 0).UTC(),
			Action: "approve", Type: callbackurls.Success, Output: json.RawMessage(`{"a": 1}`)}))
		if err != nil {
			t.Fatal(err)
		}
		f.Vectors = append(f.Vectors, vectorTC{Name: name, Data: referenceOne, Payload: want})
	}
	out, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(vectorsFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vectorsFile, append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", vectorsFile)
}

// vectorPayload is a payload as vectors.json spells it: the fields of
// callbackurls.Payload as they were when the first vectors were written,
// the reference under "Token", "TargetKind" for references of another
// kind than a task token, and the approvers' fields when set.
type vectorPayload struct {
	Token         string
	TargetKind    callbackurls.TargetKind `json:",omitempty"`
	TransactionID string
	IssuedAt      time.Time
	Expiration    time.Time
	Action        string
	Type          callbackurls.ActionType
	Output        json.RawMessage
	Error         string
	Cause         string
	Parameters    bool
	Response      json.RawMessage
	Outcomes      json.RawMessage
	Presentation  json.RawMessage
	Approvers     []string        `json:",omitempty"`
	Requester     string          `json:",omitempty"`
	Receipt       bool            `json:",omitempty"`
	Confirm       json.RawMessage `json:",omitempty"`
}

func vectorOf(p *callbackurls.Payload) vectorPayload {
	return vectorPayload{Token: p.Target.ID, TargetKind: p.Target.Kind, TransactionID: p.TransactionID,
		IssuedAt: p.IssuedAt, Expiration: p.Expiration, Action: p.Action, Type: p.Type, Output: p.Output,
		Error: p.Error, Cause: p.Cause, Parameters: p.Parameters, Response: p.Response, Outcomes: p.Outcomes,
		Presentation: p.Presentation, Approvers: p.Approvers, Requester: p.Requester, Receipt: p.Receipt, Confirm: p.Confirm}
}

func (v *vectorPayload) payload() callbackurls.Payload {
	return callbackurls.Payload{Target: callbackurls.TargetRef{Kind: v.TargetKind, ID: v.Token}, TransactionID: v.TransactionID,
		IssuedAt: v.IssuedAt, Expiration: v.Expiration, Action: v.Action, Type: v.Type, Output: v.Output,
		Error: v.Error, Cause: v.Cause, Parameters: v.Parameters, Response: v.Response, Outcomes: v.Outcomes,
		Presentation: v.Presentation, Approvers: v.Approvers, Requester: v.Requester, Receipt: v.Receipt, Confirm: v.Confirm}
}

func TestVectors(t *testing.T) {
	if os.Getenv("UPDATE_VECTORS") == "1" {
		writeVectors(t)
	}
	b, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	var f vectorFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) < 9 {
		t.Fatalf("only %d vectors", len(f.Vectors))
	}
	ctx := context.Background()
	keys := &payload.Codec{Keys: vectorKeyring(t, f.Key)}
	sawReference := false
	for _, v := range f.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			var vp vectorPayload
			if err := json.Unmarshal(v.Payload, &vp); err != nil {
				t.Fatal(err)
			}
			want := vp.payload()
			// encoding/json writes an absent document as null and reads
			// null back as the text "null" (no vector has a null output).
			for _, r := range []*json.RawMessage{&want.Output, &want.Response, &want.Outcomes, &want.Presentation} {
				if string(*r) == "null" {
					*r = nil
				}
			}
			c := keys
			if strings.HasPrefix(v.Data, payload.PrefixUnencrypted) {
				c = &payload.Codec{}
			} else {
				raw := envelope(t, v.Data)
				if raw[0] != payload.ModeStaticKey || int(raw[1]) != len(f.Key.ID) || string(raw[2:2+len(f.Key.ID)]) != f.Key.ID {
					t.Errorf("envelope header %v does not name key %s", raw[:2+len(f.Key.ID)], f.Key.ID)
				}
			}
			got, err := c.Decode(ctx, v.Data)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := cmp.Diff(&want, got, semanticJSON); diff != "" {
				t.Errorf("decoded payload (-want +got):\n%s", diff)
			}
			// cmp compares times as instants (time.Time.Equal): the
			// expiration's offset is part of the format too.
			if _, wantOff := want.Expiration.Zone(); !want.Expiration.IsZero() {
				if _, off := got.Expiration.Zone(); off != wantOff {
					t.Errorf("expiration %v has offset %ds, want %ds", got.Expiration, off, wantOff)
				}
			}
			if v.Data == referenceOne {
				sawReference = true
				// The reference's JSON spacing is kept as sent.
				if !bytes.Equal(got.Output, []byte(`{"a": 1}`)) {
					t.Errorf("output %s", got.Output)
				}
			}
		})
	}
	if !sawReference {
		t.Error("the reference's 1- vector is missing")
	}
	// Every vector's data is refused by a deployment without its key.
	other := &payload.Codec{Keys: ring(t, keyring.Key{ID: f.Key.ID, Secret: secret(0x11)})}
	for _, v := range f.Vectors {
		if strings.HasPrefix(v.Data, payload.PrefixEncrypted) {
			_, err := other.Decode(ctx, v.Data)
			wantCode(t, err, callbackurls.CodeInvalidPayload)
		}
	}
}
