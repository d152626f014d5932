package loadtest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Concurrencies are the numbers of clients each server is driven with.
var concurrencies = []int{1, 16, 128}

// maxRun bounds one sub-benchmark's time: a server that cannot keep up
// ends its run early, reporting the flows it finished.
const maxRun = 60 * time.Second

// BenchmarkLoad runs b.N full flows per sub-benchmark, spread over the
// clients, and reports:
//
//	flows/s       finished flows per second of wall time
//	cb-p50-ms     median latency of the callback (the approve POST)
//	cb-p99-ms     99th percentile of the same
//	flow-p99-ms   99th percentile of a whole flow (three requests)
//
// Servers are built from this tree ("after") and, with LOAD_BEFORE=<commit>,
// from that commit ("before"); each runs in its own process with its own
// store and key, and the two are driven alternately at each concurrency so
// that both see the same machine. Use -benchtime=Nx to fix the number of
// flows (make bench-load does).
func BenchmarkLoad(b *testing.B) {
	if testing.Short() {
		b.Skip("builds the CLI and drives it with up to 128 clients")
	}
	servers := []*server{startServer(b, "after", buildCLI(b, moduleRoot(b)))}
	if rev := os.Getenv("LOAD_BEFORE"); rev != "" {
		src := exportCommit(b, rev)
		servers = append([]*server{startServer(b, "before", buildCLI(b, src))}, servers...)
	}
	for _, clients := range concurrencies {
		for _, s := range servers {
			b.Run(fmt.Sprintf("clients=%d/server=%s", clients, s.name), func(b *testing.B) {
				s.run(b, clients)
			})
		}
	}
}

// server is a running serve process.
type server struct {
	name, base string
	client     *http.Client
}

// moduleRoot is the directory of this module's go.mod.
func moduleRoot(tb testing.TB) string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		tb.Fatalf("go env GOMOD: %q %v", gomod, err)
	}
	return filepath.Dir(gomod)
}

// exportCommit writes the tree of a commit into a temporary directory
// (git archive: the repository and its work tree are left alone).
func exportCommit(tb testing.TB, rev string) string {
	tb.Helper()
	dir := tb.TempDir()
	archive := exec.Command("git", "archive", "--format=tar", rev)
	archive.Dir = moduleRoot(tb)
	var stderr bytes.Buffer
	archive.Stderr = &stderr
	tarball, err := archive.Output()
	if err != nil {
		tb.Fatalf("git archive %s: %v\n%s", rev, err, stderr.String())
	}
	untar := exec.Command("tar", "-x", "-C", dir)
	untar.Stdin = bytes.NewReader(tarball)
	if out, err := untar.CombinedOutput(); err != nil {
		tb.Fatalf("tar: %v\n%s", err, out)
	}
	return dir
}

// buildCLI builds cmd/sfn-callback-urls of the module at src.
func buildCLI(tb testing.TB, src string) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "sfn-callback-urls")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/sfn-callback-urls")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("build the CLI in %s: %v\n%s", src, err, out)
	}
	return bin
}

// startServer runs `serve` with the local store on a free loopback port,
// in a directory of its own, with a fresh static key, and waits until it
// answers. Its request log goes nowhere: writing it is part of the work,
// reading it is not.
func startServer(tb testing.TB, name, bin string) *server {
	tb.Helper()
	dir := tb.TempDir()
	secret := make([]byte, 32)
	for i := range secret {
		secret[i] = byte(i*7 + 1)
	}
	keyring, _ := json.Marshal(map[string]any{"keys": []any{map[string]any{"id": "load", "key": base64.StdEncoding.EncodeToString(secret)}}})
	addr := freeAddr(tb)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "serve", "--sfn", "local", "--addr", addr, "--store", filepath.Join(dir, "tasks.db"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "KEYRING="+string(keyring))
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		cancel()
		tb.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		cancel()
		<-exited
	})
	s := &server{name: name, base: "http://" + addr, client: &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 1024,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
	}}
	tb.Cleanup(s.client.CloseIdleConnections)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-exited:
			tb.Fatalf("%s server exited: %v\n%s", name, err, stdout.String())
		default:
		}
		if resp, err := s.client.Get(s.base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s server did not answer on %s", name, addr)
		}
	}
}

