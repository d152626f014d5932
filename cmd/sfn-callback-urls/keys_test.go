package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/standin"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/testkit"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

func runCmd(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return runCmdIn(t, env, "", args...)
}

// runCmdIn is runCmd with stdin.
func runCmdIn(t *testing.T, env map[string]string, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

func keyIDsOf(t *testing.T, doc []byte) []string {
	t.Helper()
	r, err := keyring.Parse(doc)
	if err != nil {
		t.Fatalf("keyring %s: %v", doc, err)
	}
	var ids []string
	for _, k := range r.Keys() {
		ids = append(ids, k.ID)
	}
	return ids
}

func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "keys", "keyring.json")

	// A new keyring on stdout.
	out, errOut, err := runCmd(t, nil, "keygen")
	if err != nil {
		t.Fatal(err)
	}
	first := keyIDsOf(t, []byte(out))
	if len(first) != 1 {
		t.Fatalf("keygen made %d keys, want 1", len(first))
	}
	if !strings.Contains(errOut, "new key "+first[0]) {
		t.Errorf("stderr %q does not name the new key", errOut)
	}

	// Rotation on stdin, keeping the newest two.
	out2, _, err := runCmdIn(t, nil, out, "keygen", "--add")
	if err != nil {
		t.Fatal(err)
	}
	second := keyIDsOf(t, []byte(out2))
	out3, errOut3, err := runCmdIn(t, nil, out2, "keygen", "--add", "--keep", "2")
	if err != nil {
		t.Fatal(err)
	}
	third := keyIDsOf(t, []byte(out3))
	if len(second) != 2 || second[0] != first[0] || len(third) != 2 || third[0] != second[1] {
		t.Errorf("rotation: %v, then %v, then (keep 2) %v", first, second, third)
	}
	if want := "dropped 1 key(s): " + first[0]; !strings.Contains(errOut3, want) {
		t.Errorf("--keep: stderr %q does not say %q", errOut3, want)
	}
	r, _ := keyring.Parse([]byte(out3))
	for _, k := range r.Keys() {
		if strings.Contains(errOut3, base64.StdEncoding.EncodeToString(k.Secret)) {
			t.Error("key material on stderr")
		}
	}

	// A file: created 0600, never overwritten, rotated with --add.
	if _, _, err := runCmd(t, nil, "keygen", "--file", file); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", info.Mode().Perm())
	}
	before, _ := os.ReadFile(file)
	if _, _, err := runCmd(t, nil, "keygen", "--file", file); err == nil || !strings.Contains(err.Error(), "use --add") {
		t.Errorf("keygen over an existing file: %v, want a refusal", err)
	}
	if after, _ := os.ReadFile(file); !bytes.Equal(before, after) {
		t.Error("keygen changed an existing file without --add")
	}
	if _, _, err := runCmd(t, nil, "keygen", "--add", "--file", file); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(file)
	ids := keyIDsOf(t, after)
	if len(ids) != 2 || ids[0] != keyIDsOf(t, before)[0] {
		t.Errorf("rotated file has keys %v", ids)
	}

	for _, args := range [][]string{
		{"keygen", "--keep", "1"},
		{"keygen", "--add", "--file", filepath.Join(dir, "missing.json")},
		{"keygen", "extra"},
	} {
		if _, _, err := runCmd(t, nil, args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

// createURLs creates URLs for a request at a deployment sealing them
// with keys (nil: unencrypted).
func createURLs(t *testing.T, keys payload.KeySource, req any) map[string]string {
	t.Helper()
	opts := servicetest.Options{Backend: servicetest.Double, Keys: keys, NoEncryption: keys == nil, RealClock: true,
		Settings: config.Config{BaseURL: servicetest.APIBase}}
	return servicetest.Start(t, opts).Create(t, req).URLs
}

// testURL is the approve URL of the reference's two actions for token.
func testURL(t *testing.T, keys payload.KeySource, token string) string {
	t.Helper()
	return createURLs(t, keys, map[string]any{"token": token, "actions": []map[string]any{
		{"name": "approve", "type": "success", "output": map[string]string{"name_in_output": "Ben"}},
		{"name": "reject", "type": "failure", "error": "rejected", "cause": "Ben rejected it"},
	}})["approve"]
}

func TestInspect(t *testing.T) {
	token := corpus.Tokens()[0]
	file, r := keyFile(t)
	other, _ := keyFile(t)
	static := testURL(t, r, token)
	plain := testURL(t, nil, token)

	type result struct {
		Format      string
		Key         *inspectedKey
		Action      string
		Type        string
		Token       string
		TokenLength int            `json:"token_length"`
		Output      map[string]any `json:"output"`
		Warnings    []string
	}
	ben := map[string]any{"name_in_output": "Ben"}
	masked := token[:6] + "…" + token[len(token)-4:]
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		want    result
		wantErr string
	}{
		{name: "static key file", args: []string{"--key-file", file, static},
			want: result{Format: "3 (encrypted binary, AES-256-GCM)", Key: &inspectedKey{Mode: "static", ID: r.Current().ID},
				Action: "approve", Type: "success", Token: masked, TokenLength: len(token), Output: ben}},
		{name: "KEY_FILE and --show-token", env: map[string]string{"KEY_FILE": file}, args: []string{"--show-token", static},
			want: result{Format: "3 (encrypted binary, AES-256-GCM)", Key: &inspectedKey{Mode: "static", ID: r.Current().ID},
				Action: "approve", Type: "success", Token: token, TokenLength: len(token), Output: ben}},
		{name: "data parameter only", args: []string{"--key-file", file, dataOf(t, static)},
			want: result{Format: "3 (encrypted binary, AES-256-GCM)", Key: &inspectedKey{Mode: "static", ID: r.Current().ID},
				Action: "approve", Type: "success", Token: masked, TokenLength: len(token), Output: ben}},
		{name: "unencrypted needs no key", args: []string{plain},
			want: result{Format: "1 (unencrypted JSON: anyone holding the URL can read and forge it)",
				Action: "approve", Type: "success", Token: masked, TokenLength: len(token), Output: ben}},
		{name: "mismatched action", args: []string{"--key-file", file, strings.Replace(static, "action=approve", "action=reject", 1)},
			want: result{Format: "3 (encrypted binary, AES-256-GCM)", Key: &inspectedKey{Mode: "static", ID: r.Current().ID},
				Action: "approve", Type: "success", Token: masked, TokenLength: len(token), Output: ben,
				Warnings: []string{`the URL says action "reject" but its payload is for action "approve": a callback will be refused (ActionMismatched)`}}},
		{name: "another key", args: []string{"--key-file", other, static}, wantErr: "InvalidPayload"},
		{name: "altered", args: []string{"--key-file", file, static[:len(static)-3] + "AAA"}, wantErr: "InvalidPayload"},
		{name: "no data", args: []string{"--key-file", file, "https://example.com/respond?action=a"}, wantErr: "no data parameter"},
		{name: "no argument", args: []string{"--key-file", file}, wantErr: "give one URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := runCmd(t, tt.env, append([]string{"inspect"}, tt.args...)...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got result
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("output %s: %v", out, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if tt.want.Token != token && strings.Contains(out, token[6:len(token)-4]) {
				t.Error("the masked output holds the token")
			}
		})
	}

	t.Run("expired", func(t *testing.T) {
		// CreateUrls refuses past expirations: seal one directly.
		data, err := (&payload.Codec{Keys: r}).Encode(context.Background(), &callbackurls.Payload{
			Target: callbackurls.TargetRef{ID: token}, Action: "ping", Type: callbackurls.Heartbeat, Expiration: time.Now().Add(-time.Minute),
		})
		if err != nil {
			t.Fatal(err)
		}
		out, _, err := runCmd(t, nil, "inspect", "--key-file", file, data)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "ExpiredPayload") {
			t.Errorf("no expiry warning in %s", out)
		}
	})
}

