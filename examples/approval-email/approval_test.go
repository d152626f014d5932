package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/examples/internal/asl"
	"github.com/sfncallbackurls/sfn-callback-urls/examples/internal/awstest"
	"github.com/sfncallbackurls/sfn-callback-urls/examples/internal/mail"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/client"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/client/lambdatest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/stepfunctions/sfntest"
)

var now = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

// definition is the state machine with a function ARN in place.
func definition(t *testing.T) []byte {
	t.Helper()
	def, err := asl.Read(".", map[string]string{"ApprovalFunctionArn": "arn:aws:lambda:us-east-1:111122223333:function:approval-email"})
	if err != nil {
		t.Fatal(err)
	}
	return def
}

// event is what the state machine's state sends the function for input.
func event(t *testing.T, state string, input any, token string) Event {
	t.Helper()
	payload, err := asl.Parameters(definition(t), state, "Payload", input, asl.Context{
		ExecutionName: "expense-4821", TaskToken: token,
	})
	if err != nil {
		t.Fatal(err)
	}
	var ev Event
	dec := json.NewDecoder(strings.NewReader(string(payload)))
	dec.DisallowUnknownFields() // the function reads every field the state sends
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("%s's payload %s: %v", state, payload, err)
	}
	return ev
}

var input = map[string]any{
	"title":       "Expense report #4821",
	"description": "Alice Martin asks for EUR 1,240.00 for the Berlin team offsite.",
}

// mailedLinks finds each labelled link in a plain-text mail: "Label...:" then
// the URL on the next line. In plain-text mail (not SES's text part) every
// line must be within RFC 5322's limit.
func mailedLinks(t *testing.T, text string, plain bool) map[string]string {
	t.Helper()
	out := map[string]string{}
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		if plain && len(line) > mail.MaxLineLength {
			t.Errorf("line %d is %d characters long", i, len(line))
		}
		if strings.HasSuffix(line, ":") && i+1 < len(lines) && strings.HasPrefix(lines[i+1], "http") {
			label, _, _ := strings.Cut(strings.TrimSuffix(line, ":"), " (")
			out[label] = lines[i+1]
		}
	}
	return out
}

type setup struct {
	svc   *servicetest.Service
	sns   *awstest.SNS
	topic string
	h     *Handler
}

// newSetup wires the function to the in-process service through the
// Lambda transport (as deployed) and to the SNS stand-in.
func newSetup(t *testing.T) *setup {
	s := &setup{svc: servicetest.Start(t, servicetest.Deployed(config.Config{})), sns: awstest.NewSNS(t)}
	s.topic = s.sns.AddTopic("approvals")
	s.h = &Handler{
		URLs:   client.NewLambda(s.svc.Lambda.Config(), servicetest.FunctionARN),
		Mail:   mail.NewSNS(s.sns.Client(), s.topic, 0),
		Logger: slog.New(slog.DiscardHandler),
		Now:    func() time.Time { return now },
	}
	return s
}

