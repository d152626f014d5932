// Command create-urls is the CreateUrls Lambda function (provided.al2023,
// built as "bootstrap"): POST /urls through API Gateway, or a direct invoke
// with the CreateUrls request as the event.
//
// It is its own composition root: it builds only what creating URLs needs
// (keys, the core, post action compilation, the /urls endpoint). It sends
// nothing to a target and serves no pages.
package main

import (
	"context"

	"github.com/sfncallbackurls/sfn-callback-urls/functions/internal/boot"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/lambdaapi"
)

func main() { boot.Main("create-urls", build) }

func build(ctx context.Context) (lambdaapi.Handler, error) {
	start, err := boot.New(ctx)
	if err != nil {
		return nil, err
	}
	// Creating URLs sends no decisions.
	svc := start.Service(nil, nil)
	api := httpapi.NewRouter(start.Logger, start.Settings.Verbose)
	api.Handle("/urls", "POST /urls", httpapi.NewCreateHandler(svc, httpapi.CreateOptions{
		Logger: start.Logger, Verbose: start.Settings.Verbose, Via: lambdaapi.Gateway,
	}))
	return lambdaapi.CreateURLsHandler(svc, api, start.Logger), nil
}
