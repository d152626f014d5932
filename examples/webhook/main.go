// Command webhook is the example's Lambda function (provided.al2023, built
// as "bootstrap" by `make build-WebhookDispatchFunction`). The state
// machine invokes it with its task token (lambda:invoke.waitForTaskToken);
// it creates an sfn-callback-urls post action URL and POSTs it to a CI
// system's trigger, such as GitHub's repository_dispatch. The CI job POSTs
// its result to the URL, which completes the task.
//
// Settings (environment, set by template.yaml):
//
//	CREATE_URLS_FUNCTION  the sfn-callback-urls stack's CreateUrls function (FunctionArn output)
//	TRIGGER_URL           where to POST {"event_type", "client_payload": {"callback_url", ...}},
//	                      e.g. https://api.github.com/repos/OWNER/REPO/dispatches
//	                      (it must answer 2xx itself: a redirect is not followed)
//	TRIGGER_TOKEN_SECRET  optional: a Secrets Manager secret whose value is the
//	                      trigger's bearer token (read once per cold start)
//	EVENT_TYPE            the event_type (default sfn-callback)
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/client"
)

func main() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err == nil {
		var h *Handler
		if h, err = newHandler(ctx, cfg, os.Getenv); err == nil {
			lambda.Start(h.Handle)
			return
		}
	}
	fmt.Fprintln(os.Stderr, "webhook:", err)
	os.Exit(1)
}

// newHandler builds the function from its settings.
func newHandler(ctx context.Context, cfg aws.Config, getenv func(string) string) (*Handler, error) {
	function, trigger := getenv("CREATE_URLS_FUNCTION"), getenv("TRIGGER_URL")
	if function == "" {
		return nil, errors.New("set CREATE_URLS_FUNCTION to the sfn-callback-urls stack's FunctionArn output")
	}
	if u, err := url.Parse(trigger); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("set TRIGGER_URL to the http(s) URL to POST the callback URL to")
	}
	outcomes, err := Outcomes()
	if err != nil {
		return nil, err
	}
	h := &Handler{
		URLs:       client.NewLambda(cfg, function),
		Outcomes:   outcomes,
		TriggerURL: trigger,
		EventType:  getenv("EVENT_TYPE"),
		HTTP:       &http.Client{Timeout: 10 * time.Second},
		Logger:     slog.New(slog.NewJSONHandler(os.Stdout, nil)),
		Now:        time.Now,
	}
	if h.EventType == "" {
		h.EventType = "sfn-callback"
	}
	if secret := getenv("TRIGGER_TOKEN_SECRET"); secret != "" {
		out, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &secret})
		if err != nil {
			return nil, fmt.Errorf("TRIGGER_TOKEN_SECRET %s: %w", secret, err)
		}
		if h.Token = strings.TrimSpace(aws.ToString(out.SecretString)); h.Token == "" {
			return nil, fmt.Errorf("TRIGGER_TOKEN_SECRET %s: the secret has no string value", secret)
		}
	}
	return h, nil
}