func TestRejectWithComment(t *testing.T) {
	ctx := context.Background()
	s := newSetup(t)
	token := corpus.Tokens()[0]
	s.svc.SFN.AddTask(token)

	res, err := s.h.Handle(ctx, event(t, "AskForApproval", input, token))
	if err != nil {
		t.Fatal(err)
	}
	msgs := s.sns.Messages(s.topic)
	if len(msgs) != 1 {
		t.Fatalf("%d messages published", len(msgs))
	}
	if msgs[0].Subject != "Expense report #4821" || res.Subject != msgs[0].Subject || res.TransactionID == "" {
		t.Errorf("subject %q, result %+v", msgs[0].Subject, res)
	}
	text := msgs[0].Message
	for _, want := range []string{
		"Alice Martin asks for EUR 1,240.00 for the Berlin team offsite.",
		"The links work until 4 January 2030 at 12:00 UTC.",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the mail lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, token) {
		t.Error("the mail shows the task token")
	}
	urls := mailedLinks(t, text, true)
	if len(urls) != 2 || urls["Approve"] == "" || urls["Reject"] == "" {
		t.Fatalf("links in the mail: %v", urls)
	}

	// A mail scanner's GET (a browser's headers) decides nothing: it gets
	// the confirmation page, with the comment box.
	if page := browserGET(t, urls["Reject"]); !strings.Contains(page, "<textarea") {
		t.Errorf("the reject page has no comment box:\n%s", page)
	}
	if state, _ := s.svc.SFN.Task(token); state.Status != sfntest.StatusOpen {
		t.Fatalf("a browser's GET: task %s", state.Status)
	}

	// The approver presses Reject with a comment.
	if resp := s.svc.Click(t, urls["Reject"], url.Values{"comment": {"Over budget: EUR 1,000 at most."}}); resp.Status != http.StatusOK {
		t.Fatalf("reject: %d %s", resp.Status, resp.Body)
	}
	state, _ := s.svc.SFN.Task(token)
	if state.Status != sfntest.StatusFailed || state.Error != RejectedError {
		t.Fatalf("task %+v", state)
	}
	var cause map[string]any
	if err := json.Unmarshal([]byte(state.Cause), &cause); err != nil {
		t.Fatalf("cause %q: %v", state.Cause, err)
	}
	if diff := cmp.Diff(map[string]any{"input": map[string]any{"comment": "Over budget: EUR 1,000 at most."}}, cause); diff != "" {
		t.Errorf("cause (-want +got):\n%s", diff)
	}

	// The Catch puts the failure in $.failure; the confirmation quotes it.
	caught := map[string]any{"title": input["title"], "description": input["description"],
		"failure": map[string]any{"Error": state.Error, "Cause": state.Cause}}
	if _, err := s.h.Handle(ctx, event(t, "ConfirmRejection", caught, "")); err != nil {
		t.Fatal(err)
	}
	msgs = s.sns.Messages(s.topic)
	want := awstest.SNSMessage{
		Subject: "Rejected: Expense report #4821",
		Message: `The request "Expense report #4821" was rejected: The approver rejected the
request.

The approver's comment:
Over budget: EUR 1,000 at most.

Execution expense-4821.
`,
	}
	if diff := cmp.Diff(want, msgs[len(msgs)-1]); diff != "" {
		t.Errorf("confirmation (-want +got):\n%s", diff)
	}

	// The other link is dead now, as Step Functions says.
	if resp := s.svc.Click(t, urls["Approve"], nil); resp.Status != http.StatusBadRequest || !strings.Contains(resp.Body, "TaskTimedOut") {
		t.Errorf("approve after reject: %d %s", resp.Status, resp.Body)
	}
}

// browserGET opens a URL as a browser (or a mail scanner) does, and
// returns the page.
func browserGET(t *testing.T, u string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36")
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return string(b)
}

func TestApprove(t *testing.T) {
	ctx := context.Background()
	s := newSetup(t)
	token := corpus.Tokens()[1]
	s.svc.SFN.AddTask(token)
	if _, err := s.h.Handle(ctx, event(t, "AskForApproval", input, token)); err != nil {
		t.Fatal(err)
	}
	urls := mailedLinks(t, s.sns.Messages(s.topic)[0].Message, true)
	if resp := s.svc.Click(t, urls["Approve"], nil); resp.Status != http.StatusOK {
		t.Fatalf("approve: %d %s", resp.Status, resp.Body)
	}
	state, _ := s.svc.SFN.Task(token)
	if state.Status != sfntest.StatusSucceeded || state.Output != `{"approved":true}` {
		t.Fatalf("task %+v", state)
	}
	approved := map[string]any{"title": input["title"], "decision": json.RawMessage(state.Output)}
	if _, err := s.h.Handle(ctx, event(t, "ConfirmApproval", approved, "")); err != nil {
		t.Fatal(err)
	}
	got := s.sns.Messages(s.topic)[1]
	if got.Subject != "Approved: Expense report #4821" || !strings.HasPrefix(got.Message, `The request "Expense report #4821" was approved.`) {
		t.Errorf("confirmation %+v", got)
	}
}

