package lambdarie

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// builds are the bootstraps the tests run.
var builds = NewBootstraps("lambdarie", map[string]string{
	"create-urls":      "../../functions/create-urls",
	"process-callback": "../../functions/process-callback",
	"faulty":           "./testdata/faulty",
})

func TestMain(m *testing.M) {
	code := m.Run()
	builds.Close()
	os.Exit(code)
}

// bootstraps are the paths of the named bootstraps. Tests that need them
// skip in -short mode.
func bootstraps(tb testing.TB, names ...string) []string {
	tb.Helper()
	if testing.Short() {
		tb.Skip("builds aws-lambda-rie and Lambda bootstraps")
	}
	return builds.Paths(tb, names...)
}

// pid asks the faulty function which process answers.
func pid(t *testing.T, e *Emulator) int {
	t.Helper()
	r := e.Invoke(t, []byte(`{"fault":"pid"}`))
	var body struct{ PID int }
	if err := json.Unmarshal(r.Body, &body); r.Status != 200 || err != nil || body.PID == 0 {
		t.Fatalf("pid: %d %s (%v)\n%s", r.Status, r.Body, err, e.Tail())
	}
	return body.PID
}

// TestFaults: what the emulator answers when a function fails in each way
// it can, and whether the next invoke gets the same process or a new one.
// The panics of the first two steps are recovered by the Lambda adapters,
// as in the real functions: the process lives on.
func TestFaults(t *testing.T) {
	bin := bootstraps(t, "faulty")[0]
	e := Start(t, Config{Bootstrap: bin, FunctionName: "faulty", Timeout: 2 * time.Second})
	if got := childProcesses(e.cmd.Process.Pid); len(got) != 0 {
		t.Errorf("processes %v under the emulator before the first invoke; want the bootstrap started by it", got)
	}
	first := pid(t, e)
	if got := childProcesses(e.cmd.Process.Pid); len(got) != 1 || got[0].pid != first {
		t.Errorf("processes under the emulator %v, want the bootstrap %d", got, first)
	}

	errorDoc := func(wantType, wantMessage string) func(t *testing.T, body []byte) {
		return func(t *testing.T, body []byte) {
			var doc struct {
				ErrorType, ErrorMessage string
				StackTrace              []any
			}
			if err := json.Unmarshal(body, &doc); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			if doc.ErrorType != wantType || !strings.Contains(doc.ErrorMessage, wantMessage) {
				t.Errorf("error %q: %q, want %q containing %q", doc.ErrorType, doc.ErrorMessage, wantType, wantMessage)
			}
		}
	}
	serviceError := func(t *testing.T, body []byte) {
		var got map[string]any
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("body %s: %v", body, err)
		}
		delete(got, "transaction_id")
		if diff := cmp.Diff(map[string]any{"error": "ServiceError", "message": "internal error"}, got); diff != "" {
			t.Errorf("body (-want +got):\n%s", diff)
		}
	}
	stage := Stage{APIID: "abc123defg", Name: "v1", Region: Region, Account: "123456789012"}
	steps := []struct {
		name       string
		event      []byte
		wantStatus int
		check      func(t *testing.T, body []byte)
		newProcess bool
	}{
		{
			name:       "direct invoke, panic in the core",
			event:      []byte(`{"token":"tok","actions":[{"name":"ping","type":"heartbeat"}]}`),
			wantStatus: 200,
			check:      serviceError,
		},
		{
			name: "proxy event, panic in the core",
			event: stage.ProxyEvent("POST", "/urls", map[string]string{"Content-Type": "application/json"}, nil,
				`{"token":"tok","actions":[{"name":"ping","type":"heartbeat"}]}`),
			wantStatus: 200,
			check: func(t *testing.T, body []byte) {
				r, err := DecodeProxyResponse(body)
				if err != nil {
					t.Fatal(err)
				}
				if r.StatusCode != 500 {
					t.Errorf("statusCode %d, want 500", r.StatusCode)
				}
				serviceError(t, []byte(r.Body))
			},
		},
		{
			// Lambda marks it with X-Amz-Function-Error; the emulator
			// sets no header, so only the body tells.
			name:       "error returned",
			event:      []byte(`{"fault":"error"}`),
			wantStatus: 200,
			check:      errorDoc("errorString", "faulty: an error"),
		},
		{
			// aws-lambda-go reports the panic, then exits.
			name:       "panic outside the adapter",
			event:      []byte(`{"fault":"panic"}`),
			wantStatus: 502,
			check:      errorDoc("string", "faulty: a panic outside the adapter"),
			newProcess: true,
		},
		{
			name:       "exit",
			event:      []byte(`{"fault":"exit","code":3}`),
			wantStatus: 502,
			check:      errorDoc("Runtime.ExitError", "exit status 3"),
			newProcess: true,
		},
		{
			// The emulator answers itself, and kills the bootstrap.
			name:       "timeout",
			event:      []byte(`{"fault":"sleep","sleep_ms":10000}`),
			wantStatus: 200,
			check: func(t *testing.T, body []byte) {
				if string(body) != "Task timed out after 2.00 seconds" {
					t.Errorf("body %q, want the emulator's timeout message", body)
				}
			},
			newProcess: true,
		},
	}
	before := first
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			r := e.Invoke(t, st.event)
			if r.Status != st.wantStatus {
				t.Errorf("status %d, want %d; body %s", r.Status, st.wantStatus, r.Body)
			}
			st.check(t, r.Body)
			after := pid(t, e)
			if got := after != before; got != st.newProcess {
				t.Errorf("process %d before, %d after: new process %v, want %v", before, after, got, st.newProcess)
			}
			before = after
		})
	}
}

