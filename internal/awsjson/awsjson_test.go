package awsjson

import (
	"context"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

type sources map[string]string // AWS_ENDPOINT_URL_<ID> by SDK id, and flags

func (s sources) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	v, ok := s[sdkID]
	return v, ok, nil
}

func (s sources) GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error) {
	_, ok := s["ignore"]
	return ok, ok, nil
}

func (s sources) GetUseFIPSEndpoint(context.Context) (aws.FIPSEndpointState, bool, error) {
	if _, ok := s["fips"]; ok {
		return aws.FIPSEndpointStateEnabled, true, nil
	}
	return aws.FIPSEndpointStateUnset, false, nil
}

func (s sources) GetUseDualStackEndpoint(context.Context) (aws.DualStackEndpointState, bool, error) {
	if _, ok := s["dualstack"]; ok {
		return aws.DualStackEndpointStateEnabled, true, nil
	}
	return aws.DualStackEndpointStateUnset, false, nil
}

func TestResolveEndpoint(t *testing.T) {
	tests := []struct {
		name   string
		region string
		base   string
		src    sources
		want   string
	}{
		{"regional", "eu-west-1", "", nil, "https://secretsmanager.eu-west-1.amazonaws.com"},
		{"China", "cn-north-1", "", nil, "https://secretsmanager.cn-north-1.amazonaws.com.cn"},
		{"GovCloud", "us-gov-west-1", "", nil, "https://secretsmanager.us-gov-west-1.amazonaws.com"},
		{"ISO", "us-iso-east-1", "", nil, "https://secretsmanager.us-iso-east-1.c2s.ic.gov"},
		{"ISO-B", "us-isob-east-1", "", nil, "https://secretsmanager.us-isob-east-1.sc2s.sgov.gov"},
		{"FIPS", "us-east-1", "", sources{"fips": ""}, "https://secretsmanager-fips.us-east-1.amazonaws.com"},
		{"dual-stack", "us-east-1", "", sources{"dualstack": ""}, "https://secretsmanager.us-east-1.api.aws"},
		{"dual-stack FIPS", "us-east-1", "", sources{"dualstack": "", "fips": ""}, "https://secretsmanager-fips.us-east-1.api.aws"},
		{"dual-stack, China", "cn-north-1", "", sources{"dualstack": ""}, "https://secretsmanager.cn-north-1.api.amazonwebservices.com.cn"},
		{"dual-stack, ISO (none there)", "us-iso-east-1", "", sources{"dualstack": ""}, "https://secretsmanager.us-iso-east-1.c2s.ic.gov"},
		{"base endpoint", "eu-west-1", "http://127.0.0.1:4566", nil, "http://127.0.0.1:4566"},
		{"service endpoint wins", "eu-west-1", "http://127.0.0.1:4566", sources{"Secrets Manager": "http://127.0.0.1:9"}, "http://127.0.0.1:9"},
		{"another service's endpoint", "eu-west-1", "", sources{"SSM": "http://127.0.0.1:9"}, "https://secretsmanager.eu-west-1.amazonaws.com"},
		{"ignored", "eu-west-1", "http://127.0.0.1:4566", sources{"Secrets Manager": "http://127.0.0.1:9", "ignore": ""}, "https://secretsmanager.eu-west-1.amazonaws.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := aws.Config{Region: tt.region, ConfigSources: []any{tt.src}}
			if tt.base != "" {
				cfg.BaseEndpoint = aws.String(tt.base)
			}
			got, err := resolveEndpoint(context.Background(), cfg, SecretsManager)
			if err != nil || got != tt.want {
				t.Errorf("endpoint %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if _, err := resolveEndpoint(context.Background(), aws.Config{}, SSM); err == nil {
		t.Error("no region: no error")
	}
}

// server answers with the next of its canned responses and records what
// it was sent.
type server struct {
	*httptest.Server
	calls     atomic.Int32
	responses []canned
	seen      []*http.Request
	bodies    []string
}

type canned struct {
	status int
	body   string
}

func newServer(t *testing.T, responses ...canned) *server {
	s := &server{responses: responses}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(s.calls.Add(1)) - 1
		b, _ := io.ReadAll(r.Body)
		s.seen, s.bodies = append(s.seen, r.Clone(context.Background())), append(s.bodies, string(b))
		c := s.responses[min(n, len(s.responses)-1)]
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-Requestid", "req-1")
		w.WriteHeader(c.status)
		_, _ = io.WriteString(w, c.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func config(url string) aws.Config {
	return aws.Config{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(url),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDAWSJSON", SecretAccessKey: "secret", SessionToken: "tok"}, nil
		}),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
				o.RateLimiter = ratelimit.None
			})
		},
	}
}