func TestNoAnswer(t *testing.T) {
	s := newSetup(t)
	timedOut := map[string]any{"title": "Trip", "failure": map[string]any{"Error": "States.Timeout", "Cause": ""}}
	if _, err := s.h.Handle(context.Background(), event(t, "ReportNoAnswer", timedOut, "")); err != nil {
		t.Fatal(err)
	}
	if got := s.sns.Messages(s.topic)[0]; got.Subject != "No answer: Trip" {
		t.Errorf("mail %+v", got)
	}
}

// TestSES mails through SES: HTML with the links as buttons, and plain
// text; the URLs come over the HTTP transport this time.
func TestSES(t *testing.T) {
	ctx := context.Background()
	svc := servicetest.Start(t, servicetest.Deployed(config.Config{}))
	ses := awstest.NewSES(t)
	ses.Verify("example.com")
	h := &Handler{
		URLs:   client.NewHTTP(svc.Gateway.Config(), svc.URL),
		Mail:   mail.NewSES(ses.Client(), "approvals@example.com", "boss@example.org"),
		Logger: slog.New(slog.DiscardHandler),
		Now:    func() time.Time { return now },
	}
	token := corpus.Tokens()[2]
	svc.SFN.AddTask(token)
	if _, err := h.Handle(ctx, event(t, "AskForApproval", input, token)); err != nil {
		t.Fatal(err)
	}
	if svc.Gateway.Count("POST", "/urls") != 1 {
		t.Errorf("%d POST /urls", svc.Gateway.Count("POST", "/urls"))
	}
	emails := ses.Emails()
	if len(emails) != 1 {
		t.Fatalf("%d emails", len(emails))
	}
	e := emails[0]
	if text := mailedLinks(t, e.Text, true); len(text) != 2 {
		t.Errorf("the plain-text part's links: %v", text)
	}
	// The HTML part's buttons; their links carry what the pages show
	// (the plain text's may carry less, to fit a line).
	urls := map[string]string{}
	for _, m := range regexp.MustCompile(`<a href="([^"]+)"[^>]*>([^<]+)</a>`).FindAllStringSubmatch(e.HTML, -1) {
		urls[m[2]] = strings.ReplaceAll(m[1], "&amp;", "&")
	}
	if len(urls) != 2 || urls["Approve"] == "" || urls["Reject"] == "" || !strings.Contains(e.HTML, "Reject: opens a page where you can add details") {
		t.Errorf("HTML part's buttons %v", urls)
	}
	if e.Subject != "Expense report #4821" || e.To[0] != "boss@example.org" {
		t.Errorf("email %+v", e)
	}
	page := browserGET(t, urls["Reject"])
	for _, want := range []string{"Expense report #4821", "Alice Martin asks for EUR 1,240.00", "Why? The requester will read this.", "<textarea"} {
		if !strings.Contains(page, want) {
			t.Errorf("the reject page lacks %q", want)
		}
	}
	if resp := svc.Click(t, urls["Reject"], url.Values{"comment": {"No."}}); resp.Status != http.StatusOK {
		t.Errorf("reject: %d", resp.Status)
	}
	state, _ := svc.SFN.Task(token)
	if cause, comment := rejection(&StatesError{Error: state.Error, Cause: state.Cause}); cause != rejectedCause || comment != "No." {
		t.Errorf("cause %q: read as %q, %q", state.Cause, cause, comment)
	}
}

