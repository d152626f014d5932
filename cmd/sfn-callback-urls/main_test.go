package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/testkit"
)

// server is a running `serve` command.
type server struct {
	stdout, stderr *testkit.Buffer
	cancel         context.CancelFunc
	done           chan error
	stopped        bool

	base    string // http://127.0.0.1:port
	approve string // the demo's URLs (with --demo)
	reject  string
	status  string // the demo task's /local/tasks?token= URL
	token   string // the demo task's token
}

var (
	listeningRE = regexp.MustCompile(`(?m)^  base URL:\s+(https?://\S+)`)
	approveRE   = regexp.MustCompile(`(?m)^  approve:\s+(\S+)$`)
	rejectRE    = regexp.MustCompile(`(?m)^  reject:\s+(\S+)$`)
	statusRE    = regexp.MustCompile(`curl -s '(http://\S+/local/tasks\?token=\S+)'`)
)

// startupTimeout bounds the wait for the server's first lines; a test
// fails, rather than hangs, if they never come.
const startupTimeout = 20 * time.Second

// start runs `run` with args in a goroutine and waits until it has printed
// where it listens (and the demo's URLs with --demo).
func start(t *testing.T, args []string, env map[string]string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{stdout: &testkit.Buffer{}, stderr: &testkit.Buffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- run(ctx, args, testkit.Env(env), strings.NewReader(""), s.stdout, s.stderr) }()
	t.Cleanup(func() { s.stop(t) })

	demo := false
	for _, a := range args {
		demo = demo || a == "--demo" || a == "-demo"
	}
	deadline := time.Now().Add(startupTimeout)
	for {
		out := s.stdout.String()
		m := listeningRE.FindStringSubmatch(out)
		// The banner is written line by line: its keys line comes after.
		if m != nil && keysLine.MatchString(out) && (!demo || statusRE.MatchString(out)) {
			s.base = m[1]
			if demo {
				s.approve = approveRE.FindStringSubmatch(out)[1]
				s.reject = rejectRE.FindStringSubmatch(out)[1]
				s.status = statusRE.FindStringSubmatch(out)[1]
				u, err := url.Parse(s.status)
				if err != nil {
					t.Fatal(err)
				}
				s.token = u.Query().Get("token")
			}
			return s
		}
		select {
		case err := <-s.done:
			s.stopped = true
			t.Fatalf("run returned before serving: %v\nstdout:\n%s\nstderr:\n%s", err, out, s.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no start-up lines after %v:\nstdout:\n%s\nstderr:\n%s", startupTimeout, out, s.stderr.String())
		}
	}
}

// stop cancels the server's context and returns what run returned.
func (s *server) stop(t *testing.T) error {
	t.Helper()
	if s.stopped {
		return nil
	}
	s.stopped = true
	s.cancel()
	select {
	case err := <-s.done:
		return err
	case <-time.After(startupTimeout):
		t.Fatal("run did not return after its context was cancelled")
		return nil
	}
}

// httpDo sends a request to a server and reads the answer.
func httpDo(t *testing.T, method, target string, header map[string]string, body string) *servicetest.Response {
	t.Helper()
	return servicetest.Send(t, http.DefaultClient, method, target, header, body)
}

// localTask is the part of GET /local/tasks?token= the tests check.
type localTask struct {
	Status     string          `json:"status"`
	Output     json.RawMessage `json:"output,omitempty"`
	Error      string          `json:"error,omitempty"`
	Heartbeats int             `json:"heartbeats"`
}

func getTask(t *testing.T, target string) localTask {
	t.Helper()
	resp := httpDo(t, http.MethodGet, target, nil, "")
	if resp.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", target, resp.Status, resp.Body)
	}
	var task localTask
	if err := json.Unmarshal([]byte(resp.Body), &task); err != nil {
		t.Fatal(err)
	}
	return task
}

// serveArgs runs the server in dir; its key file is made there (an
// explicit --key-file is made only when asked).
func serveArgs(dir string, extra ...string) []string {
	return append([]string{"serve", "--addr", "127.0.0.1:0", "--store", filepath.Join(dir, "tasks.db"),
		"--key-file", filepath.Join(dir, "keyring.json"), "--create-key-file"}, extra...)
}

