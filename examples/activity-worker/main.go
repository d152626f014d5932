// Command activity-worker is the example's activity worker: a long-running
// program, for a container, an EC2 instance or a laptop, that long-polls
// Step Functions for the activity's tasks (GetActivityTask), creates each
// task's Approve and Reject URLs with sfn-callback-urls and mails them
// through SNS, as in the AWS manual-approval walkthrough. A click on a link
// completes the task; the worker never calls SendTask*.
//
// SIGTERM or SIGINT stops it gracefully: it stops polling (cutting a long
// poll short) and finishes the tasks in hand; a second signal ends it at
// once.
//
// Usage:
//
//	activity-worker --activity-arn ARN --topic-arn ARN (--create-urls-function ARN | --create-urls-api URL) [flags]
//
// Every flag can also come from the environment (ACTIVITY_ARN, TOPIC_ARN,
// CREATE_URLS_FUNCTION, CREATE_URLS_API, WORKER_NAME, POLLERS,
// MAX_LINK_LENGTH). AWS credentials and region come from the SDK's default
// chain (AWS_PROFILE, AWS_REGION, an instance or task role, ...).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/sfncallbackurls/sfn-callback-urls/examples/internal/mail"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-ctx.Done()
		stop() // a second signal ends the program at once
	}()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "activity-worker:", err)
		os.Exit(1)
	}
}

// settings are the worker's flags.
type settings struct {
	activityARN, topicARN, function, api, name string
	pollers, maxLink                           int
}

func parseSettings(args []string, getenv func(string) string, stderr io.Writer) (*settings, error) {
	host, _ := os.Hostname()
	name := getenv("WORKER_NAME")
	if name == "" {
		name = mail.Clip(host, 80)
	}
	pollers, err := strconv.Atoi(or(getenv("POLLERS"), "1"))
	if err != nil {
		return nil, fmt.Errorf("POLLERS=%q: want a number", getenv("POLLERS"))
	}
	s := &settings{}
	var maxLink string
	fs := flag.NewFlagSet("activity-worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&s.activityARN, "activity-arn", getenv("ACTIVITY_ARN"), "the activity to take tasks of (the example stack's Activity output)")
	fs.StringVar(&s.topicARN, "topic-arn", getenv("TOPIC_ARN"), "the SNS topic to mail through (the example stack's Topic output)")
	fs.StringVar(&s.function, "create-urls-function", getenv("CREATE_URLS_FUNCTION"), "the sfn-callback-urls CreateUrls function (its stack's FunctionArn output), invoked directly")
	fs.StringVar(&s.api, "create-urls-api", getenv("CREATE_URLS_API"), "or the sfn-callback-urls API (its stack's Api output): POST {api}/urls, signed")
	fs.StringVar(&s.name, "worker-name", name, "the name Step Functions records for this worker")
	fs.IntVar(&s.pollers, "pollers", pollers, "tasks taken and handled at once")
	fs.StringVar(&maxLink, "max-link-length", getenv("MAX_LINK_LENGTH"), "the longest link to mail (default 998, a plain-text mail line; 0: no limit)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case s.activityARN == "":
		return nil, errors.New("set --activity-arn (or ACTIVITY_ARN)")
	case s.topicARN == "":
		return nil, errors.New("set --topic-arn (or TOPIC_ARN)")
	case (s.function == "") == (s.api == ""):
		return nil, errors.New("set one of --create-urls-function and --create-urls-api")
	case s.pollers < 1 || s.pollers > 100:
		return nil, fmt.Errorf("--pollers %d: want 1 to 100", s.pollers)
	}
	if s.maxLink, err = mail.ParseMaxLinkLength(maxLink); err != nil {
		return nil, err
	}
	return s, nil
}

// run parses the settings and works until ctx is done.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	s, err := parseSettings(args, getenv, stderr)
	if err != nil {
		return err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	w := newWorker(cfg, s, slog.New(slog.NewJSONHandler(stderr, nil)))
	w.Logger.Info("polling", "activity", s.activityARN, "worker", s.name, "pollers", s.pollers)
	err = w.Run(ctx)
	w.Logger.Info("stopped")
	return err
}

func newWorker(cfg aws.Config, s *settings, logger *slog.Logger) *Worker {
	urls := client.NewLambda(cfg, s.function)
	if s.api != "" {
		urls = client.NewHTTP(cfg, s.api)
	}
	return &Worker{
		ActivityARN: s.activityARN,
		Name:        s.name,
		Poll:        sfn.NewFromConfig(cfg).GetActivityTask,
		URLs:        urls,
		Mail:        mail.NewSNS(sns.NewFromConfig(cfg), s.topicARN, s.maxLink),
		Logger:      logger,
		Now:         time.Now,
		Pollers:     s.pollers,
	}
}

func or(v, fallback string) string {
	if v == "" {
		return fallback
	}
	return v
}