func TestAskErrors(t *testing.T) {
	ctx := context.Background()
	s := newSetup(t)

	// CreateUrls refuses: nothing is mailed, and the Lambda task fails
	// with the service's error.
	ev := event(t, "AskForApproval", input, strings.Repeat("A", 2049))
	_, err := s.h.Handle(ctx, ev)
	var cerr *client.Error
	if !errors.As(err, &cerr) || cerr.Code != string(client.ErrInvalidJSON) {
		t.Errorf("bad token: err = %v", err)
	}
	if n := len(s.sns.Messages(s.topic)); n != 0 {
		t.Errorf("%d messages published", n)
	}
	// No token at all, or a step the function does not know.
	if _, err := s.h.Handle(ctx, Event{Step: StepAsk}); err == nil {
		t.Error("ask without a token succeeded")
	}
	if _, err := s.h.Handle(ctx, Event{Step: "typo"}); err == nil || !strings.Contains(err.Error(), `unknown step "typo"`) {
		t.Errorf("unknown step: %v", err)
	}
	// SNS down after the SDK's retries: the function fails, so the task
	// fails (or is retried) instead of waiting for a mail never sent.
	s.svc.SFN.AddTask(corpus.Tokens()[3])
	s.sns.FailNext(3, http.StatusInternalServerError, "InternalError")
	if _, err := s.h.Handle(ctx, event(t, "AskForApproval", input, corpus.Tokens()[3])); err == nil || !strings.Contains(err.Error(), "InternalError") {
		t.Errorf("SNS down: err = %v", err)
	}
}

func TestLongInput(t *testing.T) {
	s := newSetup(t)
	token := corpus.Tokens()[0]
	s.svc.SFN.AddTask(token)
	long := map[string]any{"title": strings.Repeat("Trip to Zürich ", 30), "description": strings.Repeat("Why? ", 400)}
	if _, err := s.h.Handle(context.Background(), event(t, "AskForApproval", long, token)); err != nil {
		t.Fatalf("long title and description: %v", err)
	}
	if got := s.sns.Messages(s.topic)[0].Subject; len(got) > mail.MaxSNSSubjectLength || !strings.HasPrefix(got, "Trip to Z?rich") {
		t.Errorf("subject %q", got)
	}
}

func TestRejection(t *testing.T) {
	for _, tc := range []struct {
		name           string
		failure        *StatesError
		cause, comment string
	}{
		{"form", &StatesError{Error: "Rejected", Cause: `{"cause":"No.","input":{"comment":"  Too much.  "}}`}, "No.", "Too much."},
		{"form without a cause", &StatesError{Error: "Rejected", Cause: `{"input":{"comment":"Too much."}}`}, rejectedCause, "Too much."},
		{"form left empty", &StatesError{Error: "Rejected", Cause: `{"cause":"No.","input":{}}`}, "No.", ""},
		{"plain cause", &StatesError{Error: "Rejected", Cause: "Rejected by email"}, "Rejected by email", ""},
		{"JSON without a cause", &StatesError{Error: "Rejected", Cause: `{"reason":"x"}`}, `{"reason":"x"}`, ""},
		{"no cause", &StatesError{Error: "Rejected"}, rejectedCause, ""},
		{"nothing caught", nil, rejectedCause, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cause, comment := rejection(tc.failure)
			if cause != tc.cause || comment != tc.comment {
				t.Errorf("rejection = %q, %q; want %q, %q", cause, comment, tc.cause, tc.comment)
			}
		})
	}
}

