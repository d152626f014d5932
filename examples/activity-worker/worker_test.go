package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/examples/internal/asl"
	"github.com/sfncallbackurls/sfn-callback-urls/examples/internal/awstest"
	"github.com/sfncallbackurls/sfn-callback-urls/examples/internal/mail"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/testkit"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/client"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/stepfunctions/sfntest"
)

const activityARN = "arn:aws:states:us-east-1:123456789012:activity:approval"

var now = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

// taskInput is what the state hands the activity for the execution's
// input: its Parameters.
func taskInput(t *testing.T, input any) string {
	t.Helper()
	def, err := asl.Read(".", map[string]string{"ActivityArn": activityARN})
	if err != nil {
		t.Fatal(err)
	}
	in, err := asl.Parameters(def, "WaitForApproval", "", input, asl.Context{ExecutionName: "exp-9"})
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.DisallowUnknownFields() // the worker reads every field the state sends
	if err := dec.Decode(new(Task)); err != nil {
		t.Fatalf("task input %s: %v", in, err)
	}
	return string(in)
}

type setup struct {
	svc   *servicetest.Service
	sns   *awstest.SNS
	topic string
	w     *Worker
	logs  *testkit.Buffer
}

func newSetup(t *testing.T) *setup {
	s := &setup{svc: servicetest.Start(t, servicetest.Deployed(config.Config{})), sns: awstest.NewSNS(t), logs: &testkit.Buffer{}}
	s.topic = s.sns.AddTopic("approvals")
	s.svc.SFN.SetPollTimeout(200 * time.Millisecond)
	ctx := context.Background()
	s.w = &Worker{
		ActivityARN: activityARN,
		Name:        "test-worker",
		Poll:        s.svc.SFN.Client(ctx).GetActivityTask,
		URLs:        client.NewLambda(s.svc.Lambda.Config(), servicetest.FunctionARN),
		Mail:        mail.NewSNS(s.sns.Client(), s.topic, 0),
		Logger:      slog.New(slog.NewJSONHandler(s.logs, nil)),
		Now:         func() time.Time { return now },
		Backoff:     time.Millisecond,
	}
	return s
}

// start runs the worker until the returned stop is called; stop waits for
// Run to return and gives its error.
func start(t *testing.T, w *Worker) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the worker did not stop")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// waitFor polls cond for up to 30 seconds (a bound on a hang, not a
// measure of speed).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func mailedLinks(text string) map[string]string {
	out := map[string]string{}
	lines := strings.Split(text, "\n")
	for i := 0; i+1 < len(lines); i++ {
		if label, ok := strings.CutSuffix(lines[i], ":"); ok && strings.HasPrefix(lines[i+1], "http") {
			out[label] = lines[i+1]
		}
	}
	return out
}