// freeAddr is a loopback address with a port nothing listens on now.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// run does b.N flows with the given number of clients and reports.
func (s *server) run(b *testing.B, clients int) {
	ctx, cancel := context.WithTimeout(context.Background(), maxRun)
	defer cancel()
	var next atomic.Int64 // flows handed out
	var failed atomic.Int64
	var firstErr error
	var errOnce sync.Once
	callbacks := make([][]time.Duration, clients)
	flows := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) && ctx.Err() == nil {
				flowStart := time.Now()
				cb, err := s.flow(ctx)
				if err != nil {
					if ctx.Err() == nil {
						failed.Add(1)
						errOnce.Do(func() { firstErr = err })
					}
					continue
				}
				callbacks[c] = append(callbacks[c], cb)
				flows[c] = append(flows[c], time.Since(flowStart))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d flows failed; the first: %v", n, b.N, firstErr)
	}
	cbs, all := slices.Concat(callbacks...), slices.Concat(flows...)
	if len(cbs) < b.N {
		b.Logf("stopped after %v: %d of %d flows", maxRun, len(cbs), b.N)
	}
	if len(cbs) == 0 {
		b.Fatal("no flow finished")
	}
	b.ReportMetric(float64(len(cbs))/elapsed.Seconds(), "flows/s")
	b.ReportMetric(percentile(cbs, 50), "cb-p50-ms")
	b.ReportMetric(percentile(cbs, 99), "cb-p99-ms")
	b.ReportMetric(percentile(all, 99), "flow-p99-ms")
	b.ReportMetric(0, "ns/op") // a flow's wall time over clients is not a cost per op
}

// percentile is the p-th percentile of ds in milliseconds (nearest rank).
func percentile(ds []time.Duration, p float64) float64 {
	slices.Sort(ds)
	i := int(float64(len(ds))*p/100+0.5) - 1
	i = max(0, min(i, len(ds)-1))
	return float64(ds[i].Microseconds()) / 1000
}

// flow is one full flow; it returns the callback's latency.
func (s *server) flow(ctx context.Context) (time.Duration, error) {
	var task struct {
		Token string `json:"token"`
	}
	if err := s.call(ctx, "/local/tasks", `{"name":"load"}`, http.StatusCreated, &task); err != nil {
		return 0, fmt.Errorf("create task: %w", err)
	}
	req, _ := json.Marshal(map[string]any{"token": task.Token, "actions": []any{
		map[string]any{"name": "approve", "type": "success", "output": map[string]any{"approved": true}},
		map[string]any{"name": "reject", "type": "failure", "error": "Rejected", "cause": "Rejected by the load test"},
	}})
	var created struct {
		URLs map[string]string `json:"urls"`
	}
	if err := s.call(ctx, "/urls", string(req), http.StatusOK, &created); err != nil {
		return 0, fmt.Errorf("create URLs: %w", err)
	}
	approve := created.URLs["approve"]
	if !strings.HasPrefix(approve, s.base+"/respond?") {
		return 0, fmt.Errorf("approve URL %q", approve)
	}
	start := time.Now()
	var answer struct {
		Action struct{ Name string } `json:"action"`
	}
	if err := s.call(ctx, strings.TrimPrefix(approve, s.base), "", http.StatusOK, &answer); err != nil {
		return 0, fmt.Errorf("approve: %w", err)
	}
	d := time.Since(start)
	if answer.Action.Name != "approve" {
		return 0, errors.New("the callback's answer does not name the action")
	}
	return d, nil
}

// call POSTs body (JSON, or nothing) to path and decodes the answer.
func (s *server) call(ctx context.Context, path, body string, status int, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != status {
		return fmt.Errorf("%d %s", resp.StatusCode, b)
	}
	return json.Unmarshal(b, into)
}

// TestFlows runs a few flows against the CLI built from this tree, so that
// a change to serve's flags or answers that would break the benchmark
// fails here first.
func TestFlows(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the CLI")
	}
	s := startServer(t, "after", buildCLI(t, moduleRoot(t)))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 5 {
				if _, err := s.flow(context.Background()); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