// TestServeDemo runs the local server with a demo task, approves it over
// HTTP and reads the outcome from /local/tasks.
func TestServeDemo(t *testing.T) {
	dir := t.TempDir()
	s := start(t, serveArgs(dir, "--demo"), nil)
	if !strings.HasPrefix(s.base, "http://127.0.0.1:") || strings.HasSuffix(s.base, ":0") {
		t.Fatalf("base URL %q", s.base)
	}
	for _, u := range []string{s.approve, s.reject, s.status} {
		if !strings.HasPrefix(u, s.base+"/") {
			t.Errorf("URL %s is not under %s", u, s.base)
		}
	}
	if u, _ := url.Parse(s.approve); !strings.HasPrefix(u.Query().Get("data"), "3-") {
		t.Errorf("approve URL %s is not encrypted", s.approve)
	}
	if got := getTask(t, s.status); got.Status != "open" {
		t.Fatalf("demo task %+v, want open", got)
	}

	if resp := httpDo(t, http.MethodPost, s.approve, nil, ""); resp.Status != http.StatusOK {
		t.Fatalf("POST approve: %d %s", resp.Status, resp.Body)
	}
	want := localTask{Status: "succeeded", Output: json.RawMessage(`{"approved":true}`)}
	if diff := cmp.Diff(want, getTask(t, s.status)); diff != "" {
		t.Errorf("task (-want +got):\n%s", diff)
	}
	if resp := httpDo(t, http.MethodGet, s.reject, nil, ""); resp.Status != http.StatusBadRequest || !strings.Contains(resp.Body, "TaskTimedOut") {
		t.Errorf("GET reject after approve: %d %s", resp.Status, resp.Body)
	}
	if resp := httpDo(t, http.MethodGet, s.base+"/healthz", nil, ""); resp.Status != http.StatusOK {
		t.Errorf("healthz: %d", resp.Status)
	}

	if err := s.stop(t); err != nil {
		t.Fatalf("run returned %v after cancel, want nil", err)
	}
	// Every request wrote its line to the command's stderr, and none holds
	// the token.
	logs := s.stderr.String()
	if n := strings.Count(logs, `"msg":"request"`); n != 5 {
		t.Errorf("%d request log lines on stderr, want 5:\n%s", n, logs)
	}
	if strings.Contains(logs, s.token) {
		t.Errorf("the log holds the task token")
	}
	info, err := os.Stat(filepath.Join(dir, "keyring.json"))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode %v, want 0600", perm)
	}
}

// TestServeKeyReuse restarts the server on the same key file and store:
// the key is kept, and URLs of the first run work in the second.
func TestServeKeyReuse(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "keyring.json")

	first := start(t, serveArgs(dir, "--demo"), nil)
	if !strings.Contains(first.stdout.String(), "new key file "+keyFile) {
		t.Errorf("first run does not say it created the key file:\n%s", first.stdout.String())
	}
	if err := first.stop(t); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode %v, want 0600", perm)
	}
	key1, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}

	second := start(t, serveArgs(dir), nil)
	out := second.stdout.String()
	if strings.Contains(out, "new key file") || !strings.Contains(out, "key file "+keyFile) {
		t.Errorf("second run does not say it reused the key file:\n%s", out)
	}
	key2, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(key1, key2) {
		t.Errorf("the key file changed between runs")
	}

	// The first run's URL, sent to the second run's address.
	u, err := url.Parse(first.approve)
	if err != nil {
		t.Fatal(err)
	}
	if resp := httpDo(t, http.MethodPost, second.base+u.RequestURI(), nil, ""); resp.Status != http.StatusOK {
		t.Fatalf("first run's approve URL on the second run: %d %s", resp.Status, resp.Body)
	}
	statusURL := second.base + "/local/tasks?token=" + url.QueryEscape(first.token)
	if got := getTask(t, statusURL); got.Status != "succeeded" {
		t.Errorf("task %+v, want succeeded", got)
	}
	if err := second.stop(t); err != nil {
		t.Fatal(err)
	}
}

