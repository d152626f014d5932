// Package nocodeapproval_test runs the example's request end to end on
// moto: the request the state machine's Task sends (read from
// statemachine.asl.json, its JSONata filled in), made for a task moto's
// Step Functions is waiting on, sent to sfn-callback-urls as `serve --sfn
// aws` builds it (pkg/localserver, in-process) with SES v2 and SNS on moto;
// the ask read back from SES and from an SQS queue subscribed to the
// topic; every link of every rendering opened; a decision clicked; and the
// confirmation read back the same way, after approve and after reject.
//
// moto's Step Functions does not run JSONata or invoke a Lambda function
// it cannot host, so the waiting task is an SQS waitForTaskToken task of a
// state machine of the test's own (moto's tokens are 36-character UUIDs:
// pkg/callbackurls' TestTextLinksWithRealTokens measures real ones).
package nocodeapproval_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/mototest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localserver"
)

const (
	sender   = "approvals@example.com"
	approver = "alice@example.com"
	title    = "Deploy release 1.4 to production"
)

// tokenSource is a state machine whose one task waits on a token it
// sends to a queue: the task the example's Task stands for.
const tokenSource = `{"StartAt": "Wait", "States": {"Wait": {"Type": "Task",
  "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
  "Parameters": {"QueueUrl": "%s", "MessageBody": {"token.$": "$$.Task.Token"}}, "End": true}}}`

func TestEndToEndOnMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test on moto: not in -short mode")
	}
	moto := mototest.Start(t)
	resp, err := http.Post(moto.URL+"/moto-api/config", "application/json", strings.NewReader(`{"stepfunctions": {"execute_state_machine": true}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for i, decision := range []string{"approve", "reject"} {
		t.Run(decision, func(t *testing.T) {
			// moto runs one execution a region at a time.
			run(t, moto, []string{"us-east-1", "eu-west-1"}[i], decision)
		})
	}
}

func run(t *testing.T, moto *mototest.Server, region, decision string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cfg := moto.Config(region)
	sqsc, snsc, sfnc, sesc := sqs.NewFromConfig(cfg), sns.NewFromConfig(cfg), sfn.NewFromConfig(cfg), sesv2.NewFromConfig(cfg)

	// AWS: the sender's identity, a topic read back through a queue, and
	// a task waiting on its token.
	must(sesc.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(sender)}))(t)
	topic := *must(snsc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("approvals")}))(t).TopicArn
	inbox := *must(sqsc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("inbox")}))(t).QueueUrl
	must(snsc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: &topic, Protocol: aws.String("sqs"),
		Endpoint: aws.String("arn:aws:sqs:" + region + ":123456789012:inbox")}))(t)
	tasks := *must(sqsc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("tasks")}))(t).QueueUrl
	machine := must(sfnc.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("waits"),
		Definition: aws.String(fmt.Sprintf(tokenSource, tasks)), RoleArn: aws.String("arn:aws:iam::123456789012:role/waits")}))(t).StateMachineArn
	execution := *must(sfnc.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: machine, Name: aws.String("deploy-" + decision)}))(t).ExecutionArn
	var task struct{ Token string }
	if err := json.Unmarshal([]byte(receive(ctx, t, sqsc, tasks)), &task); err != nil || task.Token == "" {
		t.Fatalf("task message: %v", err)
	}
	entered := time.Now().UTC()

	// sfn-callback-urls as `serve --sfn aws` builds it, on moto.
	base := startServer(t, cfg, topic)

	// The Task's request, plus SNS and every rendering, to check them all.
	body := taskPayload(t, task.Token, entered)
	body["deliver"].(map[string]any)["sns"] = map[string]any{"topic_arn": topic}
	body["messages"] = []string{"email", "teams", "slack"}
	created := postJSON(t, base+"/urls", body)
	var out struct {
		URLs     map[string]string
		Messages struct {
			Email        struct{ Subject, Text, HTML string }
			Teams, Slack json.RawMessage
		}
		Delivered struct {
			Email, SNS *struct {
				MessageID string `json:"message_id"`
			}
		}
	}
	if err := json.Unmarshal(created, &out); err != nil || out.Delivered.Email == nil || out.Delivered.SNS == nil {
		t.Fatalf("CreateUrls answered %s (%v)", created, err)
	}

	// The ask, as SNS subscribers and SES got it.
	note := notification(ctx, t, sqsc, inbox)
	if note.Subject != title {
		t.Errorf("SNS subject %q", note.Subject)
	}
	mail := sesMessage(t, moto, title)
	if mail.Source != sender || !strings.Contains(fmt.Sprint(mail.Destinations), approver) {
		t.Errorf("SES mail from %q to %v", mail.Source, mail.Destinations)
	}
	checkText(t, "SNS text", note.Message)
	checkText(t, "email text", out.Messages.Email.Text)

	// Every link of every rendering opens its action's confirmation page.
	renderings := map[string]string{"SNS text": note.Message, "SES html": mail.Body, "email text": out.Messages.Email.Text,
		"email html": out.Messages.Email.HTML, "teams": string(out.Messages.Teams), "slack": string(out.Messages.Slack)}
	for name, r := range renderings {
		found := map[string]bool{}
		for _, link := range links(r) {
			action := checkPage(t, name, base, link)
			found[action] = true
		}
		if !found["approve"] || !found["reject"] || len(found) != 2 {
			t.Errorf("%s: links to %v, want approve and reject", name, found)
		}
	}

	// The decision, as the page's button sends it.
	form := url.Values{}
	if decision == "reject" {
		form.Set("comment", "Not on a Friday.")
	}
	res, err := http.PostForm(out.URLs[decision], form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("click: %s", res.Status)
	}
	end := mototest.WaitForEnd(ctx, t, sfnc, execution)
	switch decision {
	case "approve":
		var output map[string]any
		if end.Status != sfntypes.ExecutionStatusSucceeded || json.Unmarshal([]byte(aws.ToString(end.Output)), &output) != nil || output["approved"] != true {
			t.Errorf("execution %s, output %s", end.Status, aws.ToString(end.Output))
		}
	case "reject":
		if end.Status != sfntypes.ExecutionStatusFailed || aws.ToString(end.Error) != "Rejected" {
			t.Errorf("execution %s, error %s", end.Status, aws.ToString(end.Error))
		}
	}

	// The confirmation, after the decision, to the same recipients.
	heading := map[string]string{"approve": "Approved", "reject": "Rejected"}[decision]
	confirmation := notification(ctx, t, sqsc, inbox)
	if confirmation.Subject != heading+": "+title || !strings.Contains(confirmation.Message, "“"+strings.ToUpper(decision[:1])+decision[1:]+"”") {
		t.Errorf("SNS confirmation %q:\n%s", confirmation.Subject, confirmation.Message)
	}
	if decision == "reject" && !strings.Contains(confirmation.Message, "Comment:\nNot on a Friday.") {
		t.Errorf("the comment is not in the confirmation:\n%s", confirmation.Message)
	}
	checkText(t, "SNS confirmation", confirmation.Message)
	sesMessage(t, moto, heading+": "+title)
}

// taskPayload is the Payload of the example's Task state with its JSONata
// evaluated for this task: every expression must be one the test knows,
// so a change of the state machine's request shows here.
func taskPayload(t *testing.T, token string, entered time.Time) map[string]any {
	t.Helper()
	b, err := os.ReadFile("statemachine.asl.json")
	if err != nil {
		t.Fatal(err)
	}
	var def struct {
		States map[string]struct {
			Arguments struct{ Payload map[string]any }
		}
	}
	if err := json.Unmarshal(b, &def); err != nil {
		t.Fatal(err)
	}
	values := map[string]any{
		"$states.context.Task.Token": token,
		"$states.input.title":        title,
		"$exists($states.input.description) ? $states.input.description : ''":  "Changes: the new billing page.\nRisk: low (https://evil.example/approve).",
		"$fromMillis($toMillis($states.context.State.EnteredTime) + 86400000)": entered.Add(24 * time.Hour).Format("2006-01-02T15:04:05.000Z"),
		"$states.input.approvers": []string{approver},
	}
	var fill func(v any) any
	fill = func(v any) any {
		switch x := v.(type) {
		case string:
			if expr, ok := strings.CutPrefix(x, "{%"); ok {
				expr = strings.TrimSpace(strings.TrimSuffix(expr, "%}"))
				val, known := values[expr]
				if !known {
					t.Fatalf("the Task's payload has an expression the test does not know: %s", expr)
				}
				return val
			}
		case map[string]any:
			for k, e := range x {
				x[k] = fill(e)
			}
		case []any:
			for i, e := range x {
				x[i] = fill(e)
			}
		}
		return v
	}
	p := def.States["AskForApproval"].Arguments.Payload
	if p == nil {
		t.Fatal("no AskForApproval payload")
	}
	return fill(p).(map[string]any)
}

func startServer(t *testing.T, cfg aws.Config, topic string) string {
	t.Helper()
	keys, err := keyring.New(keyring.Key{ID: "e2e", Secret: make([]byte, keyring.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	var srv *localserver.Server
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { srv.Handler.ServeHTTP(w, r) }))
	t.Cleanup(ts.Close)
	// The settings serve's flags make (the key is the test's keyring).
	c := &config.Config{SFN: config.SFNAWS, BaseURL: ts.URL, SenderEmail: sender, AllowedTopicARNs: []string{topic}}
	srv, err = localserver.New(context.Background(), c, localserver.Options{KeySource: keys,
		AWSConfig: func() (aws.Config, error) { return cfg, nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return ts.URL
}

func postJSON(t *testing.T, u string, v any) []byte {
	t.Helper()
	b, _ := json.Marshal(v)
	resp, err := http.Post(u, "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %s %s", u, resp.Status, out)
	}
	return out
}

// checkText: every line fits plain-text mail, a link is alone on its line,
// and the requester's link is inert.
func checkText(t *testing.T, name, text string) {
	t.Helper()
	longest := 0
	for i, line := range strings.Split(text, "\n") {
		longest = max(longest, len(line))
		if len(line) > 998 {
			t.Errorf("%s: line %d is %d characters", name, i+1, len(line))
		}
		if strings.Contains(line, "://") && (!strings.HasPrefix(line, "http") || strings.Contains(line, " ")) {
			t.Errorf("%s: line %d has a link that is not alone: %.80q", name, i+1, line)
		}
	}
	if strings.Contains(text, "evil.example") {
		t.Errorf("%s: the requester's link is live", name)
	}
	t.Logf("%s: longest line %d characters", name, longest)
}

var linkRE = regexp.MustCompile(`https?://[^\s"'<>\\]+/respond\?[^\s"'<>\\]+`)

func links(s string) []string {
	var out []string
	for _, l := range linkRE.FindAllString(s, -1) {
		out = append(out, strings.ReplaceAll(l, "&amp;", "&"))
	}
	return out
}

// checkPage opens a link as a browser does and returns the action whose
// confirmation page it is.
func checkPage(t *testing.T, rendering, base, link string) string {
	t.Helper()
	if !strings.HasPrefix(link, base+"/respond?") {
		t.Errorf("%s: a link elsewhere: %.80s", rendering, link)
		return ""
	}
	req, _ := http.NewRequest(http.MethodGet, link, nil)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("User-Agent", "Mozilla/5.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	action := url.Values{}
	if u, err := url.Parse(link); err == nil {
		action = u.Query()
	}
	name := action.Get("action")
	if name == "" {
		// A plain-text link shortened to fit a line names no action: its
		// page says which.
		for n, l := range map[string]string{"approve": "Approve", "reject": "Reject"} {
			if strings.Contains(string(page), ">"+l+"</button>") {
				name = n
			}
		}
	}
	label := map[string]string{"approve": "Approve", "reject": "Reject"}[name]
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Callback-Confirmation") != "required" ||
		label == "" || !strings.Contains(string(page), ">"+label+"</button>") {
		t.Errorf("%s: %s link: %s, confirmation %q, the page has no %q button", rendering, name, resp.Status, resp.Header.Get("X-Callback-Confirmation"), label)
	}
	return name
}

type note struct{ Type, Subject, Message string }

// notification is the next SNS notification the queue got.
func notification(ctx context.Context, t *testing.T, c *sqs.Client, queue string) note {
	t.Helper()
	var n note
	if err := json.Unmarshal([]byte(receive(ctx, t, c, queue)), &n); err != nil || n.Type != "Notification" {
		t.Fatalf("notification: %v", err)
	}
	return n
}

func receive(ctx context.Context, t *testing.T, c *sqs.Client, queue string) string {
	t.Helper()
	m := mototest.Receive(ctx, t, c, queue)
	must(c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &queue, ReceiptHandle: m.ReceiptHandle}))(t)
	return aws.ToString(m.Body)
}

type sesMail struct {
	Source, Subject, Body string
	Destinations          map[string][]string
}

// sesMessage is the last message moto's SES took with that subject (moto
// keeps the HTML part when there is one), read from moto's model data,
// which holds every region's.
func sesMessage(t *testing.T, moto *mototest.Server, subject string) sesMail {
	t.Helper()
	resp, err := http.Get(moto.URL + "/moto-api/data.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var data struct {
		SES struct{ Message []sesMail } `json:"ses"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&data); err != nil {
		t.Fatal(err)
	}
	for i := len(data.SES.Message) - 1; i >= 0; i-- {
		if m := data.SES.Message[i]; m.Subject == subject {
			return m
		}
	}
	t.Fatalf("SES has no message %q (it has %d)", subject, len(data.SES.Message))
	return sesMail{}
}

func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