func TestCall(t *testing.T) {
	srv := newServer(t, canned{200, `{"Parameter":{"Name":"/k","Value":"v","Type":"SecureString"}}`})
	var out struct{ Parameter struct{ Value, Type string } }
	if err := Call(context.Background(), config(srv.URL), SSM, "GetParameter", map[string]any{"Name": "/k", "WithDecryption": true}, &out); err != nil {
		t.Fatal(err)
	}
	if out.Parameter.Value != "v" || out.Parameter.Type != "SecureString" {
		t.Errorf("decoded %+v", out)
	}
	r := srv.seen[0]
	auth := r.Header.Get("Authorization")
	for _, want := range []string{"AWS4-HMAC-SHA256 Credential=AKIDAWSJSON/", "/eu-west-1/ssm/aws4_request", "SignedHeaders=", "x-amz-date", "Signature="} {
		if !strings.Contains(auth, want) {
			t.Errorf("Authorization %q lacks %q", auth, want)
		}
	}
	got := map[string]string{
		"method": r.Method, "path": r.URL.Path, "target": r.Header.Get("X-Amz-Target"),
		"type": r.Header.Get("Content-Type"), "token": r.Header.Get("X-Amz-Security-Token"), "body": srv.bodies[0],
	}
	want := map[string]string{
		"method": "POST", "path": "/", "target": "AmazonSSM.GetParameter", "type": "application/x-amz-json-1.1",
		"token": "tok", "body": `{"Name":"/k","WithDecryption":true}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
}

// CallRaw sends its body as it is, with its content type or none, to
// the path, signed for the service.
func TestCallRaw(t *testing.T) {
	for _, tc := range []struct {
		name, body, contentType string
	}{
		{"a result", `{"approved":true}`, "application/octet-stream"},
		{"no body", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, canned{200, ``})
			path := "/2025-12-01/durable-execution-callbacks/abc%2B%2F%3D/succeed"
			if err := CallRaw(context.Background(), config(srv.URL), Lambda, "SendDurableExecutionCallbackSuccess", path, []byte(tc.body), tc.contentType); err != nil {
				t.Fatal(err)
			}
			r := srv.seen[0]
			got := map[string]string{"path": r.URL.EscapedPath(), "type": r.Header.Get("Content-Type"), "body": srv.bodies[0]}
			want := map[string]string{"path": path, "type": tc.contentType, "body": tc.body}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
			if auth := r.Header.Get("Authorization"); !strings.Contains(auth, "/eu-west-1/lambda/aws4_request") {
				t.Errorf("Authorization %q: not signed for lambda", auth)
			}
		})
	}
}

// A REST-JSON error answer's code may come in X-Amzn-Errortype or a
// "code" member, with a namespace and a suffix; a throttled answer's
// Retry-After is kept.
func TestRESTErrorAnswers(t *testing.T) {
	for _, tc := range []struct {
		name       string
		header     http.Header
		body, code string
	}{
		{"__type with a namespace", nil, `{"__type":"com.amazon.aws#TooManyRequestsException","message":"m"}`, "TooManyRequestsException"},
		{"header with a suffix", http.Header{"X-Amzn-Errortype": {"CallbackTimeoutException:http://internal.amazon.com/"}}, `{"message":"m"}`, "CallbackTimeoutException"},
		{"code member", nil, `{"code":"ServiceException","message":"m"}`, "ServiceException"},
		{"__type with a suffix", nil, `{"__type":"InvalidParameterValueException:x"}`, "InvalidParameterValueException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{"Retry-After": {"7"}}
			maps.Copy(h, tc.header)
			err := responseError(&http.Response{StatusCode: 429, Header: h}, []byte(tc.body))
			var respErr *ResponseError
			if !errors.As(err, &respErr) || respErr.Err.Code != tc.code || respErr.RetryAfter != "7" {
				t.Errorf("%v: want code %s and Retry-After 7", err, tc.code)
			}
		})
	}
}

func TestCallErrors(t *testing.T) {
	tests := []struct {
		name      string
		responses []canned
		calls     int
		code      string
		status    int
		fault     smithy.ErrorFault
	}{
		{"not found", []canned{{400, `{"__type":"com.amazonaws.secretsmanager#ResourceNotFoundException","message":"no such secret"}`}}, 1, "ResourceNotFoundException", 400, smithy.FaultClient},
		{"access denied, no prefix", []canned{{400, `{"__type":"AccessDeniedException","Message":"denied"}`}}, 1, "AccessDeniedException", 400, smithy.FaultClient},
		{"throttled throughout", []canned{{400, `{"__type":"ThrottlingException","message":"slow down"}`}}, 3, "ThrottlingException", 400, smithy.FaultClient},
		{"a 503 throughout", []canned{{503, `not JSON at all`}}, 3, "Service Unavailable", 503, smithy.FaultServer},
		// A status without a name still gives a code (found by FuzzResponseError).
		{"a nameless 4xx from a proxy", []canned{{454, ``}}, 1, "HTTP454", 454, smithy.FaultClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.responses...)
			var out map[string]any
			err := Call(context.Background(), config(srv.URL), SecretsManager, "GetSecretValue", map[string]string{"SecretId": "s"}, &out)
			var apiErr smithy.APIError
			var respErr *ResponseError
			if !errors.As(err, &apiErr) || !errors.As(err, &respErr) {
				t.Fatalf("error %T %v: not an APIError in a ResponseError", err, err)
			}
			if apiErr.ErrorCode() != tt.code || apiErr.ErrorFault() != tt.fault || respErr.HTTPStatusCode() != tt.status || respErr.RequestID != "req-1" {
				t.Errorf("code %q, fault %v, status %d, request id %q", apiErr.ErrorCode(), apiErr.ErrorFault(), respErr.HTTPStatusCode(), respErr.RequestID)
			}
			if got := int(srv.calls.Load()); got != tt.calls {
				t.Errorf("%d calls, want %d", got, tt.calls)
			}
		})
	}

	t.Run("retried then answered", func(t *testing.T) {
		srv := newServer(t, canned{500, `{"__type":"InternalServiceError"}`}, canned{200, `{"SecretString":"x"}`})
		var out struct{ SecretString string }
		if err := Call(context.Background(), config(srv.URL), SecretsManager, "GetSecretValue", map[string]string{"SecretId": "s"}, &out); err != nil || out.SecretString != "x" {
			t.Errorf("%+v, %v", out, err)
		}
	})
	t.Run("response too large", func(t *testing.T) {
		srv := newServer(t, canned{200, `{"SecretString":"` + strings.Repeat("x", MaxResponseBytes) + `"}`})
		var out map[string]any
		err := Call(context.Background(), config(srv.URL), SecretsManager, "GetSecretValue", map[string]string{}, &out)
		if err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		srv := newServer(t, canned{200, `{}`})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var out map[string]any
		if err := Call(ctx, config(srv.URL), SecretsManager, "GetSecretValue", map[string]string{}, &out); !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
	})
}

func FuzzResponseError(f *testing.F) {
	f.Add(400, `{"__type":"a#B","message":"m"}`)
	f.Add(500, `<html>`)
	f.Fuzz(func(t *testing.T, status int, body string) {
		if status < 300 || status > 599 {
			return
		}
		err := responseError(&http.Response{StatusCode: status, Header: http.Header{}}, []byte(body))
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() == "" {
			t.Fatalf("responseError(%d, %q) = %v", status, body, err)
		}
	})
}