// TestServeDisableEncryption checks that --disable-encryption hands out the
// reference's unencrypted "1-" URLs, which still work, and makes no key.
func TestServeDisableEncryption(t *testing.T) {
	dir := t.TempDir()
	s := start(t, []string{"serve", "--addr", "127.0.0.1:0", "--store", filepath.Join(dir, "tasks.db"), "--disable-encryption", "--demo"}, nil)
	if !strings.Contains(s.stdout.String(), "encryption disabled") {
		t.Errorf("start-up line does not say encryption is disabled:\n%s", s.stdout.String())
	}
	for _, raw := range []string{s.approve, s.reject} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if d := u.Query().Get("data"); !strings.HasPrefix(d, "1-") {
			t.Errorf("URL %s: data %q, want 1-...", raw, d)
		}
	}
	if resp := httpDo(t, http.MethodGet, s.reject, nil, ""); resp.Status != http.StatusOK {
		t.Fatalf("GET reject: %d %s", resp.Status, resp.Body)
	}
	if got := getTask(t, s.status); got.Status != "failed" || got.Error != "Rejected" {
		t.Errorf("task %+v, want failed with Rejected", got)
	}
	if err := s.stop(t); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "tasks.db" {
			t.Errorf("unexpected file %s", e.Name())
		}
	}
}

// TestServeEnv checks that the environment configures the server, and
// that flags win over it.
func TestServeEnv(t *testing.T) {
	keyring := `{"keys":[{"id":"k1","key":"` + strings.Repeat("QUFB", 10) + `QUE="}]}`
	approveWithParams := `{"token":"tok","enable_output_parameters":true,"actions":[{"name":"a","type":"success","output":{"who":"$who"}}]}`
	post := `{"token":"tok","actions":[{"name":"hook","type":"post","outcomes":[{"name":"ok","type":"success","schema":{"type":"object"},"output_body":true}]}]}`
	// Random characters, which do not compress.
	long := `{"token":"tok","actions":[{"name":"a","type":"success","output":"` + corpus.Tokens()[0][:400] + `"}]}`
	plain := `{"token":"tok","actions":[{"name":"a","type":"heartbeat"}]}`

	tests := []struct {
		name   string
		env    map[string]string
		flags  []string
		body   string // POSTed to /urls
		status int
		want   string // in the answer
		stdout string // in the start-up lines
		stderr string // in the log, after a /urls request
	}{
		{name: "output parameters off by default", body: approveWithParams, status: 400, want: "ParametersDisabled"},
		{name: "ENABLE_OUTPUT_PARAMETERS", env: map[string]string{"ENABLE_OUTPUT_PARAMETERS": "true"}, body: approveWithParams, status: 200},
		{name: "DISABLE_OUTPUT_PARAMETERS=false", env: map[string]string{"DISABLE_OUTPUT_PARAMETERS": "false"}, body: approveWithParams, status: 200},
		{name: "--enable-output-parameters", flags: []string{"--enable-output-parameters"}, body: approveWithParams, status: 200},
		{name: "post actions off by default", body: post, status: 400, want: "PostActionsDisabled"},
		{name: "ENABLE_POST_ACTIONS", env: map[string]string{"ENABLE_POST_ACTIONS": "true"}, body: post, status: 200},
		{name: "DISABLE_POST_ACTIONS=false", env: map[string]string{"DISABLE_POST_ACTIONS": "false"}, body: post, status: 200},
		{name: "MAX_URL_LENGTH", env: map[string]string{"MAX_URL_LENGTH": "300"}, body: long, status: 400, want: "UrlTooLong"},
		{name: "--max-url-length wins", env: map[string]string{"MAX_URL_LENGTH": "300"}, flags: []string{"--max-url-length", "4000"}, body: long, status: 200},
		{name: "DISABLE_ENCRYPTION", env: map[string]string{"DISABLE_ENCRYPTION": "true", "KEY_FILE": ""}, body: plain, status: 200,
			want: "data=1-", stdout: "encryption disabled"},
		{name: "KEYRING", env: map[string]string{"KEYRING": keyring, "KEY_FILE": ""}, body: plain, status: 200,
			want: "data=3-", stdout: "keyring from KEYRING"},
		{name: "VERBOSE", env: map[string]string{"VERBOSE": "true"}, body: plain, status: 200, stderr: `\"token\":\"tok\"`},
		{name: "--addr wins over LISTEN_ADDR", env: map[string]string{"LISTEN_ADDR": "256.0.0.1:1"}, flags: []string{"--addr", "127.0.0.1:0"},
			body: plain, status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			env := map[string]string{
				"LISTEN_ADDR": "127.0.0.1:0",
				"STORE_FILE":  filepath.Join(dir, "env-tasks.db"),
				"KEY_FILE":    filepath.Join(dir, "env-keyring.json"),
			}
			for k, v := range tt.env {
				env[k] = v
			}
			s := start(t, append([]string{"serve", "--create-key-file=" + strconv.FormatBool(env["KEY_FILE"] != "")}, tt.flags...), env)
			if !strings.Contains(s.stdout.String(), tt.stdout) {
				t.Errorf("start-up lines lack %q:\n%s", tt.stdout, s.stdout.String())
			}
			resp := httpDo(t, http.MethodPost, s.base+"/urls", map[string]string{"Content-Type": "application/json"}, tt.body)
			if resp.Status != tt.status || !strings.Contains(resp.Body, tt.want) {
				t.Errorf("POST /urls: %d %s, want %d with %q", resp.Status, resp.Body, tt.status, tt.want)
			}
			if err := s.stop(t); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(s.stderr.String(), tt.stderr) {
				t.Errorf("log lacks %q:\n%s", tt.stderr, s.stderr.String())
			}
			if tt.stderr == "" && strings.Contains(s.stderr.String(), `"tok"`) {
				t.Errorf("the log holds the token without VERBOSE:\n%s", s.stderr.String())
			}
			// The env's paths were used.
			if _, err := os.Stat(env["STORE_FILE"]); err != nil {
				t.Errorf("STORE_FILE not used: %v", err)
			}
			_, err := os.Stat(env["KEY_FILE"])
			if env["KEY_FILE"] != "" && err != nil {
				t.Errorf("KEY_FILE not used: %v", err)
			}
		})
	}
}

