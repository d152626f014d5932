package lambdaapi

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func BenchmarkProxyEvent(b *testing.B) {
	data, _ := os.ReadFile("testdata/post-urls.json")
	var m map[string]any
	_ = json.Unmarshal(data, &m)
	m["body"] = strings.Repeat("x", 64<<10)
	raw, _ := json.Marshal(m)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := proxyEvent(raw); !ok {
			b.Fatal("not a proxy event")
		}
	}
}

func TestRequestPath(t *testing.T) {
	tests := []struct {
		resource, path, stage, want string
	}{
		{"/urls", "/urls", "v1", "/urls"},
		{"/respond", "/respond", "v1", "/respond"},
		{"/respond", "/callbacks/respond", "v1", "/respond"}, // custom domain base path
		{"/{proxy+}", "/v1/respond", "v1", "/respond"},
		{"/{proxy+}", "/v1", "v1", "/"},
		{"/{proxy+}", "/v10/respond", "v1", "/v10/respond"},
		{"/{proxy+}", "/healthz", "v1", "/healthz"},
		{"/{proxy+}", "/v1/healthz", "", "/v1/healthz"},
		{"", "", "v1", "/"},
	}
	for _, tt := range tests {
		ev := &events.APIGatewayProxyRequest{Resource: tt.resource, Path: tt.path}
		ev.RequestContext.Stage = tt.stage
		if got := requestPath(ev); got != tt.want {
			t.Errorf("requestPath(resource %q, path %q, stage %q) = %q, want %q", tt.resource, tt.path, tt.stage, got, tt.want)
		}
	}
}
