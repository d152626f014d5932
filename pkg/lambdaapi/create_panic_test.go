package lambdaapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/lambdaapi"
)

// TestDirectInvokePanic: a panic in a direct invoke answers with the
// contract's ServiceError body, not a raw Lambda error.
func TestDirectInvokePanic(t *testing.T) {
	// A service without a codec panics when it encodes a payload.
	svc := callbackurls.New(callbackurls.Config{BaseURL: "https://example.com"}, nil, nil)
	h := lambdaapi.CreateURLsHandler(svc, nil, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	out, err := h(context.Background(), json.RawMessage(`{"token":"tok","actions":[{"name":"ping","type":"heartbeat"}]}`))
	if err != nil {
		t.Fatalf("a Lambda error: %v", err)
	}
	b, _ := json.Marshal(out)
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatal(err)
	}
	delete(body, "transaction_id")
	if diff := cmp.Diff(map[string]any{"error": "ServiceError", "message": "internal error"}, body); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}