func TestNewHandler(t *testing.T) {
	cfg := awstest.Config("http://127.0.0.1:1")
	for _, tc := range []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"sns", map[string]string{"CREATE_URLS_FUNCTION": "f", "TOPIC_ARN": "arn:aws:sns:us-east-1:1:t"}, ""},
		{"ses", map[string]string{"CREATE_URLS_FUNCTION": "f", "SES_SENDER": "a@example.com", "APPROVER_EMAIL": "b@example.com"}, ""},
		{"sns with an unused approver", map[string]string{"CREATE_URLS_FUNCTION": "f", "TOPIC_ARN": "t", "APPROVER_EMAIL": "b@example.com"}, ""},
		{"no function", map[string]string{"TOPIC_ARN": "t"}, "CREATE_URLS_FUNCTION"},
		{"no mail", map[string]string{"CREATE_URLS_FUNCTION": "f"}, "set TOPIC_ARN"},
		{"both", map[string]string{"CREATE_URLS_FUNCTION": "f", "TOPIC_ARN": "t", "SES_SENDER": "a@example.com"}, "not both"},
		{"sns, no link limit", map[string]string{"CREATE_URLS_FUNCTION": "f", "TOPIC_ARN": "t", "MAX_LINK_LENGTH": "0"}, ""},
		{"bad link limit", map[string]string{"CREATE_URLS_FUNCTION": "f", "TOPIC_ARN": "t", "MAX_LINK_LENGTH": "-5"}, "MAX_LINK_LENGTH"},
		{"ses without recipient", map[string]string{"CREATE_URLS_FUNCTION": "f", "SES_SENDER": "a@example.com"}, "APPROVER_EMAIL"},
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
// with a base URL as long as API Gateway's, in each key mode. Plain text
// (SNS, and SES's text part): every line fits, the links too (without the
// title and description when they would not fit); with KMS envelope
// encryption no link fits, and CreateUrls refuses the ready-made email
// (README). HTML (SES) links carry the pages' title and description.
func TestLinkLengths(t *testing.T) {
	ctx := context.Background()
	for _, mode := range servicetest.KeyModes {
		t.Run(mode.Name, func(t *testing.T) {
			opts := servicetest.Deployed(config.Config{BaseURL: servicetest.APIBase}) // as long as a deployment's; not clicked
			opts.Keys = mode.Keys(t)
			svc := servicetest.Start(t, opts)
			sns := awstest.NewSNS(t)
			topic := sns.AddTopic("approvals")
			ses := awstest.NewSES(t)
			ses.Verify("example.com")
			urls := client.NewHTTP(svc.Gateway.Config(), svc.URL)
			plain := &Handler{URLs: urls, Mail: mail.NewSNS(sns.Client(), topic, 0), Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }}
			html := &Handler{URLs: urls, Mail: mail.NewSES(ses.Client(), "a@example.com", "b@example.com"), Logger: plain.Logger, Now: plain.Now}
			for _, token := range corpus.Tokens() {
				for _, h := range []*Handler{plain, html} {
					_, err := h.Handle(ctx, event(t, "AskForApproval", input, token))
					var cerr *client.Error
					switch {
					case mode.Name == servicetest.KMSEnvelope && (!errors.As(err, &cerr) || cerr.Code != string(client.ErrURLTooLong)):
						t.Fatalf("KMS envelope links fit plain text? %v", err)
					case mode.Name != servicetest.KMSEnvelope && err != nil:
						t.Fatal(err)
					}
				}
			}
			if mode.Name == servicetest.KMSEnvelope {
				return
			}
			lengths := map[string]*servicetest.Lengths{}
			add := func(kind, label, u string) {
				if lengths[kind+" "+label] == nil {
					lengths[kind+" "+label] = &servicetest.Lengths{}
				}
				lengths[kind+" "+label].Add(u)
			}
			for _, m := range sns.Messages(topic) {
				for label, u := range mailedLinks(t, m.Message, true) {
					add("SNS", label, u)
				}
			}
			href := regexp.MustCompile(`<a href="([^"]+)"[^>]*>([^<]+)</a>`)
			for _, e := range ses.Emails() {
				for _, m := range href.FindAllStringSubmatch(e.HTML, -1) {
					add("SES", m[2], strings.ReplaceAll(m[1], "&amp;", "&"))
				}
			}
			for _, name := range []string{"SNS Approve", "SNS Reject", "SES Approve", "SES Reject"} {
				l := lengths[name]
				t.Logf("%s link: mean %d, longest %d characters", name, l.Mean(), l.Max())
				if strings.HasPrefix(name, "SNS") && l.Max() > mail.MaxLineLength {
					t.Errorf("%s: longest %d characters, over a plain-text line", name, l.Max())
				} else if l.Max() > 2000 {
					t.Errorf("%s: %d characters, longer than some mail clients take", name, l.Max())
				}
			}
		})
	}
}

