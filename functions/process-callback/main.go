// Command process-callback is the ProcessCallback Lambda function
// (provided.al2023, built as "bootstrap"): GET, POST and HEAD /respond
// through API Gateway.
//
// It is its own composition root: it builds only what answering callbacks
// needs (keys, the core, post action selection, the targets, the /respond
// endpoint and its pages).
package main

import (
	"context"
	"fmt"

	"github.com/sfncallbackurls/sfn-callback-urls/functions/internal/boot"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/durablecallbacks"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/respond"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/lambdaapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/stepfunctions"
)

func main() { boot.Main("process-callback", build) }

func build(ctx context.Context) (lambdaapi.Handler, error) {
	start, err := boot.New(ctx)
	if err != nil {
		return nil, err
	}
	awsCfg, err := start.AWSConfig()
	if err != nil {
		return nil, fmt.Errorf("step functions and lambda clients: %w", err)
	}
	svc := start.Service(callbackurls.Targets{
		callbackurls.TaskToken:       stepfunctions.NewFromAWSConfig(awsCfg),
		callbackurls.DurableCallback: durablecallbacks.NewFromAWSConfig(awsCfg),
	})
	api := httpapi.NewRouter(start.Logger, start.Settings.Verbose)
	api.Handle("/respond", "/respond", respond.NewHandler(svc, respond.Options{Logger: start.Logger, Verbose: start.Settings.Verbose}))
	return lambdaapi.CallbackHandler(api, start.Logger), nil
}
