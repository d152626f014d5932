package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/examples/internal/asl"
	"github.com/sfncallbackurls/sfn-callback-urls/examples/internal/awstest"
	"github.com/sfncallbackurls/sfn-callback-urls/examples/internal/mail"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/client"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/stepfunctions/sfntest"
)

var now = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

// messageBody is the body the state machine sends for input: its
// MessageBody, as JSON text.
func messageBody(t *testing.T, queueURL string, input any, token string) string {
	t.Helper()
	def, err := asl.Read(".", map[string]string{"QueueUrl": queueURL})
	if err != nil {
		t.Fatal(err)
	}
	body, err := asl.Parameters(def, "RequestApproval", "MessageBody", input, asl.Context{ExecutionName: "trip-17", TaskToken: token})
	if err != nil {
		t.Fatal(err)
	}
	// The consumer reads every field the state sends.
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(new(Message)); err != nil {
		t.Fatalf("MessageBody %s: %v", body, err)
	}
	return string(body)
}

// mailedLinks returns the labelled links of a plain-text mail, checking that
// every line is within RFC 5322's limit.
func mailedLinks(t *testing.T, text string) map[string]string {
	t.Helper()
	out := map[string]string{}
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		if len(line) > mail.MaxLineLength {
			t.Errorf("line %d is %d characters long", i, len(line))
		}
		if strings.HasSuffix(line, ":") && i+1 < len(lines) && strings.HasPrefix(lines[i+1], "http") {
			out[strings.TrimSuffix(line, ":")] = lines[i+1]
		}
	}
	return out
}

func record(id, body string) events.SQSMessage {
	return events.SQSMessage{
		MessageId: id, ReceiptHandle: "rh-" + id, Body: body, EventSource: "aws:sqs",
		EventSourceARN: "arn:aws:sqs:us-east-1:111122223333:requests",
		Attributes:     map[string]string{"ApproximateReceiveCount": "1"},
	}
}

// newSetup is the service as deployed and a handler creating URLs there
// over HTTP and mailing them to an SNS stand-in's topic.
func newSetup(t *testing.T) (*servicetest.Service, *Handler, *awstest.SNS, string) {
	svc := servicetest.Start(t, servicetest.Deployed(config.Config{}))
	sns := awstest.NewSNS(t)
	topic := sns.AddTopic("approvals")
	return svc, &Handler{URLs: client.NewHTTP(svc.Gateway.Config(), svc.URL), Mail: mail.NewSNS(sns.Client(), topic, 0),
		Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }}, sns, topic
}

func TestPartialBatchFailure(t *testing.T) {
	ctx := context.Background()
	svc, h, sns, topic := newSetup(t)
	const queue = "https://sqs.us-east-1.amazonaws.com/111122223333/requests"
	tokens := corpus.Tokens()
	svc.SFN.AddTask(tokens[0])
	svc.SFN.AddTask(tokens[1])
	trip := map[string]any{"title": "Trip to Lisbon", "description": "Three days, EUR 890."}
	ev := events.SQSEvent{Records: []events.SQSMessage{
		record("m-good-1", messageBody(t, queue, trip, tokens[0])),
		record("m-not-json", "approve me"),
		record("m-no-token", `{"execution":"x","request":{}}`),
		record("m-refused", messageBody(t, queue, trip, strings.Repeat("A", 2049))), // CreateUrls: InvalidJSON
		record("m-good-2", messageBody(t, queue, map[string]any{"title": "Trip to Porto"}, tokens[1])),
	}}
	resp, err := h.Handle(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	want := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{
		{ItemIdentifier: "m-not-json"}, {ItemIdentifier: "m-no-token"}, {ItemIdentifier: "m-refused"},
	}}
	if diff := cmp.Diff(want, resp); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}

	msgs := sns.Messages(topic)
	if len(msgs) != 2 {
		t.Fatalf("%d messages published", len(msgs))
	}
	bySubject := map[string]string{}
	for _, m := range msgs {
		bySubject[m.Subject] = m.Message
	}
	lisbon, porto := bySubject["Approval needed: Trip to Lisbon"], bySubject["Approval needed: Trip to Porto"]
	if !strings.Contains(lisbon, "Three days, EUR 890.") || !strings.Contains(lisbon, "Execution trip-17.") ||
		!strings.Contains(lisbon, "until 2 January 2030 at 12:00 UTC") || porto == "" {
		t.Fatalf("messages: %v", bySubject)
	}

	// Approve one, reject the other.
	if resp := svc.Click(t, mailedLinks(t, lisbon)["Approve"], nil); resp.Status != http.StatusOK {
		t.Fatalf("approve: %d %s", resp.Status, resp.Body)
	}
	if resp := svc.Click(t, mailedLinks(t, porto)["Reject"], nil); resp.Status != http.StatusOK {
		t.Fatalf("reject: %d %s", resp.Status, resp.Body)
	}
	if s, _ := svc.SFN.Task(tokens[0]); s.Status != sfntest.StatusSucceeded || s.Output != `{"approved":true}` {
		t.Errorf("approved task: %+v", s)
	}
	if s, _ := svc.SFN.Task(tokens[1]); s.Status != sfntest.StatusFailed || s.Error != RejectedError || s.Cause != "Rejected by email" {
		t.Errorf("rejected task: %+v", s)
	}
}

