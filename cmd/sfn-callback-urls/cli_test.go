package main

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/testkit"
)

// TestParseFlags: a boolean flag takes a separate true or false; every
// other argument keeps its meaning; help is asked for with -h, -help or
// --help anywhere among the flags.
func TestParseFlags(t *testing.T) {
	type parsed struct {
		Confirm, Verbose bool
		Addr             string
		Args             []string
	}
	tests := []struct {
		args    []string
		want    parsed
		wantErr string // "help" for flag.ErrHelp
	}{
		{args: []string{"--confirm", "false"}, want: parsed{Addr: "a"}},
		{args: []string{"-confirm", "FALSE", "--verbose", "true"}, want: parsed{Verbose: true, Addr: "a"}},
		{args: []string{"--confirm=false", "--verbose"}, want: parsed{Verbose: true, Addr: "a"}},
		{args: []string{"--verbose", "x"}, want: parsed{Confirm: true, Verbose: true, Addr: "a", Args: []string{"x"}}},
		{args: []string{"--confirm", "no"}, want: parsed{Confirm: true, Addr: "a", Args: []string{"no"}}},
		{args: []string{"--addr", "true", "--confirm", "false"}, want: parsed{Addr: "true"}},
		{args: []string{"--addr", "--confirm"}, want: parsed{Confirm: true, Addr: "--confirm"}},
		{args: []string{"--", "--confirm", "false"}, want: parsed{Confirm: true, Addr: "a", Args: []string{"--confirm", "false"}}},
		{args: []string{"x", "--confirm", "false"}, want: parsed{Confirm: true, Addr: "a", Args: []string{"x", "--confirm", "false"}}},
		{args: []string{"--verbose", "-h"}, wantErr: "help"},
		{args: []string{"--help"}, wantErr: "help"},
		{args: []string{"-help=1"}, wantErr: "help"},
		{args: []string{"--bogus", "false"}, wantErr: "flag provided but not defined: -bogus"},
		{args: []string{"--confirm=maybe"}, wantErr: "invalid boolean value"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			fs := newFlagSet("test", "Usage: test\n", &stderr)
			var got parsed
			fs.BoolVar(&got.Confirm, "confirm", true, "")
			fs.BoolVar(&got.Verbose, "verbose", false, "")
			fs.StringVar(&got.Addr, "addr", "a", "")
			err := parseFlags(fs, tt.args, &stdout)
			switch {
			case tt.wantErr == "help":
				if !errors.Is(err, flag.ErrHelp) || !strings.HasPrefix(stdout.String(), "Usage: test\n") || stderr.Len() != 0 {
					t.Errorf("error %v, stdout %q, stderr %q: want ErrHelp with the usage on stdout", err, stdout.String(), stderr.String())
				}
				return
			case tt.wantErr != "":
				var ue *usageError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %v, want a usage error with %q", err, tt.wantErr)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			got.Args = fs.Args()
			if len(got.Args) == 0 {
				got.Args = nil
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	for _, tt := range []struct {
		err    error
		want   int
		stderr string
	}{
		{nil, 0, ""},
		{flag.ErrHelp, 0, ""},
		{errNoCommand, 2, ""},
		{usageErrorf(`unknown command "x"`), 2, `sfn-callback-urls: unknown command "x"` + "\n"},
		{errors.New("key file k does not exist"), 1, "sfn-callback-urls: key file k does not exist\n"},
	} {
		var stderr bytes.Buffer
		if got := exitCode(tt.err, &stderr); got != tt.want || stderr.String() != tt.stderr {
			t.Errorf("exitCode(%v) = %d, stderr %q; want %d, %q", tt.err, got, stderr.String(), tt.want, tt.stderr)
		}
	}
}

func TestDescribeBuild(t *testing.T) {
	settings := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	tests := []struct {
		name string
		info debug.BuildInfo
		want string
	}{
		{"go run: no version, no revision", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			"sfn-callback-urls development build, no source revision recorded (go build in a git checkout records one), go1.26.8 "},
		{"go build in a clean checkout", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20260301120000-8fc99ba1c2d3"},
			Settings: settings("vcs", "git", "vcs.revision", "8fc99ba1c2d3e4f5", "vcs.time", "2026-03-01T12:00:00Z", "vcs.modified", "false")},
			"sfn-callback-urls v0.0.0-20260301120000-8fc99ba1c2d3, revision 8fc99ba1c2d3e4f5 (2026-03-01T12:00:00Z), go1.26.8 "},
		{"go build with changes", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20260301120000-8fc99ba1c2d3+dirty"},
			Settings: settings("vcs.revision", "8fc99ba1c2d3e4f5", "vcs.modified", "true")},
			"sfn-callback-urls v0.0.0-20260301120000-8fc99ba1c2d3+dirty, revision 8fc99ba1c2d3e4f5 with uncommitted changes, go1.26.8 "},
		{"go install of a tag", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}},
			"sfn-callback-urls v1.2.0, no source revision recorded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := describeBuild(&tt.info); !strings.HasPrefix(got, tt.want) {
				t.Errorf("describeBuild = %q, want it to start with %q", got, tt.want)
			}
		})
	}
}

