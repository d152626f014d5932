// Command sqs-callback is the example's queue consumer (a Lambda function,
// provided.al2023, built as "bootstrap" by `make build-SqsCallbackFunction`).
// The state machine sends each approval request to an SQS queue with its
// task token (sqs:sendMessage.waitForTaskToken); this function, the queue's
// event source, creates the Approve and Reject URLs over HTTPS (POST /urls,
// SigV4) and publishes them to an SNS topic.
//
// Settings (environment, set by template.yaml):
//
//	CREATE_URLS_API  the sfn-callback-urls stack's Api output (https://{id}.execute-api.{region}.amazonaws.com/{stage})
//	TOPIC_ARN        the SNS topic to publish the plain-text mail to
//	MAX_LINK_LENGTH  the longest link to mail (default 998, the longest line
//	                 plain-text mail may have; 0: no limit)
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/sfncallbackurls/sfn-callback-urls/examples/internal/mail"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/client"
)

func main() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err == nil {
		var h *Handler
		if h, err = newHandler(cfg, os.Getenv); err == nil {
			lambda.Start(h.Handle)
			return
		}
	}
	fmt.Fprintln(os.Stderr, "sqs-callback:", err)
	os.Exit(1)
}

// newHandler builds the consumer from its settings.
func newHandler(cfg aws.Config, getenv func(string) string) (*Handler, error) {
	api, topic := getenv("CREATE_URLS_API"), getenv("TOPIC_ARN")
	if api == "" {
		return nil, errors.New("set CREATE_URLS_API to the sfn-callback-urls stack's Api output")
	}
	if topic == "" {
		return nil, errors.New("set TOPIC_ARN to the SNS topic to mail through")
	}
	maxLink, err := mail.ParseMaxLinkLength(getenv("MAX_LINK_LENGTH"))
	if err != nil {
		return nil, err
	}
	return &Handler{
		URLs:   client.NewHTTP(cfg, api),
		Mail:   mail.NewSNS(sns.NewFromConfig(cfg), topic, maxLink),
		Logger: slog.New(slog.NewJSONHandler(os.Stdout, nil)),
		Now:    time.Now,
	}, nil
}
