// Package awskeyringtest has stand-ins for the two AWS stores package
// awskeyring reads a keyring from: Secrets Manager (GetSecretValue) and SSM
// Parameter Store (GetParameter). Both are built on internal/standin's
// base, speaking the real AWS JSON 1.1 protocol and verifying signatures,
// so the real SDK clients are exercised:
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
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/standin"
)

// Region and account of the stand-ins' resources.
const (
	Region  = standin.Region
	Account = standin.Account
)

// Parameter types of Parameter Store.
const (
	String       = "String"
	SecureString = "SecureString"
)

// Server is a running stand-in for one of the two services. Its methods
// are safe for concurrent use; the base's (URL, Config, FailNext,
// Throttle, ...) come with it.
type Server struct {
	*standin.Server
	service string // SigV4 signing name

	mu    sync.Mutex
	items map[string]item
}

type item struct {
	value  string
	binary bool   // secret stored as SecretBinary
	typ    string // parameter type
}

// NewSecretsManager starts a Secrets Manager stand-in, closed when the test
// ends.
func NewSecretsManager(t testing.TB) *Server {
	s := start(t, "secretsmanager", "secretsmanager")
	standin.Handle(s.Server, "GetSecretValue", s.getSecretValue)
	return s
}

// NewParameterStore starts an SSM Parameter Store stand-in, closed when the
// test ends.
func NewParameterStore(t testing.TB) *Server {
	s := start(t, "ssm", "AmazonSSM")
	standin.Handle(s.Server, "GetParameter", s.getParameter)
	return s
}

func start(t testing.TB, service, target string) *Server {
	t.Helper()
	return &Server{service: service, items: make(map[string]item), Server: standin.New(t, standin.Service{
		Name: "awskeyringtest", Protocol: standin.JSON11, SigningName: service, TargetPrefix: target, MaxRequestBytes: 1 << 16})}
}

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

// Count is the number of requests received.
func (s *Server) Count() int { return len(s.Server.Calls()) }

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

func (s *Server) lookup(id string) (string, item, bool) {
	for name, it := range s.items {
		if id == name || id == s.ARN(name) {
			return name, it, true
		}
	}
	return "", item{}, false
}

type getInput struct {
	SecretID       string `json:"SecretId"`
	Name           string `json:"Name"`
	WithDecryption bool   `json:"WithDecryption"`
}

func (s *Server) getSecretValue(_ *standin.Request, in *getInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name, it, ok := s.lookup(in.SecretID)
	if !ok {
		return nil, standin.Errorf(http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
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

func (s *Server) getParameter(_ *standin.Request, in *getInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name, it, ok := s.lookup(in.Name)
	if !ok {
		return nil, standin.Errorf(http.StatusBadRequest, "ParameterNotFound", "")
	}
	value := it.value
	if it.typ == SecureString && !in.WithDecryption {
		// What SSM returns: the KMS ciphertext, base64.
		value = base64.StdEncoding.EncodeToString(append([]byte("\x01\x02\x02\x00x"), make([]byte, 150+len(value))...))
	}
	return map[string]any{"Parameter": map[string]any{
		"Name": name, "Type": it.typ, "Value": value, "Version": 1,
		"ARN": s.ARN(name), "DataType": "text", "LastModifiedDate": 1.7e9,
	}}, nil
}