// TestServeBanner: the banner says where the server listens and, apart,
// what base URL its URLs carry; a server listening on every interface
// says so, and so does the base URL it derives from it.
func TestServeBanner(t *testing.T) {
	tests := []struct {
		name   string
		flags  []string
		stdout []string // lines, in order, as regular expressions
		stderr string
	}{
		{name: "loopback", stdout: []string{
			`^sfn-callback-urls listening on 127\.0\.0\.1:\d+$`,
			`^  base URL:       http://127\.0\.0\.1:\d+$`,
			`^  Step Functions: local task store .*tasks\.db$`,
			`^  keys:           new key file .*keyring\.json \(mode 0600\)$`,
			`^  local tasks:    http://127\.0\.0\.1:\d+/local/$`,
		}},
		{name: "--base-url", flags: []string{"--base-url", "https://approvals.example.com/v1"}, stdout: []string{
			`^sfn-callback-urls listening on 127\.0\.0\.1:\d+$`,
			`^  base URL:       https://approvals\.example\.com/v1 \(--base-url or BASE_URL\)$`,
			`^  local tasks:    https://approvals\.example\.com/v1/local/$`,
		}},
		{name: "every interface", flags: []string{"--addr", "0.0.0.0:0"}, stdout: []string{
			`^sfn-callback-urls listening on 0\.0\.0\.0:\d+ \(every network interface\)$`,
			`^  base URL:       http://127\.0\.0\.1:\d+ \(from --addr: it opens only on this machine; set --base-url to an address others reach\)$`,
		}, stderr: "warning: listening on 0.0.0.0:"},
		{name: "every interface, no host", flags: []string{"--addr", ":0"}, stdout: []string{
			`^sfn-callback-urls listening on :\d+ \(every network interface\)$`,
		}, stderr: "warning: listening on :"},
		{name: "development sign-in", flags: []string{"--dev-signin"}, stdout: []string{
			`^  keys:           new key file .*keyring\.json \(mode 0600\)$`,
			`^  sign-in:        DEVELOPMENT sign-in page: anyone can sign in as any address`,
			`^  receipts:       signed with the keyring's signing key \(public keys at http://127\.0\.0\.1:\d+/\.well-known/jwks\.json\)$`,
		}},
		{name: "no encryption", flags: []string{"--disable-encryption"}, stdout: []string{
			`^  keys:           encryption disabled \(unencrypted 1- URLs\)$`,
		}, stderr: "WARNING: encryption is disabled. Every URL handed out carries its task token in\nclear text: anyone holding a URL can read the token, and anyone at all can\nforge a URL with any outcome"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			args := []string{"serve", "--addr", "127.0.0.1:0", "--store", filepath.Join(dir, "tasks.db")}
			if !strings.Contains(strings.Join(tt.flags, " "), "encryption") {
				args = append(args, "--key-file", filepath.Join(dir, "keyring.json"), "--create-key-file")
			}
			s := start(t, append(args, tt.flags...), nil)
			lines := strings.Split(s.stdout.String(), "\n")
			i := 0
			for _, want := range tt.stdout {
				re := regexp.MustCompile(want)
				for i < len(lines) && !re.MatchString(lines[i]) {
					i++
				}
				if i == len(lines) {
					t.Errorf("no line after the previous one matches %s in:\n%s", want, s.stdout.String())
					break
				}
			}
			if !strings.Contains(s.stderr.String(), tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, s.stderr.String())
			}
			if tt.stderr == "" && strings.Contains(s.stderr.String(), "warning") {
				t.Errorf("unexpected warning:\n%s", s.stderr.String())
			}
			if err := s.stop(t); err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(s.stdout.String(), "sfn-callback-urls: stopped\n") {
				t.Errorf("stdout does not end saying the server stopped:\n%s", s.stdout.String())
			}
		})
	}
}

