// Package localserver is the local server's composition: every endpoint of
// both Lambda functions (POST /urls and /respond) on one router, over the
// local task store or AWS Step Functions, and with the local store its own
// endpoints (/local/) and the home page: task tokens go to the store or
// Step Functions, callback ids to the store or Lambda. `sfn-callback-urls
// serve` runs it; tests use it as the whole service in-process, so that
// what they test is what serve builds.
package localserver

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/awskeyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/delivery"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/durablecallbacks"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/home"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/respond"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keysource"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localstore"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localstore/localweb"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/messages"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/postaction"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/receipts"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/signin"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/slack"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/slackapp"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/stepfunctions"
)

// Options are what a server is built from besides its settings.
type Options struct {
	Logger *slog.Logger // nil: discard
	// Keys says whether a missing key file is made.
	Keys keysource.Options
	// KeySource, if set, replaces the key source the settings choose
	// (tests: a fixed keyring, a KMS stand-in's source).
	KeySource payload.KeySource
	// Target, if set, receives task token decisions instead of the back
	// end the settings choose (tests: a double, or a wrapper that counts).
	// The local store is still opened with --sfn local, for /local/.
	Target func(store *localstore.Store) callbackurls.Target
	// Durable, if set, receives durable callback decisions instead of the
	// back end the settings choose (tests: the durabletest stand-in).
	Durable callbackurls.Target
	// PostActions replaces post action evaluation (nil: postaction.New()).
	PostActions callbackurls.PostActions
	// AWSConfig loads the SDK's configuration (nil: the default chain).
	AWSConfig keysource.AWSConfig
	// Now is the service's clock (nil: time.Now).
	Now func() time.Time
	// Version is the home page's version line.
	Version string
	// Via names the API Gateway stage a request came through, as the
	// CreateUrls function mounts POST /urls (lambdaapi.Gateway): for tests
	// that run this composition behind the Lambda adapter. Nil for serve.
	Via func(*http.Request) callbackurls.Gateway
	// SlackHTTP sends the Slack Web API's calls and the response_url
	// follow-ups (nil: a client with a 10 s timeout).
	SlackHTTP *http.Client
}

// Server is a built local server.
type Server struct {
	Service *callbackurls.Service
	Keys    keysource.Keys
	// Store is the local task store (nil with --sfn aws).
	Store *localstore.Store
	// SignIn signs people in for URLs that name approvers (nil without
	// --oidc-issuer or --dev-signin); Signer signs receipts (nil without
	// a signing key).
	SignIn *signin.Service
	Signer *receipts.Signer
	// SlackBot calls Slack's Web API with the bot token (nil without one).
	SlackBot *slack.Client
	// Handler serves every endpoint.
	Handler http.Handler
}

