// Command approval-email is the example's Lambda function (provided.al2023,
// built as "bootstrap" by `make build-ApprovalEmailFunction`). The state
// machine invokes it to mail the Approve and Reject links of a waiting task
// (lambda:invoke.waitForTaskToken), and again to mail the outcome.
//
// Settings (environment, set by template.yaml):
//
//	CREATE_URLS_FUNCTION  the sfn-callback-urls stack's CreateUrls function (FunctionArn output)
//	TOPIC_ARN             SNS topic to publish plain-text mail to; or, instead:
//	SES_SENDER            a verified SES identity (address) to send HTML mail from,
//	APPROVER_EMAIL        and the address to send it to.
//	MAX_LINK_LENGTH       SNS only: the longest link to mail (default 998, the
//	                      longest line plain-text mail may have; 0: no limit).
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
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
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
	fmt.Fprintln(os.Stderr, "approval-email:", err)
	os.Exit(1)
}

// newHandler builds the function from its settings.
func newHandler(cfg aws.Config, getenv func(string) string) (*Handler, error) {
	function := getenv("CREATE_URLS_FUNCTION")
	if function == "" {
		return nil, errors.New("set CREATE_URLS_FUNCTION to the sfn-callback-urls stack's FunctionArn output")
	}
	maxLink, err := mail.ParseMaxLinkLength(getenv("MAX_LINK_LENGTH"))
	if err != nil {
		return nil, err
	}
	sender, err := newSender(cfg, getenv("TOPIC_ARN"), maxLink, getenv("SES_SENDER"), getenv("APPROVER_EMAIL"))
	if err != nil {
		return nil, err
	}
	return &Handler{
		URLs:   client.NewLambda(cfg, function),
		Mail:   sender,
		Logger: slog.New(slog.NewJSONHandler(os.Stdout, nil)),
		Now:    time.Now,
	}, nil
}

// newSender is SNS with a topic, else SES with a sender and a recipient.
func newSender(cfg aws.Config, topic string, maxLink int, sesSender, approver string) (mail.Sender, error) {
	switch {
	case topic != "" && sesSender != "":
		return nil, errors.New("set TOPIC_ARN (SNS) or SES_SENDER (SES), not both")
	case topic != "":
		return mail.NewSNS(sns.NewFromConfig(cfg), topic, maxLink), nil
	case sesSender != "" && approver != "":
		return mail.NewSES(sesv2.NewFromConfig(cfg), sesSender, approver), nil
	case sesSender != "":
		return nil, errors.New("SES_SENDER needs APPROVER_EMAIL, the address to mail")
	}
	return nil, errors.New("set TOPIC_ARN (mail through SNS) or SES_SENDER and APPROVER_EMAIL (mail through SES)")
}