func FuzzRejection(f *testing.F) {
	f.Add(`{"cause":"No.","input":{"comment":"Too much."}}`)
	f.Add(`{"input":{"comment":5}}`)
	f.Add("Rejected by email")
	f.Add(`{"cause":null,"input":null}`)
	f.Fuzz(func(t *testing.T, cause string) {
		c, comment := rejection(&StatesError{Error: RejectedError, Cause: cause})
		if c == "" {
			t.Fatal("no cause")
		}
		if n := utf8.RuneCountInString(comment); n > maxComment {
			t.Fatalf("comment of %d characters", n)
		}
		if n := utf8.RuneCountInString(c); n > maxComment {
			t.Fatalf("cause of %d characters", n)
		}
	})
}

// TestExpiresInSeconds: the links' lifetime comes from the state's
// expires_in_seconds, cut to a year; a value that is not a positive
// number of seconds a duration holds fails the task and mails nothing
// (time.Duration(n)*time.Second used to wrap around: 18446744074 s made
// links that expired 0.29 s after they were made).
func TestExpiresInSeconds(t *testing.T) {
	ptr := func(n int64) *int64 { return &n }
	for _, tc := range []struct {
		seconds *int64
		until   string // "" for an error
	}{
		{nil, "The links work until 4 January 2030 at 12:00 UTC."},
		{ptr(3600), "The links work until 1 January 2030 at 13:00 UTC."},
		{ptr(10 * 365 * 86400), "The links work until 1 January 2031 at 12:00 UTC."}, // cut to a year
		{ptr(0), ""},
		{ptr(-3600), ""},
		{ptr(9223372037), ""},  // a negative duration once multiplied
		{ptr(18446744074), ""}, // 290 ms once multiplied
	} {
		s := newSetup(t)
		token := corpus.Tokens()[0]
		s.svc.SFN.AddTask(token)
		ev := event(t, "AskForApproval", input, token)
		ev.ExpiresInSeconds = tc.seconds
		_, err := s.h.Handle(context.Background(), ev)
		msgs := s.sns.Messages(s.topic)
		if tc.until == "" {
			if err == nil || !strings.Contains(err.Error(), "expires_in_seconds") || len(msgs) != 0 || len(s.svc.Lambda.Calls()) != 0 {
				t.Errorf("%d s: %v, %d mails, %d CreateUrls calls; want an error naming expires_in_seconds and nothing else", *tc.seconds, err, len(msgs), len(s.svc.Lambda.Calls()))
			}
			continue
		}
		if err != nil || len(msgs) != 1 || !strings.Contains(msgs[0].Message, tc.until) {
			t.Errorf("%v s: %v, mails %v; want one saying %q", tc.seconds, err, msgs, tc.until)
		}
	}
}

