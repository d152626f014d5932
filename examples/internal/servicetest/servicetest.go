// Package servicetest runs sfn-callback-urls in-process for the examples'
// tests: the project's own handlers for POST /urls and /respond on an
// httptest server, and the CreateUrls function's direct-invoke handler in
// a Lambda Invoke stand-in (pkg/client/lambdatest), with a
// static keyring and the sfntest Step Functions stand-in behind them. So an
// example's code goes through the real pkg/client transports and the real
// service, and a test can "click" the URLs it mailed and see the outcome
// reach Step Functions:
//
//	svc := servicetest.Start(t, servicetest.Options{})
//	svc.SFN.AddTask(token)
//	c := client.NewHTTP(svc.HTTPConfig(), svc.URL) // or client.NewLambda(svc.Lambda.Config(), servicetest.FunctionARN)
//	... the example creates URLs and mails them ...
//	svc.Click(t, approveURL, nil)
//	state, _ := svc.SFN.Task(token) // sfntest.StatusSucceeded
package servicetest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/sfncallbackurls/sfn-callback-urls/examples/internal/awstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/client"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/client/lambdatest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/respond"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/lambdaapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/messages"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/postaction"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/stepfunctions"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/stepfunctions/sfntest"
)

// FunctionName is the CreateUrls function's name in Lambda.
const FunctionName = "sfn-callback-urls-create-urls"

// FunctionARN is its ARN.
const FunctionARN = "arn:aws:lambda:" + lambdatest.Region + ":" + lambdatest.AccountID + ":function:" + FunctionName

// Key modes of Options.Keys.
const (
	Keyring     = "keyring"      // a static keyring (the default)
	KMSEnvelope = "kms-envelope" // a KMS SYMMETRIC_DEFAULT key, through the kmstest stand-in
	KMSHMAC     = "kms-hmac"     // a KMS HMAC_256 key, through the kmstest stand-in
)

// KeyModes are the modes, in the README's order.
var KeyModes = []string{KMSHMAC, Keyring, KMSEnvelope}

// Options are the deployment's settings.
type Options struct {
	// Keys is the key mode: Keyring ("" too), KMSEnvelope or KMSHMAC.
	Keys                   string
	EnablePostActions      bool
	EnableOutputParameters bool
}

// Service is a running sfn-callback-urls.
type Service struct {
	// URL is the base URL: POST {URL}/urls, {URL}/respond?..., and the
	// Lambda API's endpoint for client.NewLambda.
	URL string
	// SFN is the Step Functions the service sends outcomes to.
	SFN *sfntest.Server
	// Lambda runs the CreateUrls function's direct-invoke handler, for
	// client.NewLambda(svc.Lambda.Config(), servicetest.FunctionName).
	Lambda *lambdatest.Server

	creates atomic.Int64
	invokes atomic.Int64
}

// Start runs the service until the test ends.
func Start(t testing.TB, opts Options) *Service {
	t.Helper()
	keys := keySource(t, opts.Keys)
	s := &Service{SFN: sfntest.New(t), Lambda: lambdatest.New(t)}
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	s.URL = srv.URL

	logger := slog.New(slog.DiscardHandler)
	svc := callbackurls.New(callbackurls.Config{
		BaseURL:                srv.URL,
		EnablePostActions:      opts.EnablePostActions,
		EnableOutputParameters: opts.EnableOutputParameters,
		PostActions:            postaction.New(),
		Composer:               messages.Composer{},
	}, &payload.Codec{Keys: keys}, callbackurls.Targets{callbackurls.TaskToken: stepfunctions.New(s.SFN.Client(context.Background()))})

	rt := httpapi.NewRouter(logger, false)
	create := httpapi.NewCreateHandler(svc, httpapi.CreateOptions{Logger: logger})
	rt.Handle("/urls", "POST /urls", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.creates.Add(1)
		create.ServeHTTP(w, r)
	}))
	rt.Handle("/respond", "/respond", respond.NewHandler(svc, respond.Options{Logger: logger}))
	handler = rt
	direct := lambdaapi.CreateURLsHandler(svc, rt, logger)
	s.Lambda.AddFunction(FunctionName, func(ctx context.Context, event json.RawMessage) (any, error) {
		s.invokes.Add(1)
		return direct(ctx, event)
	})
	return s
}

