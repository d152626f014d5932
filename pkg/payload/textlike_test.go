package payload

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// TestTextReferenceDeflated: a reference that is base64 of text (a durable
// callback id of JSON) is deflated with the rest; random bytes (task
// tokens) are not tried.
func TestTextReferenceDeflated(t *testing.T) {
	random := make([]byte, 600)
	_, _ = rand.Read(random)
	text := bytes.Repeat([]byte(`{"executionId":"0abf1386-f9c8","token":"5eb8d75c"}`), 12)
	for _, tc := range []struct {
		name     string
		raw      []byte
		deflated bool
	}{
		{"random", random, false},
		{"text", text, true},
	} {
		p := &callbackurls.Payload{Target: callbackurls.TargetRef{Kind: callbackurls.DurableCallback, ID: base64.StdEncoding.EncodeToString(tc.raw)},
			Action: "approve", Type: callbackurls.Success, Output: []byte(`{"a":1}`)}
		b, err := marshalBinary(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := b[1]&flagDeflated != 0; got != tc.deflated {
			t.Errorf("%s: deflated %v, want %v", tc.name, got, tc.deflated)
		}
	}
	if textLike(text[:200]) {
		t.Error("a short reference is not worth trying")
	}
}
