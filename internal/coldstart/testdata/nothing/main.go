// Command nothing is the floor of a cold start: an aws-lambda-go function
// that does no work, built and run as the real bootstraps are, so that
// their start-up can be measured against it.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, json.RawMessage) (struct{}, error) {
		return struct{}{}, nil
	})
}