// keySource is the key source of a mode.
func keySource(t testing.TB, mode string) payload.KeySource {
	t.Helper()
	switch mode {
	case "", Keyring:
		keys, err := keyring.New(keyring.Key{ID: "examples", Secret: bytes.Repeat([]byte{0x42}, keyring.KeySize)})
		if err != nil {
			t.Fatal(err)
		}
		return keys
	case KMSEnvelope, KMSHMAC:
		srv := kmstest.New(t)
		arn := srv.KeyARN()
		if mode == KMSHMAC {
			arn = srv.HMACKeyARN()
		}
		ctx := context.Background()
		keys, err := kmskeys.New(ctx, srv.Client(ctx), kmskeys.Options{KeyID: arn})
		if err != nil {
			t.Fatalf("KMS keys (%s): %v", mode, err)
		}
		return keys
	}
	t.Fatalf("servicetest: unknown key mode %q", mode)
	return nil
}

// HTTPConfig is an aws.Config for client.NewHTTP(cfg, svc.URL): fake
// credentials (the requests are signed; the local endpoint does not
// check), region us-east-1.
func (s *Service) HTTPConfig() aws.Config { return awstest.Config(s.URL) }

// Creates is how many POST /urls requests arrived.
func (s *Service) Creates() int { return int(s.creates.Load()) }

// Invokes is how many times the CreateUrls function ran.
func (s *Service) Invokes() int { return int(s.invokes.Load()) }

// Click POSTs to a callback URL as an API client does (Accept:
// application/json): with form values as a form body, else with no body.
// It returns the status and the body.
func (s *Service) Click(t testing.TB, callbackURL string, form url.Values) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, callbackURL, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")
	return s.do(t, req)
}

// PostJSON POSTs a JSON body to a callback URL, as a webhook sender does.
func (s *Service) PostJSON(t testing.TB, callbackURL, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, callbackURL, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return s.do(t, req)
}

func (s *Service) do(t testing.TB, req *http.Request) (int, string) {
	t.Helper()
	if !strings.HasPrefix(req.URL.String(), s.URL+"/respond?") {
		t.Fatalf("%s is not a callback URL of this service", req.URL.Redacted())
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// APIGatewayBase is a base URL as long as a deployed stack's, for
// measuring the URLs people get.
const APIGatewayBase = "https://abc123defg.execute-api.us-east-1.amazonaws.com/v1"

// URLCreator is what the examples create URLs with: a *client.Client.
type URLCreator interface {
	CreateURLs(ctx context.Context, req client.Request) (*client.URLs, error)
}

// Rebased creates URLs through Next with Base as their base URL: they
// cannot be clicked here, but are as long as a deployment's.
type Rebased struct {
	Next URLCreator
	Base string
}

// CreateURLs implements URLCreator.
func (r Rebased) CreateURLs(ctx context.Context, req client.Request) (*client.URLs, error) {
	req.BaseURL = r.Base
	return r.Next.CreateURLs(ctx, req)
}

// Lengths collects URL lengths.
type Lengths struct{ n, sum, min, max int }

// Add counts one URL.
func (l *Lengths) Add(u string) {
	n := len(u)
	if l.n == 0 || n < l.min {
		l.min = n
	}
	l.max = max(l.max, n)
	l.n++
	l.sum += n
}

// Mean, Min and Max are over the URLs added (0 if none).
func (l *Lengths) Mean() int {
	if l.n == 0 {
		return 0
	}
	return (l.sum + l.n/2) / l.n
}
func (l *Lengths) Min() int { return l.min }
func (l *Lengths) Max() int { return l.max }