// New builds the server c describes; c has passed Check and has its base
// URL. Close releases the store.
func New(ctx context.Context, c *config.Config, opts Options) (*Server, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	awsConfig := opts.AWSConfig
	if awsConfig == nil {
		awsConfig = sync.OnceValues(func() (aws.Config, error) { return awsconfig.LoadDefaultConfig(ctx) })
	}
	s := &Server{}
	if opts.KeySource != nil {
		s.Keys = keysource.Keys{Source: opts.KeySource}
	} else {
		keys, err := keysource.Open(ctx, &c.Settings, awsConfig, opts.Keys)
		if err != nil {
			return nil, err
		}
		s.Keys = keys
	}
	if err := s.approvals(c, awsConfig, logger, opts.Now); err != nil {
		return nil, err
	}
	// durable receives durable callback ids: Lambda beside Step Functions,
	// or the local store beside its tasks.
	var target, durable callbackurls.Target
	switch c.SFN {
	case config.SFNAWS:
		if opts.Target == nil {
			cfg, err := awsConfig()
			if err != nil {
				return nil, fmt.Errorf("step functions client: loading AWS configuration: %w", err)
			}
			// Said now, not at the first click as if AWS were down.
			if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
				return nil, fmt.Errorf("--sfn aws needs AWS credentials, and none were found (%w): set AWS_PROFILE, "+
					"or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run with --sfn local", err)
			}
			target = stepfunctions.NewFromAWSConfig(cfg)
			durable = durablecallbacks.NewFromAWSConfig(cfg)
		}
	default:
		path := c.StorePath
		if path == "" {
			path = config.DefaultStorePath
		}
		store, err := localstore.Open(path)
		if err != nil {
			return nil, fmt.Errorf("local task store %s: %w", path, err)
		}
		s.Store, target, durable = store, store, store.Durable()
	}
	if opts.Target != nil {
		target = opts.Target(s.Store)
	}
	if opts.Durable != nil {
		durable = opts.Durable
	}
	cfg := c.Service()
	cfg.PostActions = opts.PostActions
	if cfg.PostActions == nil {
		cfg.PostActions = postaction.New()
	}
	cfg.Now = opts.Now
	cfg.Receipts = s.Keys.CanSign(c.SigningKeyID)
	if s.Signer != nil {
		cfg.Signer = s.Signer
	}
	cfg.Composer = messages.Composer{}
	// With the local store, delivery fills its outbox; with --sfn aws, it
	// is the functions' (SES and SNS) when a sender or topics are set.
	dopts := delivery.Options{Sender: c.SenderEmail, Topics: c.AllowedTopicARNs, Composer: cfg.Composer, Logger: logger}
	readSecret := func(ctx context.Context, arn string) (string, error) {
		cfg, err := awsConfig()
		if err != nil {
			return "", fmt.Errorf("loading AWS configuration: %w", err)
		}
		return awskeyring.SecretString(ctx, cfg, arn)
	}
	if tok := slack.Secret(c.SlackBotToken, c.SlackBotTokenARN, readSecret); tok != nil {
		s.SlackBot = slack.NewClient(tok, slack.Options{APIURL: c.SlackAPI(), HTTP: opts.SlackHTTP})
	}
	var d *delivery.Service
	var ch delivery.Channels
	switch {
	case s.Store != nil:
		if dopts.Sender == "" {
			dopts.Sender = LocalSender
		}
		ch = outboxChannels(s.Store, cfg.Composer)
	case delivery.Configured(c.SenderEmail, c.AllowedTopicARNs):
		ch = delivery.AWSChannels(awsConfig, c.SenderEmail, c.AllowedTopicARNs)
	}
	if s.SlackBot != nil {
		// Slack is Slack's even with the local store: the message's
		// buttons come back to this server.
		ch.Slack = s.SlackBot.Post
	}
	if s.Store != nil || delivery.Configured(c.SenderEmail, c.AllowedTopicARNs) || s.SlackBot != nil {
		d = delivery.New(ch, dopts)
	}
	if d != nil {
		cfg.Deliverer, cfg.Notifier = d, d
	}
	targets := callbackurls.Targets{callbackurls.TaskToken: target}
	if durable != nil {
		targets[callbackurls.DurableCallback] = durable
	}
	s.Service = callbackurls.New(cfg, s.Keys.Codec(), targets)

	rt := httpapi.NewRouter(logger, c.Verbose)
	rt.Handle("/urls", "POST /urls", httpapi.NewCreateHandler(s.Service, httpapi.CreateOptions{Logger: logger, Verbose: c.Verbose, Via: opts.Via}))
	ro := respond.Options{Logger: logger, Verbose: c.Verbose}
	if s.SignIn != nil {
		ro.SignIn = s.SignIn
		rt.Handle(signin.Prefix, "", s.SignIn)
	}
	if s.Signer != nil {
		rt.Handle(httpapi.JWKSPath, "GET "+httpapi.JWKSPath, httpapi.NewJWKSHandler(func(ctx context.Context) (any, error) { return s.Signer.JWKS(ctx) }))
	}
	rt.Handle("/respond", "/respond", respond.NewHandler(s.Service, ro))
	if secret := slack.Secret(c.SlackSigningSecret, c.SlackSigningSecretARN, readSecret); secret != nil {
		rt.Handle(slackapp.Path, "POST "+slackapp.Path, slackapp.New(slackapp.Config{
			Service: s.Service, Verifier: slack.NewVerifier(secret, opts.Now), Responder: slack.NewResponder(c.SlackAPI(), opts.SlackHTTP),
			Bot: s.SlackBot, Logger: logger, Verbose: c.Verbose, Now: opts.Now,
		}))
	}
	local := ""
	if s.Store != nil {
		rt.Handle(localweb.Prefix, "", localweb.New(localweb.Options{Store: s.Store, Service: s.Service, BaseURL: c.BaseURL, Outbox: s.Store,
			DemoApprovers: c.DevSignIn}))
		local = localweb.Prefix
	}
	// The first URL a person opens: a page for browsers, the JSON 404 for
	// programs. Only the local server has one (API Gateway routes no "/").
	rt.Handle(home.Pattern, "", home.New(home.Options{Version: opts.Version, Local: local}))
	s.Handler = rt
	return s, nil
}

// approvals builds the sign-in and the receipt signer the settings ask
// for: both are wired only when configured.
func (s *Server) approvals(c *config.Config, awsConfig keysource.AWSConfig, logger *slog.Logger, now func() time.Time) error {
	var err error
	if s.SignIn, err = signin.FromSettings(c, signin.Config{Keys: s.Keys.Source, Logger: logger, Now: now}, awsConfig); err != nil {
		return err
	}
	key, previous, err := s.Keys.ReceiptKey(c.SigningKeyID, awsConfig)
	if err != nil || key == nil {
		return err
	}
	base, err := c.DeploymentBase()
	if err != nil {
		return err
	}
	s.Signer = receipts.NewSigner(base, key, previous...)
	return nil
}

// Close closes the local store, if there is one.
func (s *Server) Close() error {
	if s.Store != nil {
		return s.Store.Close()
	}
	return nil
}
