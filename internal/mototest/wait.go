package mototest

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// WaitLimit bounds each wait below: every end-to-end test ends by itself.
const WaitLimit = 60 * time.Second

// WaitForEnd polls an execution until it is no longer running.
func WaitForEnd(ctx context.Context, t testing.TB, c *sfn.Client, arn string) *sfn.DescribeExecutionOutput {
	t.Helper()
	deadline := time.Now().Add(WaitLimit)
	for {
		out, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: &arn})
		if err != nil {
			t.Fatal(err)
		}
		if out.Status != sfntypes.ExecutionStatusRunning {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("execution still running after %v", WaitLimit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Receive long-polls a queue for its next message (left on the queue).
func Receive(ctx context.Context, t testing.TB, c *sqs.Client, queue string) sqstypes.Message {
	t.Helper()
	deadline := time.Now().Add(WaitLimit)
	for time.Now().Before(deadline) {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &queue, WaitTimeSeconds: 1, MaxNumberOfMessages: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) > 0 {
			return out.Messages[0]
		}
	}
	t.Fatalf("no message on %s within %v", queue, WaitLimit)
	return sqstypes.Message{}
}