// TestEnvironment: the bootstrap runs in its directory with the Runtime API
// the emulator serves, the configuration given and Lambda's variables, and
// nothing of the test's own environment.
func TestEnvironment(t *testing.T) {
	bin := bootstraps(t, "faulty")[0]
	t.Setenv("LAMBDARIE_LEAK", "from the test process")
	e := Start(t, Config{Bootstrap: bin, FunctionName: "faulty", Env: []string{"SETTING=value"}})
	r := e.Invoke(t, []byte(`{"fault":"env"}`))
	var got struct {
		Env map[string]string
		Dir string
	}
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatalf("%d %s: %v", r.Status, r.Body, err)
	}
	want := map[string]string{
		"AWS_LAMBDA_RUNTIME_API":   e.RuntimeAPI,
		"SETTING":                  "value",
		"AWS_LAMBDA_FUNCTION_NAME": "faulty",
		"AWS_REGION":               Region,
		"AWS_ACCESS_KEY_ID":        AccessKeyID,
		"TZ":                       ":UTC",
	}
	for k, v := range want {
		if got.Env[k] != v {
			t.Errorf("%s = %q, want %q", k, got.Env[k], v)
		}
	}
	if v, ok := got.Env["LAMBDARIE_LEAK"]; ok {
		t.Errorf("the test's environment reached the bootstrap: LAMBDARIE_LEAK=%q", v)
	}
	if got.Dir != filepath.Dir(bin) {
		t.Errorf("working directory %s, want the bootstrap's, %s", got.Dir, filepath.Dir(bin))
	}
}

// TestStop: stopping the emulator ends the bootstrap, which runs in a
// process group of its own.
func TestStop(t *testing.T) {
	bin := bootstraps(t, "faulty")[0]
	e := Start(t, Config{Bootstrap: bin, FunctionName: "faulty"})
	p := pid(t, e)
	if err := e.Stop(); err != nil {
		t.Fatalf("%v\n%s", err, e.Tail())
	}
	if _, running := startTime(p); running {
		t.Errorf("bootstrap %d still running after Stop", p)
	}
	if err := e.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// TestInstallOffline: without the module proxy, the build failure is told
// apart from others (Binary then skips, or fails under CI=true).
func TestInstallOffline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	for _, proxy := range []string{"off", closed} {
		t.Run(proxy, func(t *testing.T) {
			// An empty module cache, so that nothing is found locally.
			env := append(os.Environ(), "GOPROXY="+proxy, "GOMODCACHE="+t.TempDir(), "GOFLAGS=-modcacherw", "GOTOOLCHAIN=local")
			_, err := install(context.Background(), filepath.Join(t.TempDir(), "rie"), env)
			var u *unreachableError
			if !errors.As(err, &u) {
				t.Errorf("install with GOPROXY=%s: %v; want an unreachable-proxy error", proxy, err)
			}
		})
	}
}