// TestServeDemoPage: the demo's confirmation page does not tell the person
// on it to open a link to see the page.
func TestServeDemoPage(t *testing.T) {
	s := start(t, serveArgs(t.TempDir(), "--demo"), nil)
	resp := httpDo(t, http.MethodGet, s.reject, map[string]string{"Accept": "text/html"}, "")
	if resp.Status != 200 || !strings.Contains(resp.Body, "<form") {
		t.Fatalf("%d, want the confirmation page:\n%s", resp.Status, resp.Body)
	}
	for _, bad := range []string{"Open a link", "open a link", "to see its page"} {
		if strings.Contains(resp.Body, bad) {
			t.Errorf("the demo's page says %q", bad)
		}
	}
}

// TestKeygenFileDirectories: keygen --file makes missing directories and
// says so; a keyring sent to a file others can read gets a warning.
func TestKeygenFileDirectories(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "no", "such", "dir", "k.json")
	_, stderr, err := runCmd(t, nil, "keygen", "--file", file)
	if err != nil {
		t.Fatal(err)
	}
	if want := "made directory " + filepath.Join(dir, "no") + " (mode 0700)\n"; !strings.HasPrefix(stderr, want) {
		t.Errorf("stderr %q, want it to start with %q", stderr, want)
	}
	if !strings.Contains(stderr, "written to "+file+" (mode 0600)") {
		t.Errorf("stderr %q does not say where the keyring went", stderr)
	}
	for _, d := range []string{filepath.Join(dir, "no"), filepath.Dir(file)} {
		if info, err := os.Stat(d); err != nil || info.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v, want a directory with mode 0700", d, err)
		}
	}
	// In an existing directory it says nothing about directories.
	_, stderr, err = runCmd(t, nil, "keygen", "--file", filepath.Join(dir, "k2.json"))
	if err != nil || strings.Contains(stderr, "directory") {
		t.Errorf("keygen in an existing directory: %v, stderr %q", err, stderr)
	}

	for mode, warn := range map[os.FileMode]bool{0o644: true, 0o600: false} {
		out, err := os.OpenFile(filepath.Join(dir, "out-"+mode.String()), os.O_CREATE|os.O_WRONLY, mode)
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		if err := run(context.Background(), []string{"keygen"}, testkit.Env(nil), strings.NewReader(""), out, &stderr); err != nil {
			t.Fatal(err)
		}
		out.Close()
		if got := strings.Contains(stderr.String(), "chmod 600"); got != warn {
			t.Errorf("stdout a file of mode %v: warning %t, want %t (%q)", mode, got, warn, stderr.String())
		}
	}
}

