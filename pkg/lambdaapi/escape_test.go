package lambdaapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
)

// TestJSONNotHTMLEscaped: every JSON answer keeps "&" (and "<", ">") as
// they are, as the reference does, so that URLs in it can be grepped and
// cut. A direct invoke's result is encoded by the Lambda runtime itself,
// so it goes through lambda.NewHandler, as functions/create-urls starts it;
// a proxy answer's body is written by the HTTP handlers.
func TestJSONNotHTMLEscaped(t *testing.T) {
	s := start(t, true, config.Config{})
	runtime := lambda.NewHandler(s.CreateURLsFunction())
	created := mustJSON(t, approveRequest(s.NewTask(t)))
	refused := `{"token":"t","a&b<c>":1,"actions":[{"name":"ok","type":"heartbeat"}]}`

	proxyBody := func(body string) string {
		ev := events.APIGatewayProxyRequest{
			HTTPMethod: "POST", Resource: "/urls", Path: "/urls", Body: body,
			Headers:        map[string]string{"Content-Type": "application/json"},
			RequestContext: events.APIGatewayProxyRequestContext{APIID: "a1b2c3d4e5", Stage: "v1", HTTPMethod: "POST", ResourcePath: "/urls"},
		}
		resp, err := s.ProxyFunction()(t.Context(), ev)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Body
	}
	invoke := func(body string) string {
		out, err := runtime.Invoke(t.Context(), []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	for _, tt := range []struct {
		name, body, want string
	}{
		{"direct invoke, URLs", invoke(created), "&type=success&data="},
		{"direct invoke, error", invoke(refused), `unknown field \"a&b<c>\"`},
		{"proxy, URLs", proxyBody(created), "&type=success&data="},
		{"proxy, error", proxyBody(refused), `unknown field \"a&b<c>\"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if !json.Valid([]byte(tt.body)) {
				t.Fatalf("not JSON: %s", tt.body)
			}
			if !strings.Contains(tt.body, tt.want) || strings.Contains(tt.body, `\u00`) {
				t.Errorf("body %s: want %q in it and no \\u00 escapes", tt.body, tt.want)
			}
		})
	}
}
