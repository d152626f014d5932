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
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/delivery"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keysource"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/lambdaapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/messages"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/postaction"
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
	return s, nil
}

// Service is the core on the settings and keys, with post actions and
// ready-made messages, sending decisions to targets (none for a function
// that only creates URLs). Delivery is wired only when the settings name
// a sender or topics; its SES and SNS clients are made on first use.
func (s *Start) Service(targets callbackurls.Targets) *callbackurls.Service {
	cfg := s.Settings.Service()
	cfg.PostActions = postaction.New()
	cfg.Composer = messages.Composer{}
	if delivery.Configured(s.Settings.SenderEmail, s.Settings.AllowedTopicARNs) {
		d := delivery.New(delivery.AWSChannels(s.AWSConfig, s.Settings.SenderEmail, s.Settings.AllowedTopicARNs),
			delivery.Options{Sender: s.Settings.SenderEmail, Topics: s.Settings.AllowedTopicARNs, Composer: cfg.Composer, Logger: s.Logger})
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
