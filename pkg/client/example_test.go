package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/client"
)

// approvalTask is the input a state machine gives its
// lambda:invoke.waitForTaskToken task:
//
//	"Payload": {"token.$": "$$.Task.Token", "report.$": "$.report", "amount.$": "$.amount"}
type approvalTask struct {
	Token  string `json:"token"`
	Report string `json:"report"`
	Amount string `json:"amount"`
}

// A Lambda function for a .waitForTaskToken task: it makes an Approve and
// a Reject link (with a comment form) that complete the task, and hands
// them to a person. The function returns at once; the execution waits
// for a click.
func Example_waitForTaskToken() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	// The sfn-callback-urls stack's Function output.
	urls := client.NewLambda(cfg, os.Getenv("CREATE_URLS_FUNCTION"))

	lambda.Start(func(ctx context.Context, task approvalTask) error {
		created, err := urls.CreateURLs(ctx, client.Request{
			Token:       task.Token,
			Title:       "Approve expense report " + task.Report,
			Description: "Amount: " + task.Amount,
			Expiration:  time.Now().Add(7 * 24 * time.Hour),
			Actions: []client.Action{
				client.Success("approve", map[string]any{"approved": true}).WithLabel("Approve"),
				client.Failure("reject", "Rejected", "Rejected by the approver").WithLabel("Reject").
					WithInput(map[string]any{
						"type": "object",
						"properties": map[string]any{
							"comment": map[string]any{"type": "string", "format": "multiline", "title": "Comment"},
						},
					}),
			},
		})
		if err != nil {
			// Returned, the error fails the task (or a Retry catches it).
			return err
		}
		// Send created.URLs["approve"] and ["reject"] by SNS or SES here
		// (see examples/approval-email). They are secrets: log only the
		// transaction id.
		log.Printf("created URLs, transaction %s", created.TransactionID)
		return nil
	})
}

// Errors are *client.Error for every refusal of the service, with the
// contract's codes.
func ExampleError() {
	c := client.NewHTTP(aws.Config{Region: "eu-west-1"}, "https://abc123.execute-api.eu-west-1.amazonaws.com/Prod")
	_, err := c.CreateURLs(context.Background(), client.Request{
		Token:   "AQB...",
		Actions: []client.Action{client.Heartbeat("still-working")}, // not \w+
	})
	var e *client.Error
	switch {
	case errors.Is(err, client.ErrInvalidJSON) && errors.As(err, &e):
		fmt.Println("refused before sending:", e.Local)
	case errors.As(err, &e) && e.RetryableError():
		fmt.Println("try again later")
	case err != nil:
		fmt.Println("not an answer of the service")
	}
	// Output: refused before sending: true
}
