// Command process-callback is the ProcessCallback Lambda function
// (provided.al2023, built as "bootstrap"): GET, POST and HEAD /respond
// through API Gateway.
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
		fmt.Fprintln(os.Stderr, "process-callback:", err)
		os.Exit(1)
	}
	// The sandbox ends the process; a Lambda app holds nothing app.Close must release.
	lambda.Start(lambdaapi.ProxyHandler(app.Handler, app.Region))
}