// TestRunErrors covers the commands and settings that stop before serving.
func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string // "" means nil; "help" means flag.ErrHelp
		stdout  string
		stderr  string
	}{
		{name: "no command", args: nil, wantErr: "no command", stderr: "Usage: sfn-callback-urls"},
		{name: "help", args: []string{"help"}, stdout: "Usage: sfn-callback-urls"},
		{name: "--help", args: []string{"--help"}, stdout: "Commands:"},
		{name: "unknown command", args: []string{"frobnicate"}, wantErr: `unknown command "frobnicate"`, stderr: "Usage:"},
		{name: "serve -h", args: []string{"serve", "-h"}, wantErr: "help", stdout: "-demo"},
		{name: "serve --help", args: []string{"serve", "--help"}, wantErr: "help", stdout: "Usage: sfn-callback-urls serve"},
		{name: "keygen -help", args: []string{"keygen", "-help"}, wantErr: "help", stdout: "Usage: sfn-callback-urls keygen"},
		{name: "inspect --help", args: []string{"inspect", "--help"}, wantErr: "help", stdout: "Usage: sfn-callback-urls inspect"},
		{name: "help after other flags", args: []string{"serve", "--sfn", "aws", "-h"}, wantErr: "help", stdout: "-create-key-file"},
		{name: "version", args: []string{"version"}, stdout: "sfn-callback-urls "},
		{name: "--version", args: []string{"--version"}, stdout: "sfn-callback-urls "},
		{name: "version with an argument", args: []string{"version", "now"}, wantErr: "no arguments"},
		{name: "a boolean's value after a space is read as its value", args: append(serveArgs(dir), "--sfn", "azure", "--confirm", "false"),
			wantErr: "azure"},
		{name: "a flag's value that looks like a boolean is left alone", args: append(serveArgs(dir), "--sfn", "false"), wantErr: `SFN backend "false"`},
		{name: "--demo with a word after it", args: append(serveArgs(dir), "--demo", "please"), wantErr: `unexpected argument "please"`},
		{name: "--create-key-file with another key", args: []string{"serve", "--create-key-file", "--kms-key-id", "alias/x"}, wantErr: "needs --key-file"},
		{name: "a --key-file that does not exist", args: []string{"serve", "--key-file", filepath.Join(dir, "typo.json")},
			wantErr: "typo.json does not exist. Make it with \"sfn-callback-urls keygen --file " + filepath.Join(dir, "typo.json") + "\", or run serve with --create-key-file"},
		{name: "a KEY_FILE that does not exist", args: []string{"serve"}, env: map[string]string{"KEY_FILE": filepath.Join(dir, "typo.json")},
			wantErr: "does not exist. Make it with"},
		{name: "inspect with a key file that does not exist", args: []string{"inspect", "--key-file", filepath.Join(dir, "typo.json"), "3-AAAA"},
			wantErr: "typo.json does not exist: inspect needs the keyring the URL was made with"},
		{name: "unknown flag", args: []string{"serve", "--bogus"}, wantErr: "bogus"},
		{name: "a misspelt flag", args: []string{"serve", "--adr", "x"}, wantErr: "-adr (did you mean --addr?)"},
		{name: "a misspelt keygen flag", args: []string{"keygen", "--kep", "2"}, wantErr: "did you mean --keep?"},
		{name: "version -h", args: []string{"version", "-h"}, stdout: "Usage: sfn-callback-urls version"},
		{name: "the switch's earlier flag", args: append(serveArgs(dir), "--confirm", "false", "--sfn", "azure"), wantErr: "azure"},
		{name: "extra argument", args: []string{"serve", "now"}, wantErr: `unexpected argument "now"`},
		{name: "demo with aws", args: []string{"serve", "--sfn", "aws", "--demo"}, wantErr: "--demo needs the local back end"},
		{name: "demo with SFN_BACKEND=aws", args: []string{"serve", "--demo"}, env: map[string]string{"SFN_BACKEND": "AWS"},
			wantErr: "--demo needs the local back end"},
		{name: "bad MAX_URL_LENGTH", args: []string{"serve"}, env: map[string]string{"MAX_URL_LENGTH": "lots"}, wantErr: "MAX_URL_LENGTH"},
		{name: "bad boolean", args: []string{"serve"}, env: map[string]string{"VERBOSE": "yes please"}, wantErr: "VERBOSE"},
		{name: "unknown back end", args: append(serveArgs(dir), "--sfn", "azure"), wantErr: "azure"},
		{name: "encryption disabled and a key", args: append(serveArgs(dir), "--disable-encryption"), wantErr: "DISABLE_ENCRYPTION"},
		{name: "bad base URL", args: append(serveArgs(dir), "--base-url", "ftp://x"), wantErr: "base URL"},
		{name: "bad address", args: []string{"serve", "--addr", "127.0.0.1:99999"}, wantErr: "99999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			err := run(ctx, tt.args, testkit.Env(tt.env), strings.NewReader(""), &stdout, &stderr)
			switch tt.wantErr {
			case "":
				if err != nil {
					t.Errorf("run: %v, want nil", err)
				}
			case "help":
				if !errors.Is(err, flag.ErrHelp) {
					t.Errorf("run: %v, want flag.ErrHelp", err)
				}
			default:
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("run: %v, want an error with %q", err, tt.wantErr)
				}
			}
			if !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.stdout, stdout.String())
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, stderr.String())
			}
			if strings.Contains(stdout.String(), "listening on") {
				t.Errorf("it started serving:\n%s", stdout.String())
			}
		})
	}
}

