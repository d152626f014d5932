package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/examples/internal/awstest"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/testkit"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/client/lambdatest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
)

// TestSignals runs the built worker against the stand-ins, as a person
// would run it, and stops it with SIGTERM while it long-polls: it exits 0
// at once. The task it mailed before is the service's to complete.
func TestSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the worker")
	}
	bin := filepath.Join(t.TempDir(), "activity-worker")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	svc := servicetest.Start(t, servicetest.Deployed(config.Config{}))
	svc.SFN.SetPollTimeout(time.Minute)
	sns := awstest.NewSNS(t)
	topic := sns.AddTopic("approvals")
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(bin, "--activity-arn", activityARN, "--topic-arn", topic, "--create-urls-function", servicetest.FunctionARN, "--worker-name", "laptop")
			cmd.Env = []string{
				"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
				"AWS_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
				// lambdatest checks signatures made with its credentials.
				"AWS_ACCESS_KEY_ID=" + lambdatest.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + lambdatest.SecretAccessKey,
				"AWS_ENDPOINT_URL_SFN=" + svc.SFN.URL(), "AWS_ENDPOINT_URL_SNS=" + sns.URL(), "AWS_ENDPOINT_URL_LAMBDA=" + svc.Lambda.URL(),
			}
			var stderr testkit.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			defer func() { _ = cmd.Process.Kill() }()

			mails := len(sns.Messages(topic))
			token := corpus.Tokens()[0]
			svc.SFN.AddActivityTask(activityARN, token+sig.String(), `{"execution":"x","expires_in_seconds":60,"request":{"title":"Signals"}}`)
			waitFor(t, "the mail", func() bool { return len(sns.Messages(topic)) == mails+1 })
			time.Sleep(100 * time.Millisecond) // back in its long poll

			begin := time.Now()
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-exited:
				if err != nil {
					t.Fatalf("exit: %v\n%s", err, stderr.String())
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("still running 5 s after %s\n%s", sig, stderr.String())
			}
			t.Logf("%s: exited in %v", sig, time.Since(begin).Round(time.Millisecond))
			logs := stderr.String()
			if !strings.Contains(logs, `"msg":"polling"`) || !strings.Contains(logs, `"msg":"mailed"`) || !strings.Contains(logs, `"msg":"stopped"`) {
				t.Errorf("log:\n%s", logs)
			}
		})
	}
}
