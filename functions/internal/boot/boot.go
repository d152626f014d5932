// Package boot is what both Lambda functions do at a cold start before
// they build what only they serve: read and check the settings, make the
// logger, open the keys, and configure the core.
package boot

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/awsenv"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/awskeyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/delivery"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keysource"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/lambdaapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/messages"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/postaction"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/slack"
)

// Start is a function's start: its settings, logger, AWS configuration
// and keys.
type Start struct {
	Settings config.Config
	Logger   *slog.Logger
	// AWSConfig is the Lambda environment's configuration, read once and
	// only when a part needs AWS (see internal/awsenv: no config files,
	// no STS or SSO).
	AWSConfig keysource.AWSConfig
	Keys      keysource.Keys
	// SlackBot calls Slack's Web API with the bot token (nil without
	// SLACK_BOT_TOKEN or SLACK_BOT_TOKEN_ARN; the token is read at the
	// first call).
	SlackBot *slack.Client
}

// New reads the settings from the environment and opens the keys.
func New(ctx context.Context) (*Start, error) {
	settings, err := config.FromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	if err := settings.Check(); err != nil {
		return nil, err
	}
	s := &Start{
		Settings:  settings,
		Logger:    config.NewLogger(os.Stdout, settings.Verbose),
		AWSConfig: sync.OnceValues(func() (aws.Config, error) { return awsenv.Config(os.Getenv) }),
	}
	// A KMS key is described at its first use: KMS failing at a cold
	// start then gets the caller a 503 with Retry-After (and the next
	// request another try), where an exit here would be a bare 502.
	if s.Keys, err = keysource.Open(ctx, &s.Settings.Settings, s.AWSConfig, keysource.Options{DescribeKMSKeysOnFirstUse: true}); err != nil {
		return nil, err
	}
	if tok := slack.Secret(settings.SlackBotToken, settings.SlackBotTokenARN, s.ReadSecret); tok != nil {
		s.SlackBot = slack.NewClient(tok, slack.Options{APIURL: settings.SlackAPI()})
	}
	return s, nil
}

// ReadSecret reads a Secrets Manager secret's string (the Slack app's
// secrets, at their first use).
func (s *Start) ReadSecret(ctx context.Context, arn string) (string, error) {
	cfg, err := s.AWSConfig()
	if err != nil {
		return "", fmt.Errorf("loading AWS configuration: %w", err)
	}
	return awskeyring.SecretString(ctx, cfg, arn)
}

// Service is the core on the settings and keys, with post actions and
// ready-made messages, sending decisions to targets (none for a function
// that only creates URLs) and signing receipts with signer (nil: none
// here; a function that only creates URLs still knows whether receipts are
// signed). Delivery is wired only when the settings name a sender or
// topics, or a Slack bot token; its SES and SNS clients are made on first
// use.
func (s *Start) Service(targets callbackurls.Targets, signer callbackurls.Signer) *callbackurls.Service {
	cfg := s.Settings.Service()
	cfg.PostActions = postaction.New()
	cfg.Receipts = s.Keys.CanSign(s.Settings.SigningKeyID)
	cfg.Signer = signer
	cfg.Composer = messages.Composer{}
	aws := delivery.Configured(s.Settings.SenderEmail, s.Settings.AllowedTopicARNs)
	if aws || s.SlackBot != nil {
		var ch delivery.Channels
		if aws {
			ch = delivery.AWSChannels(s.AWSConfig, s.Settings.SenderEmail, s.Settings.AllowedTopicARNs)
		}
		if s.SlackBot != nil {
			ch.Slack = s.SlackBot.Post
		}
		d := delivery.New(ch, delivery.Options{Sender: s.Settings.SenderEmail, Topics: s.Settings.AllowedTopicARNs, Composer: cfg.Composer, Logger: s.Logger})
		cfg.Deliverer, cfg.Notifier = d, d
	}
	return callbackurls.New(cfg, s.Keys.Codec(), targets)
}

// Main starts the Lambda runtime with the handler build makes, or exits
// with its error (name prefixes it in the function's log).
func Main(name string, build func(context.Context) (lambdaapi.Handler, error)) {
	handler, err := build(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
	lambda.Start(handler)
}
