// Command process-callback is the ProcessCallback Lambda function
// (provided.al2023, built as "bootstrap"): GET, POST and HEAD /respond
// through API Gateway.
//
// It is its own composition root: it reads the settings and builds only
// what answering callbacks needs (keys, the core, post action selection,
// Step Functions, the /respond endpoint and its pages).
package main

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/awsenv"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/respond"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keysource"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/lambdaapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/postaction"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/stepfunctions"
)

func main() {
	handler, err := build(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "process-callback:", err)
		os.Exit(1)
	}
	lambda.Start(handler)
}

func build(ctx context.Context) (lambdaapi.Handler, error) {
	settings, err := config.FromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	if err := settings.Check(); err != nil {
		return nil, err
	}
	logger := config.NewLogger(os.Stdout, settings.Verbose)
	// The Lambda environment's configuration, read once and only when a
	// part needs AWS (see internal/awsenv: no config files, no STS or SSO).
	awsConfig := sync.OnceValues(func() (aws.Config, error) { return awsenv.Config(os.Getenv) })
	keys, err := keysource.Open(ctx, &settings, awsConfig, keysource.Options{})
	if err != nil {
		return nil, err
	}
	awsCfg, err := awsConfig()
	if err != nil {
		return nil, fmt.Errorf("step functions client: %w", err)
	}
	cfg := settings.Service()
	cfg.PostActions = postaction.New()
	svc := callbackurls.New(cfg, keys.Codec(), callbackurls.Targets{callbackurls.TaskToken: stepfunctions.NewFromAWSConfig(awsCfg)})

	api := httpapi.NewRouter(logger, settings.Verbose)
	api.Handle("/respond", "/respond", respond.NewHandler(svc, respond.Options{Logger: logger, Verbose: settings.Verbose}))
	return lambdaapi.CallbackHandler(api, logger), nil
}