// TestInspectPresentation: inspect names a page's fields as the request
// does, not with the payload's one-letter keys.
func TestInspectPresentation(t *testing.T) {
	file, r := keyFile(t)
	urls := createURLs(t, r, json.RawMessage(`{"token":`+jsonQuote(corpus.Tokens()[0])+`,
		"title":"Deploy & release?","description":"Ships build 42.",
		"actions":[{"name":"reject","type":"failure","error":"Rejected","label":"Reject","input":{"type":"object","required":["why"],"properties":{
			"why":{"type":"string","format":"multiline","title":"Why?","description":"For the author.","maxLength":500},
			"env":{"type":"string","enum":["staging","production"],"default":"staging"},
			"retry":{"type":"boolean","default":true},
			"hours":{"type":"integer","minimum":1,"maximum":48}}}}]}`))
	out, _, err := runCmd(t, nil, "inspect", "--key-file", file, urls["reject"])
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Presentation json.RawMessage }
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	var pres any
	if err := json.Unmarshal(got.Presentation, &pres); err != nil {
		t.Fatalf("presentation %s: %v", got.Presentation, err)
	}
	want := map[string]any{
		"title": "Deploy & release?", "description": "Ships build 42.", "label": "Reject",
		"input": []any{
			map[string]any{"name": "why", "type": "string", "format": "multiline", "title": "Why?", "description": "For the author.", "required": true, "maxLength": 500.0},
			map[string]any{"name": "env", "type": "string", "enum": []any{"staging", "production"}, "default": "staging"},
			map[string]any{"name": "retry", "type": "boolean", "default": true},
			map[string]any{"name": "hours", "type": "integer", "minimum": 1.0, "maximum": 48.0},
		},
	}
	if diff := cmp.Diff(want, pres); diff != "" {
		t.Errorf("presentation (-want +got):\n%s", diff)
	}
	if !strings.Contains(out, `"Deploy & release?"`) {
		t.Errorf("inspect escapes & in its JSON:\n%s", out)
	}
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestBinary runs the built command as a user does: exit statuses, help,
// the version from the build information, the default key file made on
// the first run, and the line that says an interrupted server stopped.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "sfn-callback-urls")
	// go build records the VCS revision when it can (a checkout with git
	// on PATH; GOFLAGS may hold -buildvcs=false, and some checkouts, such
	// as linked worktrees, record none): ask for it, and expect what the
	// binary's build information says was recorded.
	build := exec.Command("go", "build", "-buildvcs=auto", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	revision := ""
	if info, err := buildinfo.ReadFile(bin); err != nil {
		t.Fatal(err)
	} else {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				revision = s.Value
			}
		}
	}
	t.Logf("the build recorded revision %q", revision)
	runBin := func(t *testing.T, args ...string) (stdout, stderr string, code int) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "KEY_FILE=", "KEY_ID=", "KEYRING=", "DISABLE_ENCRYPTION=", "LISTEN_ADDR=", "STORE_FILE=")
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
		return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
	}

	for _, tt := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{args: nil, code: 2, stderr: "Usage: sfn-callback-urls <command>"},
		{args: []string{"-h"}, code: 0, stdout: "Commands:"},
		{args: []string{"serve", "-h"}, code: 0, stdout: "-create-key-file"},
		{args: []string{"serve", "--help"}, code: 0, stdout: "Usage: sfn-callback-urls serve"},
		{args: []string{"keygen", "-h"}, code: 0, stdout: "Usage: sfn-callback-urls keygen"},
		{args: []string{"inspect", "-h"}, code: 0, stdout: "Usage: sfn-callback-urls inspect"},
		{args: []string{"serve", "--bogus"}, code: 2, stderr: "flag provided but not defined: -bogus"},
		{args: []string{"frobnicate"}, code: 2, stderr: `unknown command "frobnicate"`},
		{args: []string{"serve", "--key-file", "typo.json"}, code: 1, stderr: "key file typo.json does not exist"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			stdout, stderr, code := runBin(t, tt.args...)
			if code != tt.code || !strings.Contains(stdout, tt.stdout) || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d with %q and %q", code, stdout, stderr, tt.code, tt.stdout, tt.stderr)
			}
		})
	}

	t.Run("version", func(t *testing.T) {
		for _, args := range [][]string{{"--version"}, {"version"}} {
			stdout, _, code := runBin(t, args...)
			want := "no source revision recorded"
			if revision != "" {
				want = "revision " + revision
			}
			if code != 0 || !strings.HasPrefix(stdout, "sfn-callback-urls ") || !strings.Contains(stdout, want) {
				t.Errorf("%v: exit %d, %q; want one line with %q", args, code, stdout, want)
			}
		}
	})

	t.Run("first run and interrupt", func(t *testing.T) {
		cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0")
		cmd.Dir = t.TempDir()
		cmd.Env = append(os.Environ(), "KEY_FILE=", "KEY_ID=", "KEYRING=", "DISABLE_ENCRYPTION=", "LISTEN_ADDR=", "STORE_FILE=")
		stdout, stderr := &testkit.Buffer{}, &testkit.Buffer{}
		cmd.Stdout, cmd.Stderr = stdout, stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		defer func() { _ = cmd.Process.Kill() }()
		for deadline := time.Now().Add(startupTimeout); !strings.Contains(stdout.String(), "local tasks:"); {
			if time.Now().After(deadline) {
				t.Fatalf("no banner:\n%s\n%s", stdout, stderr)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !strings.Contains(stdout.String(), "keys:           new key file .local/keyring.json (mode 0600)") {
			t.Errorf("the first run does not say it made the default key file:\n%s", stdout)
		}
		if info, err := os.Stat(filepath.Join(cmd.Dir, ".local", "keyring.json")); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("default key file: %v", err)
		}
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("exit after SIGINT: %v\n%s", err, stderr)
			}
		case <-time.After(startupTimeout):
			t.Fatal("no exit after SIGINT")
		}
		if !strings.HasSuffix(stdout.String(), "\nsfn-callback-urls: stopped (interrupt signal received)\n") {
			t.Errorf("stdout does not end saying it stopped:\n%s", stdout)
		}
	})
}
