// Package coldstart measures the Lambda functions' start-up: the real
// bootstrap binaries are built, started against a stand-in of the Lambda
// Runtime API, and timed from process start to their first request for
// work (the moment Lambda would hand them an event).
package coldstart

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
)

var functions = []string{"create-urls", "process-callback"}

func build(tb testing.TB, fn string) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags=-s -w", "-o", bin, "../../functions/"+fn)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("build %s: %v\n%s", fn, err, out)
	}
	return bin
}

// runtimeAPI answers the first "next invocation" poll by signalling ready
// and then holding the request until the test ends it.
func runtimeAPI(tb testing.TB) (addr string, ready chan struct{}) {
	ready = make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/runtime/invocation/next") {
			select {
			case ready <- struct{}{}:
			default:
			}
			<-r.Context().Done()
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	tb.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), ready
}

func env(tb testing.TB, runtimeAddr string) []string {
	k, err := keyring.GenerateKey(nil)
	if err != nil {
		tb.Fatal(err)
	}
	r, err := keyring.New(k)
	if err != nil {
		tb.Fatal(err)
	}
	doc, err := r.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, doc); err != nil {
		tb.Fatal(err)
	}
	return []string{
		"AWS_LAMBDA_RUNTIME_API=" + runtimeAddr,
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY=secret",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/nonexistent",
		"AWS_SHARED_CREDENTIALS_FILE=/nonexistent",
		"API_ID=abc123defg",
		"STAGE=v1",
		"KEYRING=" + compact.String(),
		"PATH=" + os.Getenv("PATH"),
	}
}

// start runs one cold start and returns its duration and peak RSS in KiB.
func start(tb testing.TB, bin string, environ []string, ready chan struct{}) (time.Duration, int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = environ
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var elapsed time.Duration
	select {
	case <-ready:
		elapsed = time.Since(begin)
	case err := <-exited:
		tb.Fatalf("%s exited before asking for work: %v\n%s", bin, err, stderr.String())
	case <-ctx.Done():
		tb.Fatalf("%s did not ask for work within 30 s\n%s", bin, stderr.String())
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss
	}
	return elapsed, rss
}

// TestBootstrapsStart checks both functions reach the Runtime API with a
// static keyring configured (and so would serve in Lambda).
func TestBootstrapsStart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the Lambda binaries")
	}
	for _, fn := range functions {
		t.Run(fn, func(t *testing.T) {
			bin := build(t, fn)
			addr, ready := runtimeAPI(t)
			start(t, bin, env(t, addr), ready)
		})
	}
}

// BenchmarkColdStart reports process start to first poll (ns/op), the
// binary's size and the peak resident memory of the process.
func BenchmarkColdStart(b *testing.B) {
	for _, fn := range functions {
		b.Run(fn, func(b *testing.B) {
			bin := build(b, fn)
			info, err := os.Stat(bin)
			if err != nil {
				b.Fatal(err)
			}
			addr, ready := runtimeAPI(b)
			environ := env(b, addr)
			var total time.Duration
			var peak int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				d, rss := start(b, bin, environ, ready)
				total += d
				peak = max(peak, rss)
			}
			b.StopTimer()
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms/start")
			b.ReportMetric(float64(info.Size())/(1<<20), "MiB-binary")
			b.ReportMetric(float64(peak)/1024, "MiB-maxrss")
		})
	}
}
