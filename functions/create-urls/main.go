// Command create-urls is the CreateUrls Lambda function (provided.al2023,
// built as "bootstrap"): POST /urls through API Gateway, or a direct invoke
// with the CreateUrls request as the event.
//
// It is its own composition root: it reads the settings and builds only
// what creating URLs needs (keys, the core, post action compilation, the
// /urls endpoint). It sends nothing to Step Functions and serves no pages.
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
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keysource"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/lambdaapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/postaction"
)

func main() {
	handler, err := build(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "create-urls:", err)
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
	cfg := settings.Service()
	cfg.PostActions = postaction.New()
	// Creating URLs never calls Step Functions.
	svc := callbackurls.New(cfg, keys.Codec(), nil)

	api := httpapi.NewRouter(logger, settings.Verbose)
	api.Handle("/urls", "POST /urls", httpapi.NewCreateHandler(svc, httpapi.CreateOptions{
		Logger: logger, Verbose: settings.Verbose, Via: lambdaapi.Gateway,
	}))
	return lambdaapi.CreateURLsHandler(svc, api, logger), nil
}