func TestApproveAndReject(t *testing.T) {
	s := newSetup(t)
	s.w.Pollers = 2
	stop := start(t, s.w)
	tokens := corpus.Tokens()
	s.svc.SFN.AddActivityTask(activityARN, tokens[0], taskInput(t, map[string]any{"title": "New laptop", "description": "A 14-inch one, EUR 1,900."}))
	s.svc.SFN.AddActivityTask(activityARN, tokens[1], taskInput(t, map[string]any{"title": "Conference ticket"}))
	waitFor(t, "two mails", func() bool { return len(s.sns.Messages(s.topic)) == 2 })

	bySubject := map[string]string{}
	for _, m := range s.sns.Messages(s.topic) {
		bySubject[m.Subject] = m.Message
		if len(mailedLinks(m.Message)) != 2 {
			t.Errorf("mail %q has links %v, want Approve and Reject only", m.Subject, mailedLinks(m.Message))
		}
	}
	laptop := bySubject["Approval needed: New laptop"]
	if !strings.Contains(laptop, "A 14-inch one, EUR 1,900.") || !strings.Contains(laptop, "until 2 January 2030 at 12:00 UTC") || !strings.Contains(laptop, "Execution exp-9.") {
		t.Errorf("mail:\n%s", laptop)
	}
	if resp := s.svc.Click(t, mailedLinks(laptop)["Approve"], nil); resp.Status != http.StatusOK {
		t.Fatalf("approve: %d %s", resp.Status, resp.Body)
	}
	if resp := s.svc.Click(t, mailedLinks(bySubject["Approval needed: Conference ticket"])["Reject"], nil); resp.Status != http.StatusOK {
		t.Fatalf("reject: %d %s", resp.Status, resp.Body)
	}
	if st, _ := s.svc.SFN.Task(tokens[0]); st.Status != sfntest.StatusSucceeded || st.Output != `{"approved":true}` {
		t.Errorf("approved task %+v", st)
	}
	if st, _ := s.svc.SFN.Task(tokens[1]); st.Status != sfntest.StatusFailed || st.Error != RejectedError {
		t.Errorf("rejected task %+v", st)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for _, c := range s.svc.SFN.Calls() {
		if c.Operation == "GetActivityTask" && (c.ActivityArn != activityARN || c.WorkerName != "test-worker") {
			t.Errorf("poll %+v", c)
		}
		if c.Operation != "GetActivityTask" && c.Operation != "SendTaskSuccess" && c.Operation != "SendTaskFailure" {
			t.Errorf("unexpected call %s", c.Operation)
		}
	}
	if logs := s.logs.String(); strings.Contains(logs, tokens[0]) || strings.Contains(logs, "/respond?") {
		t.Errorf("the log shows a token or a URL:\n%s", logs)
	}
}

// TestExpiresInSeconds: a task whose expires_in_seconds is not a
// positive whole number of seconds a duration holds is failed at once
// (MailNotSent, the cause saying why) and mailed nothing: it used to wrap
// around into links already expired. A longer one than a year is cut to a
// year.
func TestExpiresInSeconds(t *testing.T) {
	s := newSetup(t)
	stop := start(t, s.w)
	bad := []string{"0", "-60", "9223372037", "18446744074", "1e30", "3600.5"}
	base := corpus.Tokens()[0]
	for i, seconds := range bad {
		s.svc.SFN.AddActivityTask(activityARN, fmt.Sprintf("%s-%d", base, i), `{"execution":"x","expires_in_seconds":`+seconds+`,"request":{"title":"Trip"}}`)
	}
	s.svc.SFN.AddActivityTask(activityARN, base+"-long", `{"execution":"x","expires_in_seconds":315360000,"request":{"title":"Ten years"}}`)
	waitFor(t, "the tasks to be handled", func() bool {
		for i := range bad {
			if st, _ := s.svc.SFN.Task(fmt.Sprintf("%s-%d", base, i)); st.Status == sfntest.StatusOpen {
				return false
			}
		}
		return len(s.sns.Messages(s.topic)) == 1
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for i, seconds := range bad {
		if st, _ := s.svc.SFN.Task(fmt.Sprintf("%s-%d", base, i)); st.Status != sfntest.StatusFailed || st.Error != UndeliveredError || !strings.Contains(st.Cause, "expires_in_seconds") {
			t.Errorf("expires_in_seconds %s: task %+v, want it failed naming expires_in_seconds", seconds, st)
		}
	}
	msgs := s.sns.Messages(s.topic)
	if len(msgs) != 1 || msgs[0].Subject != "Approval needed: Ten years" || !strings.Contains(msgs[0].Message, "until 1 January 2031 at 12:00 UTC") {
		t.Errorf("mails %+v: want the ten years' only, cut to a year", msgs)
	}
}

// blockingSender holds each Send until released.
type blockingSender struct {
	mail.Sender
	entered chan struct{}
	release chan struct{}
}

func (b *blockingSender) Send(ctx context.Context, m *mail.Message) error {
	b.entered <- struct{}{}
	<-b.release
	return b.Sender.Send(ctx, m)
}

// TestGracefulStop: a stop while a task is in hand lets it finish, then no
// more polls.
func TestGracefulStop(t *testing.T) {
	s := newSetup(t)
	s.svc.SFN.SetPollTimeout(time.Minute) // a stop must cut the long poll short
	block := &blockingSender{Sender: s.w.Mail, entered: make(chan struct{}, 1), release: make(chan struct{})}
	s.w.Mail = block
	stop := start(t, s.w)
	token := corpus.Tokens()[2]
	s.svc.SFN.AddActivityTask(activityARN, token, taskInput(t, map[string]any{"title": "Trip"}))
	<-block.entered

	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	select {
	case err := <-stopped:
		t.Fatalf("Run returned (%v) with a task in hand", err)
	case <-time.After(100 * time.Millisecond):
	}
	polls := countPolls(s.svc.SFN)
	close(block.release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if n := len(s.sns.Messages(s.topic)); n != 1 {
		t.Errorf("%d mails: the task in hand was not finished", n)
	}
	// Run has returned: nothing can poll any more.
	s.svc.SFN.AddActivityTask(activityARN, corpus.Tokens()[3], taskInput(t, map[string]any{"title": "Late"}))
	if n := countPolls(s.svc.SFN); n != polls {
		t.Errorf("%d polls after the stop", n-polls)
	}
	if s.svc.SFN.ActivityTasksQueued(activityARN) != 1 {
		t.Error("a task was taken after the stop")
	}

	// An idle worker stops at once, long poll or not: its poll is cut
	// short by the worker, not ended by the stand-in's timeout (an hour).
	s2 := newSetup(t)
	s2.svc.SFN.SetPollTimeout(time.Hour)
	stop2 := start(t, s2.w)
	waitFor(t, "a long poll", func() bool { return s2.svc.SFN.PollsWaiting() == 1 })
	begin := time.Now()
	if err := stop2(); err != nil {
		t.Errorf("idle stop: %v", err)
	}
	t.Logf("an idle worker stopped %v after it was asked", time.Since(begin))
	// The stand-in sees the client hang up a moment after the worker did.
	waitFor(t, "the poll cut short by the stop", func() bool { return s2.svc.SFN.PollsCutShort() == 1 })
}

func countPolls(srv *sfntest.Server) int {
	n := 0
	for _, c := range srv.Calls() {
		if c.Operation == "GetActivityTask" {
			n++
		}
	}
	return n
}

// TestMailFailureFailsTheTask: SNS down, the worker fails the task
// through the service with its own failure link.
func TestMailFailureFailsTheTask(t *testing.T) {
	s := newSetup(t)
	s.sns.FailNext(3, http.StatusForbidden, "AuthorizationError")
	stop := start(t, s.w)
	token := corpus.Tokens()[0]
	s.svc.SFN.AddActivityTask(activityARN, token, taskInput(t, map[string]any{"title": "Trip"}))
	waitFor(t, "the task to fail", func() bool { st, _ := s.svc.SFN.Task(token); return st.Status == sfntest.StatusFailed })
	if st, _ := s.svc.SFN.Task(token); st.Error != UndeliveredError {
		t.Errorf("task %+v", st)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.logs.String(), "AuthorizationError") {
		t.Errorf("the log does not say why:\n%s", s.logs.String())
	}
}

func TestPollErrors(t *testing.T) {
	s := newSetup(t)
	// Throttled beyond the SDK's retries: the worker waits and polls again.
	s.svc.SFN.FailNext(4, http.StatusBadRequest, "ThrottlingException")
	stop := start(t, s.w)
	token := corpus.Tokens()[1]
	s.svc.SFN.AddActivityTask(activityARN, token, taskInput(t, map[string]any{"title": "Trip"}))
	waitFor(t, "the mail", func() bool { return len(s.sns.Messages(s.topic)) == 1 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.logs.String(), "poll failed") {
		t.Error("the throttled poll was not logged")
	}

	// An activity that does not exist ends the worker with an error. (A
	// deployment of its own: a poll the stop cut short may still reach
	// the first one's Step Functions, and take the failure.)
	s = newSetup(t)
	s.svc.SFN.FailNext(1, http.StatusBadRequest, "ActivityDoesNotExist")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.w.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "ActivityDoesNotExist") {
		t.Errorf("missing activity: Run = %v", err)
	}
	s.w.ActivityARN = "arn:aws:states:us-east-1:123456789012:stateMachine:oops"
	if err := s.w.Run(ctx); err == nil || !strings.Contains(err.Error(), "InvalidArn") {
		t.Errorf("state machine ARN: Run = %v", err)
	}
}

func TestParseSettings(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
	}{
		{"flags", []string{"--activity-arn", activityARN, "--topic-arn", "t", "--create-urls-function", "f"}, nil, ""},
		{"environment", nil, map[string]string{"ACTIVITY_ARN": activityARN, "TOPIC_ARN": "t", "CREATE_URLS_API": "https://a", "POLLERS": "4"}, ""},
		{"no activity", []string{"--topic-arn", "t", "--create-urls-function", "f"}, nil, "--activity-arn"},
		{"no topic", []string{"--activity-arn", "a", "--create-urls-function", "f"}, nil, "--topic-arn"},
		{"no CreateUrls", []string{"--activity-arn", "a", "--topic-arn", "t"}, nil, "one of"},
		{"both CreateUrls", []string{"--activity-arn", "a", "--topic-arn", "t", "--create-urls-function", "f", "--create-urls-api", "https://a"}, nil, "one of"},
		{"pollers", []string{"--activity-arn", "a", "--topic-arn", "t", "--create-urls-function", "f", "--pollers", "0"}, nil, "--pollers"},
		{"bad POLLERS", nil, map[string]string{"POLLERS": "x"}, "POLLERS"},
		{"link limit", []string{"--activity-arn", "a", "--topic-arn", "t", "--create-urls-function", "f", "--max-link-length", "-1"}, nil, "MAX_LINK_LENGTH"},
		{"argument", []string{"--activity-arn", "a", "--topic-arn", "t", "--create-urls-function", "f", "extra"}, nil, "unexpected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseSettings(tc.args, func(k string) string { return tc.env[k] }, new(bytes.Buffer))
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}