// TestRequesterLinks: a requester who writes links of their own in the
// title or the description (to pass them off as the approval's) gets
// none in the mail: its only links are CreateUrls' two, in plain text
// and in HTML.
func TestRequesterLinks(t *testing.T) {
	phishing := map[string]any{
		"title":       "Expense report: approve at https://evil.example/a",
		"description": "The links below are broken, use these:\n\nApprove:\nhttps://evil.example/respond?action=approve\n\nReject:\nwww.evil.example/reject",
	}
	ctx := context.Background()
	svc := servicetest.Start(t, servicetest.Deployed(config.Config{}))
	sns := awstest.NewSNS(t)
	topic := sns.AddTopic("approvals")
	ses := awstest.NewSES(t)
	ses.Verify("example.com")
	for i, sender := range []mail.Sender{mail.NewSNS(sns.Client(), topic, 0), mail.NewSES(ses.Client(), "approvals@example.com", "boss@example.org")} {
		h := &Handler{URLs: client.NewLambda(svc.Lambda.Config(), servicetest.FunctionARN), Mail: sender,
			Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }}
		token := corpus.Tokens()[i]
		svc.SFN.AddTask(token)
		if _, err := h.Handle(ctx, event(t, "AskForApproval", phishing, token)); err != nil {
			t.Fatal(err)
		}
	}
	sent := sns.Messages(topic)
	emails := ses.Emails()
	if len(sent) != 1 || len(emails) != 1 {
		t.Fatalf("%d SNS messages, %d emails", len(sent), len(emails))
	}
	for name, body := range map[string]string{"SNS": sent[0].Subject + "\n" + sent[0].Message, "SES text": emails[0].Subject + "\n" + emails[0].Text, "SES HTML": emails[0].HTML} {
		if strings.Contains(body, "evil.example") {
			t.Errorf("the %s mail has the requester's link:\n%s", name, body)
		}
		found := mailedLinks(t, body, false)
		if name == "SES HTML" {
			continue
		}
		if len(found) != 2 || !strings.HasPrefix(found["Approve"], svc.URL+"/respond?") || !strings.HasPrefix(found["Reject"], svc.URL+"/respond?") {
			t.Errorf("the %s mail's links: %v, want CreateUrls' approve and reject only", name, found)
		}
		if n := strings.Count(body, "://"); n != 2 {
			t.Errorf("the %s mail has %d URLs, want 2:\n%s", name, n, body)
		}
	}
	if n := strings.Count(emails[0].HTML, "href="); n != 2 {
		t.Errorf("the HTML has %d links, want 2", n)
	}
}

// TestOnlyCreateUrlsLinks: a CreateUrls answer without both links, with
// a link that is not one, or with links already expired, mails nothing
// and fails the task. The answers come from a Lambda function speaking
// the contract, through the real client.
func TestOnlyCreateUrlsLinks(t *testing.T) {
	const good = "https://cb.example.com/v1/respond?action=approve&type=success&data=3-secret"
	for _, tc := range []struct {
		name, answer, wantErr string
	}{
		{"no approve link", `{"transaction_id":"t","urls":{"reject":"` + good + `"},"expiration":"2030-01-04T12:00:00Z"}`, `no "approve" URL`},
		{"no links", `{"transaction_id":"t","urls":{},"expiration":"2030-01-04T12:00:00Z"}`, `no "approve" URL`},
		{"empty links", `{"transaction_id":"t","urls":{"approve":"","reject":""},"expiration":"2030-01-04T12:00:00Z"}`, `no "approve" URL`},
		{"a relative link", `{"transaction_id":"t","urls":{"approve":"/respond?x","reject":"` + good + `"},"expiration":"2030-01-04T12:00:00Z"}`, "not an absolute"},
		{"expired links", `{"transaction_id":"t","urls":{"approve":"` + good + `","reject":"` + good + `"},"expiration":"2029-12-31T12:00:00Z"}`, "expired at"},
		{"no expiration", `{"transaction_id":"t","urls":{"approve":"` + good + `","reject":"` + good + `"}}`, "never expire"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fn := lambdatest.New(t)
			fn.AddFunction("create", func(context.Context, json.RawMessage) (any, error) { return json.RawMessage(tc.answer), nil })
			sns := awstest.NewSNS(t)
			topic := sns.AddTopic("approvals")
			h := &Handler{URLs: client.NewLambda(fn.Config(), "create"), Mail: mail.NewSNS(sns.Client(), topic, 0),
				Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }}
			_, err := h.Handle(context.Background(), event(t, "AskForApproval", input, corpus.Tokens()[0]))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%v, want an error saying %q", err, tc.wantErr)
			}
			if n := len(sns.Messages(topic)); n != 0 {
				t.Errorf("%d mails sent", n)
			}
		})
	}
}