// TestServeConfirm checks the confirmation default: a browser's GET on the
// demo's approve URL asks to confirm, unless --confirm=false or
// CONFIRM_BROWSER_GET=false makes it act at once.
func TestServeConfirm(t *testing.T) {
	tests := []struct {
		name    string
		flags   []string
		env     map[string]string
		confirm bool
	}{
		{name: "default", confirm: true},
		{name: "--confirm=false", flags: []string{"--confirm=false"}},
		// A separate value: not an unexpected argument "false".
		{name: "--confirm false", flags: []string{"--confirm", "false"}},
		{name: "CONFIRM_BROWSER_GET=false", env: map[string]string{"CONFIRM_BROWSER_GET": "false"}},
		{name: "--confirm wins", flags: []string{"--confirm=true"}, env: map[string]string{"CONFIRM_BROWSER_GET": "false"}, confirm: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, serveArgs(t.TempDir(), append(tt.flags, "--demo")...), tt.env)
			resp := httpDo(t, http.MethodGet, s.approve, servicetest.Browser(), "")
			want := map[bool]string{true: "open", false: "succeeded"}[tt.confirm]
			if got := getTask(t, s.status); resp.Status != http.StatusOK || got.Status != want {
				t.Errorf("a browser's GET: %d, task %s, want %s", resp.Status, got.Status, want)
			}
		})
	}
}

