// Package awskeyringtest has stand-ins for the two AWS stores package
// awskeyring reads a keyring from: Secrets Manager (GetSecretValue) and SSM
// Parameter Store (GetParameter). Both are HTTP servers speaking the real
// AWS JSON 1.1 protocol, so the real SDK clients are exercised:
//
//	sm := awskeyringtest.NewSecretsManager(t)
//	sm.Put("sfn-callback-urls/keyring", keyringJSON)
//	out, err := sm.SecretsManagerClient(ctx).GetSecretValue(ctx, ...)
//
// As the services do: a secret is found by name or ARN, a parameter by name
// or ARN; an unknown one is ResourceNotFoundException or ParameterNotFound;
// a SecureString parameter read without WithDecryption returns its
// ciphertext, not its value; FailNext injects errors.
package awskeyringtest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// Region and account of the stand-ins' resources.
const (
	Region  = "us-east-1"
	Account = "111122223333"
)

// Parameter types of Parameter Store.
const (
	String       = "String"
	SecureString = "SecureString"
)

// Server is a running stand-in for one of the two services. Its methods
// are safe for concurrent use.
type Server struct {
	srv     *httptest.Server
	service string // SigV4 signing name
	target  string // X-Amz-Target prefix

	mu       sync.Mutex
	items    map[string]item
	failures []failure
	calls    int
}

type item struct {
	value  string
	binary bool   // secret stored as SecretBinary
	typ    string // parameter type
}

type failure struct {
	status int
	code   string
}

// NewSecretsManager starts a Secrets Manager stand-in, closed when the test
// ends.
func NewSecretsManager(t testing.TB) *Server {
	return start(t, "secretsmanager", "secretsmanager.")
}

// NewParameterStore starts an SSM Parameter Store stand-in, closed when the
// test ends.
func NewParameterStore(t testing.TB) *Server {
	return start(t, "ssm", "AmazonSSM.")
}

func start(t testing.TB, service, target string) *Server {
	t.Helper()
	s := &Server{service: service, target: target, items: make(map[string]item)}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the server's base URL, for BaseEndpoint or
// AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL_SSM.
func (s *Server) URL() string { return s.srv.URL }

// Put stores a secret (SecretString) or a SecureString parameter.
func (s *Server) Put(name, value string) { s.put(name, item{value: value, typ: SecureString}) }

// PutBinary stores a secret as SecretBinary.
func (s *Server) PutBinary(name string, value []byte) {
	s.put(name, item{value: string(value), binary: true, typ: SecureString})
}

// PutParameter stores a parameter of type typ (String or SecureString).
func (s *Server) PutParameter(name, typ, value string) { s.put(name, item{value: value, typ: typ}) }

func (s *Server) put(name string, it item) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items[name] = it
}

// ARN is the ARN of the secret or parameter name.
func (s *Server) ARN(name string) string {
	if s.service == "ssm" {
		return "arn:aws:ssm:" + Region + ":" + Account + ":parameter/" + strings.TrimPrefix(name, "/")
	}
	return "arn:aws:secretsmanager:" + Region + ":" + Account + ":secret:" + name + "-AbCdEf"
}

// FailNext makes the next n requests fail with status and code (for
// example 400 "AccessDeniedException", 400 "ThrottlingException").
func (s *Server) FailNext(n, status int, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, failure{status, code})
	}
}

// Count is the number of requests received.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Config is an SDK configuration for this stand-in, as a main would load
// it: fake credentials, and the standard retryer (3 attempts) with a 1 ms
// backoff and no retry quota. It reads no environment or shared config.
func (s *Server) Config() aws.Config {
	return aws.Config{
		Region:       Region,
		BaseEndpoint: aws.String(s.srv.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDKEYRINGTEST", SecretAccessKey: "keyringtest-secret", Source: "awskeyringtest"}, nil
		}),
		HTTPClient: s.srv.Client(),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
				o.RateLimiter = ratelimit.None
			})
		},
	}
}

