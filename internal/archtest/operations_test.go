package archtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// sdkOperation matches an AWS SDK client's exported method in go tool nm's
// output: "github.com/aws/aws-sdk-go-v2/service/sfn.(*Client).SendTaskSuccess".
var sdkOperation = regexp.MustCompile(`github\.com/aws/aws-sdk-go-v2/service/(\w+)\.\(\*Client\)\.([A-Z]\w*)$`)

// TestSDKOperationsLinked guards the functions' size: each links only the
// AWS operations it calls. A client held in an interface, or in a struct
// that is (callbackurls.StepFunctions), keeps every operation of its
// service once text/template's reflection is linked, as ProcessCallback's
// pages link it: hold method values instead (see stepfunctions.Client).
func TestSDKOperationsLinked(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the Lambda binaries")
	}
	root := moduleRoot(t)
	// The SDK's own clients (sts, sso, ssooidc, signin) come with its
	// credential chain and are not ours to trim.
	// No Lambda operation at all: durable callbacks are sent without the
	// Lambda client, whose package costs a cold start (durablecallbacks).
	ours := map[string]bool{"sfn": true, "kms": true, "ssm": true, "secretsmanager": true, "lambda": true}
	allowed := map[string][]string{
		"create-urls":      {"kms.GenerateDataKey", "kms.Decrypt", "kms.GenerateMac", "kms.DescribeKey", "kms.Options", "secretsmanager.GetSecretValue", "secretsmanager.Options", "ssm.GetParameter", "ssm.Options"},
		"process-callback": {"kms.GenerateDataKey", "kms.Decrypt", "kms.GenerateMac", "kms.DescribeKey", "kms.Options", "secretsmanager.GetSecretValue", "secretsmanager.Options", "ssm.GetParameter", "ssm.Options", "sfn.SendTaskSuccess", "sfn.SendTaskFailure", "sfn.SendTaskHeartbeat", "sfn.Options", "kms.Sign", "kms.GetPublicKey"},
	}
	for fn, ok := range allowed {
		t.Run(fn, func(t *testing.T) {
			bin := filepath.Join(t.TempDir(), "bootstrap")
			build := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-o", bin, "./functions/"+fn)
			build.Dir = root
			build.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, out)
			}
			out, err := exec.Command("go", "tool", "nm", bin).Output()
			if err != nil {
				t.Fatalf("go tool nm: %v", err)
			}
			var extra []string
			for line := range strings.SplitSeq(string(out), "\n") {
				m := sdkOperation.FindStringSubmatch(strings.TrimSpace(line))
				if m == nil || !ours[m[1]] {
					continue
				}
				if op := m[1] + "." + m[2]; !slices.Contains(ok, op) && !slices.Contains(extra, op) {
					extra = append(extra, op)
				}
			}
			if len(extra) > 0 {
				slices.Sort(extra)
				t.Errorf("%s links %d AWS operations it never calls (a client is held where reflection can reach it):\n\t%s",
					fn, len(extra), strings.Join(extra, "\n\t"))
			}
		})
	}
}