// keyFile is a key file keygen made, and its keyring.
func keyFile(t *testing.T) (string, *keyring.Keyring) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "keyring.json")
	if _, _, err := runCmd(t, nil, "keygen", "--file", file); err != nil {
		t.Fatal(err)
	}
	r, err := keyring.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	return file, r
}

func dataOf(t *testing.T, rawURL string) string {
	t.Helper()
	data, _, err := dataParameter(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// kmsEnv points the SDK at a KMS stand-in and away from real credentials.
func kmsEnv(t *testing.T, srv *kmstest.Server) {
	t.Setenv("AWS_ENDPOINT_URL_KMS", srv.URL())
	t.Setenv("AWS_ACCESS_KEY_ID", standin.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", standin.SecretAccessKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// keysLine finds the key mode in serve's banner.
var keysLine = regexp.MustCompile(`\n  keys:\s+(.*)\n`)

// TestServeKMS runs the local server in KMS mode against the stand-in:
// URLs are KMS-encrypted, a warm server makes no KMS call, and inspect
// opens them with the same setting.
func TestServeKMS(t *testing.T) {
	srv := kmstest.New(t)
	kmsEnv(t, srv)
	dir := t.TempDir()
	s := start(t, []string{"serve", "--addr", "127.0.0.1:0", "--store", filepath.Join(dir, "tasks.db"), "--kms-key-id", kmstest.Alias}, nil)
	defer func() {
		if err := s.stop(t); err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	if mode := keysLine.FindStringSubmatch(s.stdout.String()); mode == nil || !strings.HasPrefix(mode[1], "KMS key "+kmstest.Alias) {
		t.Errorf("start-up lines say keys: %q", mode)
	}
	if _, err := os.Stat(filepath.Join(dir, "keyring.json")); err == nil {
		t.Error("a key file was made in KMS mode")
	}

	body := `{"token":"` + corpus.Tokens()[1] + `","actions":[{"name":"approve","type":"success","output":{}},{"name":"ping","type":"heartbeat"}]}`
	var urls []string
	for range 2 {
		resp := httpDo(t, http.MethodPost, s.base+"/urls", map[string]string{"Content-Type": "application/json"}, body)
		var created callbackurls.CreateResponse
		if resp.Status != 200 || json.Unmarshal([]byte(resp.Body), &created) != nil {
			t.Fatalf("POST /urls: %d %s", resp.Status, resp.Body)
		}
		urls = append(urls, created.URLs["ping"])
	}
	for _, u := range urls {
		// The local store does not know the token: Step Functions' refusal
		// proves the payload was opened.
		if resp := httpDo(t, http.MethodGet, u, nil, ""); resp.Status != 400 && resp.Status != 200 {
			t.Errorf("GET ping: %d", resp.Status)
		}
	}
	if got := []int{srv.Count("GenerateDataKey"), srv.Count("Decrypt")}; !cmp.Equal(got, []int{1, 0}) {
		t.Errorf("KMS calls [GenerateDataKey Decrypt] = %v for two creates and two callbacks, want [1 0]", got)
	}

	// inspect with KEY_ID: a cold process, so one Decrypt.
	out, _, err := runCmd(t, map[string]string{"KEY_ID": kmstest.Alias}, "inspect", urls[0])
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Key inspectedKey }
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(inspectedKey{Mode: "kms", ID: kmstest.Alias, EncryptedDataKeyBytes: 184}, got.Key); diff != "" {
		t.Errorf("inspect key (-want +got):\n%s", diff)
	}
	if srv.Count("Decrypt") != 1 {
		t.Errorf("%d Decrypt calls after inspect, want 1", srv.Count("Decrypt"))
	}
}

// TestKeygenAddSaysItReadsATerminal: keygen --add on a terminal says that
// it waits for a keyring on stdin, instead of seeming to hang.
func TestKeygenAddSaysItReadsATerminal(t *testing.T) {
	// A character device stands in for the terminal (a real one would wait
	// for someone to type); /dev/null answers end of file at once.
	tty, err := os.Open(os.DevNull)
	if err != nil {
		t.Skip("no character device to stand in for a terminal")
	}
	defer tty.Close()
	if !isTerminal(tty) {
		t.Fatalf("%s is not a character device", tty.Name())
	}
	var stdout, stderr bytes.Buffer
	_ = run(context.Background(), []string{"keygen", "--add"}, testkit.Env(nil), tty, &stdout, &stderr)
	if !strings.Contains(stderr.String(), "reading the keyring to rotate from stdin") {
		t.Errorf("stderr %q does not say that keygen reads stdin", stderr.String())
	}
	stderr.Reset()
	_ = run(context.Background(), []string{"keygen", "--add"}, testkit.Env(nil), strings.NewReader("{}"), &stdout, &stderr)
	if strings.Contains(stderr.String(), "reading the keyring") {
		t.Errorf("a pipe got the terminal's notice: %q", stderr.String())
	}
}