// TestRetryableFailures: when CreateUrls or SNS are down (after the SDKs'
// retries), the message is reported failed, so SQS delivers it again.
func TestRetryableFailures(t *testing.T) {
	ctx := context.Background()
	svc, h, sns, topic := newSetup(t)
	token := corpus.Tokens()[2]
	svc.SFN.AddTask(token)
	ev := events.SQSEvent{Records: []events.SQSMessage{record("m1", messageBody(t, "https://q", map[string]any{"title": "x"}, token))}}

	sns.FailNext(3, http.StatusInternalServerError, "InternalError")
	resp, _ := h.Handle(ctx, ev)
	if len(resp.BatchItemFailures) != 1 {
		t.Fatalf("SNS down: %+v", resp)
	}
	// Delivered again, it goes through (with new URLs: either set works).
	if resp, _ = h.Handle(ctx, ev); len(resp.BatchItemFailures) != 0 || len(sns.Messages(topic)) != 1 {
		t.Fatalf("redelivery: %+v, %d messages", resp, len(sns.Messages(topic)))
	}

	// A CreateUrls that cannot be reached.
	down := &Handler{URLs: client.NewHTTP(svc.Gateway.Config(), "http://127.0.0.1:1"), Mail: h.Mail, Logger: h.Logger, Now: h.Now}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if resp, _ := down.Handle(cctx, ev); len(resp.BatchItemFailures) != 1 {
		t.Errorf("CreateUrls down: %+v", resp)
	}
}

// TestExpiresInSeconds: a message whose expires_in_seconds is not a
// positive number of seconds a duration holds is reported failed and
// mailed nothing (it used to wrap around into links already expired); a
// longer one than a year is cut to a year.
func TestExpiresInSeconds(t *testing.T) {
	svc, h, sns, topic := newSetup(t)
	token := corpus.Tokens()[0]
	svc.SFN.AddTask(token)
	body := func(seconds string) string {
		return `{"token":"` + token + `","execution":"e","expires_in_seconds":` + seconds + `,"request":{"title":"Trip ` + seconds + `"}}`
	}
	ev := events.SQSEvent{Records: []events.SQSMessage{
		record("zero", body("0")), record("negative", body("-60")),
		record("wraps-negative", body("9223372037")), record("wraps-to-290ms", body("18446744074")),
		record("ten-years", body("315360000")),
	}}
	resp, err := h.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	want := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{
		{ItemIdentifier: "zero"}, {ItemIdentifier: "negative"}, {ItemIdentifier: "wraps-negative"}, {ItemIdentifier: "wraps-to-290ms"},
	}}
	if diff := cmp.Diff(want, resp); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	msgs := sns.Messages(topic)
	if len(msgs) != 1 || msgs[0].Subject != "Approval needed: Trip 315360000" || !strings.Contains(msgs[0].Message, "until 1 January 2031 at 12:00 UTC") {
		t.Errorf("mails: %+v; want only the ten years', cut to a year", msgs)
	}
	if svc.Gateway.Count("POST", "/urls") != 1 {
		t.Errorf("%d CreateUrls calls, want 1", svc.Gateway.Count("POST", "/urls"))
	}
}

