// Command create-urls is the CreateUrls Lambda function (provided.al2023,
// built as "bootstrap"): POST /urls through API Gateway, or a direct invoke
// with the CreateUrls request as the event.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/lambdaapi"
)

func main() {
	slog.SetDefault(config.NewLogger(os.Stdout, false))
	app, err := config.LoadLambda(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "create-urls:", err)
		os.Exit(1)
	}
	// The sandbox ends the process; a Lambda app holds nothing app.Close must release.
	lambda.Start(lambdaapi.CreateURLsHandler(app.Service, app.Handler, app.Region, app.DefaultBaseURL))
}