// TestServeStartProblems: what serve says when it cannot start for a
// reason of the machine's: its port is taken, or --sfn aws has no
// credentials (said at start, not at the first click as an outage).
func TestServeStartProblems(t *testing.T) {
	dir := t.TempDir()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	err = run(context.Background(), []string{"serve", "--addr", taken.Addr().String(), "--store", filepath.Join(dir, "t.db"),
		"--key-file", filepath.Join(dir, "k.json"), "--create-key-file"}, testkit.Env(nil), strings.NewReader(""), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "Use another address: --addr 127.0.0.1:8081, or LISTEN_ADDR=127.0.0.1:8081 make run") {
		t.Errorf("port taken: %v", err)
	}

	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"),
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "",
		"AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_REGION": "eu-west-1",
	} {
		t.Setenv(k, v)
	}
	err = run(context.Background(), serveArgs(dir, "--sfn", "aws"), testkit.Env(nil), strings.NewReader(""), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--sfn aws needs AWS credentials, and none were found") {
		t.Errorf("no credentials: %v", err)
	}

	// The development sign-in: never beside a real provider, never off
	// this machine, never without encryption.
	for _, tt := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--dev-signin", "--oidc-issuer", "https://id.example.com", "--oidc-client-id", "c", "--oidc-client-secret", "s"}, nil, "contradict each other"},
		{[]string{"--dev-signin"}, map[string]string{"OIDC_ISSUER": "https://id.example.com"}, "contradict each other"},
		{[]string{"--dev-signin", "--addr", "0.0.0.0:0"}, nil, "only on a loopback address"},
		{[]string{"--dev-signin", "--disable-encryption"}, nil, "needs encryption"},
		{[]string{"--oidc-issuer", "http://id.example.com", "--oidc-client-id", "c", "--oidc-client-secret", "s"}, nil, "http is accepted only on a loopback address"},
		{[]string{"--oidc-issuer", "https://id.example.com"}, nil, "needs OIDC_CLIENT_ID"},
		{[]string{"--oidc-issuer", "https://id.example.com", "--oidc-client-id", "c"}, nil, "exactly one of OIDC_CLIENT_SECRET and OIDC_CLIENT_SECRET_ARN"},
		{[]string{"--oidc-client-id", "c"}, nil, "need OIDC_ISSUER"},
	} {
		args := append([]string{"serve", "--store", filepath.Join(dir, "t.db"), "--key-file", filepath.Join(dir, "k.json"), "--create-key-file"}, tt.args...)
		if !slices.Contains(tt.args, "--addr") {
			args = append(args, "--addr", "127.0.0.1:0")
		}
		if slices.Contains(tt.args, "--disable-encryption") {
			args = slices.DeleteFunc(args, func(a string) bool {
				return a == "--create-key-file" || strings.HasSuffix(a, "k.json") || a == "--key-file"
			})
		}
		// A server that starts anyway is stopped, and fails the case.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := run(ctx, args, testkit.Env(tt.env), strings.NewReader(""), io.Discard, io.Discard)
		cancel()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("serve %v: %v, want an error with %q", tt.args, err, tt.want)
		}
	}
}