func FuzzParse(f *testing.F) {
	f.Add(`{"token":"t","execution":"e","expires_in_seconds":86400,"request":{"title":"x"}}`)
	f.Add(`{"token":5}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, body string) {
		m, err := parse(body)
		if err != nil {
			if len(body) >= 8 && strings.Contains(err.Error(), body) {
				t.Fatalf("the error quotes the body (a token, maybe): %v", err)
			}
			return
		}
		if m.Token == "" {
			t.Fatal("a message without a token was accepted")
		}
	})
}

func TestNewHandler(t *testing.T) {
	cfg := awstest.Config("http://127.0.0.1:1")
	for _, tc := range []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"ok", map[string]string{"CREATE_URLS_API": "https://abc.execute-api.us-east-1.amazonaws.com/v1", "TOPIC_ARN": "t"}, ""},
		{"no limit", map[string]string{"CREATE_URLS_API": "https://a", "TOPIC_ARN": "t", "MAX_LINK_LENGTH": "0"}, ""},
		{"no api", map[string]string{"TOPIC_ARN": "t"}, "CREATE_URLS_API"},
		{"no topic", map[string]string{"CREATE_URLS_API": "https://a"}, "TOPIC_ARN"},
		{"bad limit", map[string]string{"CREATE_URLS_API": "https://a", "TOPIC_ARN": "t", "MAX_LINK_LENGTH": "many"}, "MAX_LINK_LENGTH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newHandler(cfg, func(k string) string { return tc.env[k] })
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// TestLinkLengths measures the mailed links over the corpus's task tokens
// with a base URL as long as API Gateway's, in each key mode: with a KMS
// HMAC key or a static keyring they fit a plain-text mail line; with KMS
// envelope encryption they do not (README).
func TestLinkLengths(t *testing.T) {
	ctx := context.Background()
	for _, mode := range servicetest.KeyModes {
		t.Run(mode.Name, func(t *testing.T) {
			opts := servicetest.Deployed(config.Config{BaseURL: servicetest.APIBase}) // as long as a deployment's; not clicked
			opts.Keys = mode.Keys(t)
			svc := servicetest.Start(t, opts)
			sns := awstest.NewSNS(t)
			topic := sns.AddTopic("approvals")
			h := &Handler{
				URLs:   client.NewHTTP(svc.Gateway.Config(), svc.URL),
				Mail:   mail.NewSNS(sns.Client(), topic, -1), // no limit: measure them all
				Logger: slog.New(slog.DiscardHandler),
				Now:    func() time.Time { return now },
			}
			lengths := map[string]*servicetest.Lengths{"Approve": {}, "Reject": {}}
			for i, token := range corpus.Tokens() {
				body := messageBody(t, "https://q", map[string]any{"title": "Trip to Lisbon", "description": "Three days in March, EUR 890."}, token)
				if resp, _ := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{record(fmt.Sprint(i), body)}}); len(resp.BatchItemFailures) > 0 {
					t.Fatal("not mailed")
				}
			}
			for _, m := range sns.Messages(topic) {
				for label, u := range mailLinks(m.Message) {
					lengths[label].Add(u)
				}
			}
			for _, label := range []string{"Approve", "Reject"} {
				l := lengths[label]
				t.Logf("%s link: mean %d, longest %d characters", label, l.Mean(), l.Max())
				fits := l.Max() <= mail.MaxLineLength
				if want := mode.Name != servicetest.KMSEnvelope; fits != want {
					t.Errorf("%s link: longest %d, shortest %d characters; fits a plain-text line: %v, want %v", label, l.Max(), l.Min(), fits, want)
				}
			}
		})
	}
}