// SecretsManagerClient is an SDK client for a Secrets Manager stand-in,
// on Config.
func (s *Server) SecretsManagerClient(ctx context.Context, optFns ...func(*secretsmanager.Options)) *secretsmanager.Client {
	_ = ctx
	return secretsmanager.NewFromConfig(s.Config(), optFns...)
}

// SSMClient is an SDK client for a Parameter Store stand-in, on Config.
func (s *Server) SSMClient(ctx context.Context, optFns ...func(*ssm.Options)) *ssm.Client {
	_ = ctx
	return ssm.NewFromConfig(s.Config(), optFns...)
}

type apiError struct {
	status  int
	code    string
	message string
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	resp, aerr := s.handle(r)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", "keyringtest")
	if aerr != nil {
		body, _ := json.Marshal(map[string]string{"__type": aerr.code, "message": aerr.message})
		w.WriteHeader(aerr.status)
		_, _ = w.Write(body)
		return
	}
	body, _ := json.Marshal(resp)
	_, _ = w.Write(body)
}

func (s *Server) handle(r *http.Request) (any, *apiError) {
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		return nil, &apiError{http.StatusNotFound, "UnknownOperationException", ""}
	}
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") || !strings.Contains(auth, "/"+s.service+"/aws4_request") {
		return nil, &apiError{http.StatusBadRequest, "InvalidSignatureException", "Credential should be scoped to correct service: '" + s.service + "'."}
	}
	if r.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
		return nil, &apiError{http.StatusBadRequest, "SerializationException", "expected application/x-amz-json-1.1"}
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), s.target)
	want := map[string]string{"secretsmanager": "GetSecretValue", "ssm": "GetParameter"}[s.service]
	if !ok || op != want {
		return nil, &apiError{http.StatusBadRequest, "UnknownOperationException", ""}
	}
	var req struct {
		SecretID       string `json:"SecretId"`
		Name           string `json:"Name"`
		WithDecryption bool   `json:"WithDecryption"`
	}
	data, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err := json.Unmarshal(data, &req); err != nil {
		return nil, &apiError{http.StatusBadRequest, "SerializationException", ""}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if len(s.failures) > 0 {
		f := s.failures[0]
		s.failures = s.failures[1:]
		return nil, &apiError{f.status, f.code, "injected by awskeyringtest.FailNext"}
	}
	if s.service == "secretsmanager" {
		return s.getSecretValue(req.SecretID)
	}
	return s.getParameter(req.Name, req.WithDecryption)
}

func (s *Server) lookup(id string) (string, item, bool) {
	for name, it := range s.items {
		if id == name || id == s.ARN(name) {
			return name, it, true
		}
	}
	return "", item{}, false
}

func (s *Server) getSecretValue(id string) (any, *apiError) {
	name, it, ok := s.lookup(id)
	if !ok {
		return nil, &apiError{http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret."}
	}
	out := map[string]any{
		"ARN": s.ARN(name), "Name": name, "VersionId": "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
		"VersionStages": []string{"AWSCURRENT"}, "CreatedDate": 1.7e9,
	}
	if it.binary {
		out["SecretBinary"] = base64.StdEncoding.EncodeToString([]byte(it.value))
	} else {
		out["SecretString"] = it.value
	}
	return out, nil
}

func (s *Server) getParameter(id string, decrypt bool) (any, *apiError) {
	name, it, ok := s.lookup(id)
	if !ok {
		return nil, &apiError{http.StatusBadRequest, "ParameterNotFound", ""}
	}
	value := it.value
	if it.typ == SecureString && !decrypt {
		// What SSM returns: the KMS ciphertext, base64.
		value = base64.StdEncoding.EncodeToString(append([]byte("\x01\x02\x02\x00x"), make([]byte, 150+len(value))...))
	}
	return map[string]any{"Parameter": map[string]any{
		"Name": name, "Type": it.typ, "Value": value, "Version": 1,
		"ARN": s.ARN(name), "DataType": "text", "LastModifiedDate": 1.7e9,
	}}, nil
}
