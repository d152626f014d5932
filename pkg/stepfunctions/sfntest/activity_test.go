package sfntest_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/stepfunctions/sfntest"
)

const activityARN = "arn:aws:states:us-east-1:123456789012:activity:approve"

func TestGetActivityTask(t *testing.T) {
	ctx := context.Background()
	srv := sfntest.New(t)
	srv.SetPollTimeout(50 * time.Millisecond)
	client := srv.Client(ctx)
	get := func() *sfn.GetActivityTaskOutput {
		t.Helper()
		out, err := client.GetActivityTask(ctx, &sfn.GetActivityTaskInput{ActivityArn: aws.String(activityARN), WorkerName: aws.String("w1")})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	// Queued tasks come out in order, and their tokens are open tasks.
	srv.AddActivityTask(activityARN, "token-1", `{"n":1}`)
	srv.AddActivityTask(activityARN, "token-2", `{"n":2}`)
	srv.AddActivityTask(activityARN+"-other", "token-3", `{}`)
	for _, want := range []struct{ token, input string }{{"token-1", `{"n":1}`}, {"token-2", `{"n":2}`}} {
		out := get()
		if aws.ToString(out.TaskToken) != want.token || aws.ToString(out.Input) != want.input {
			t.Errorf("got task %q %q, want %q %q", aws.ToString(out.TaskToken), aws.ToString(out.Input), want.token, want.input)
		}
	}
	if _, err := srv.Client(ctx).SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String("token-1")}); err != nil {
		t.Errorf("an activity task's token is not an open task: %v", err)
	}

	// None queued: an empty answer after the poll timeout.
	start := time.Now()
	if out := get(); out.TaskToken != nil || out.Input != nil {
		t.Errorf("empty queue: got %v", out)
	}
	if time.Since(start) < 50*time.Millisecond {
		t.Error("the poll did not wait")
	}
	if n := srv.ActivityTasksQueued(activityARN + "-other"); n != 1 {
		t.Errorf("another activity's queue has %d tasks", n)
	}

	// A waiting poll gets a task queued while it waits.
	srv.SetPollTimeout(10 * time.Second)
	got := make(chan *sfn.GetActivityTaskOutput, 1)
	go func() {
		out, _ := client.GetActivityTask(ctx, &sfn.GetActivityTaskInput{ActivityArn: aws.String(activityARN)})
		got <- out
	}()
	time.Sleep(20 * time.Millisecond)
	srv.AddActivityTask(activityARN, "token-4", `"late"`)
	select {
	case out := <-got:
		if out == nil || aws.ToString(out.TaskToken) != "token-4" {
			t.Errorf("waiting poll got %v", out)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a waiting poll missed a queued task")
	}

	// A cancelled poll ends at once.
	cctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if _, err := client.GetActivityTask(cctx, &sfn.GetActivityTaskInput{ActivityArn: aws.String(activityARN)}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled poll: err = %v", err)
	}

	calls := srv.Calls()
	if c := calls[0]; c.Operation != "GetActivityTask" || c.ActivityArn != activityARN || c.WorkerName != "w1" || c.TaskToken != "token-1" {
		t.Errorf("first call recorded as %+v", c)
	}
}

func TestGetActivityTaskErrors(t *testing.T) {
	ctx := context.Background()
	srv := sfntest.New(t)
	client := srv.Client(ctx, func(o *sfn.Options) { o.RetryMaxAttempts = 1 })
	var invalidArn *types.InvalidArn
	if _, err := client.GetActivityTask(ctx, &sfn.GetActivityTaskInput{ActivityArn: aws.String("arn:aws:states:us-east-1:123456789012:stateMachine:x")}); !errors.As(err, &invalidArn) {
		t.Errorf("state machine ARN: err = %v, want InvalidArn", err)
	}
	srv.FailNext(1, http.StatusBadRequest, "ActivityDoesNotExist")
	var missing *types.ActivityDoesNotExist
	if _, err := client.GetActivityTask(ctx, &sfn.GetActivityTaskInput{ActivityArn: aws.String(activityARN)}); !errors.As(err, &missing) {
		t.Errorf("injected: err = %v, want ActivityDoesNotExist", err)
	}
}
