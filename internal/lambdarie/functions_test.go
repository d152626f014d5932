package lambdarie

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/durablecallbacks/durabletest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/kmskeys/kmstest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/stepfunctions/sfntest"
)

// stage is the API Gateway stage of the deployment under test.
var stage = Stage{APIID: "abc123defg", Name: "v1", Region: Region, Account: "123456789012"}

const browserAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// deployment is both functions of one deployment, each under its own
// emulator, with Step Functions (and KMS, in a KMS key mode) stand-ins
// speaking the real protocols on loopback; durable is Lambda's durable
// callback API.
type deployment struct {
	sfn              *sfntest.Server
	durable          *durabletest.Server
	kms              *kmstest.Server
	create, callback *Emulator
}

func newDeployment(t *testing.T, mode string) *deployment {
	t.Helper()
	bins := bootstraps(t, "create-urls", "process-callback")
	d := &deployment{sfn: sfntest.New(t), durable: durabletest.New(t)}
	d.sfn.AddCredentials(Credentials())
	d.durable.AddCredentials(Credentials())
	env := append(stage.Env(), "ENABLE_POST_ACTIONS=true", "AWS_ENDPOINT_URL_SFN="+d.sfn.URL(), "AWS_ENDPOINT_URL_LAMBDA="+d.durable.URL())
	switch mode {
	case "static":
		env = append(env, "KEYRING="+servicetest.KeyringDoc(t, servicetest.NewKeyring(t)))
	case "kms", "kms-hmac":
		d.kms = kmstest.New(t)
		d.kms.AddCredentials(Credentials())
		alias := kmstest.Alias
		if mode == "kms-hmac" {
			alias = kmstest.HMACAlias
		}
		env = append(env, "KEY_ID="+alias, "AWS_ENDPOINT_URL_KMS="+d.kms.URL())
	default:
		t.Fatalf("unknown key mode %q", mode)
	}
	d.create = Start(t, Config{Bootstrap: bins[0], FunctionName: "create-urls", Env: env})
	d.callback = Start(t, Config{Bootstrap: bins[1], FunctionName: "process-callback", Env: env})
	return d
}

// createRequest is a CreateUrls request for token with an approve and a
// reject action: the event of a direct invoke and the body of POST /urls.
func createRequest(token string) string {
	tok, _ := json.Marshal(token)
	return `{"token": ` + string(tok) + `, "actions": [` +
		`{"name": "approve", "type": "success", "output": {"ok": true}}, ` +
		`{"name": "reject", "type": "failure"}]}`
}

type createResponse struct {
	TransactionID string            `json:"transaction_id"`
	URLs          map[string]string `json:"urls"`
}

// checkCreate checks a CreateUrls answer: a transaction id and URLs named
// names on the stage.
func checkCreate(t *testing.T, body []byte, names ...string) createResponse {
	t.Helper()
	var r createResponse
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("CreateUrls answered %s: %v", body, err)
	}
	if r.TransactionID == "" {
		t.Errorf("CreateUrls answered %s: no transaction_id", body)
	}
	if diff := cmp.Diff(names, slices.Sorted(maps.Keys(r.URLs))); diff != "" {
		t.Fatalf("CreateUrls answered %s: URLs (-want +got):\n%s", body, diff)
	}
	for name, u := range r.URLs {
		if !strings.HasPrefix(u, stage.URL()+"/respond?") {
			t.Errorf("URL %s = %s, want one on the stage, %s/respond?...", name, u, stage.URL())
		}
	}
	return r
}

// invokeDirect invokes e with event, a direct invoke: the emulator must
// answer 200.
func invokeDirect(t testing.TB, e *Emulator, event string) []byte {
	t.Helper()
	r := e.Invoke(t, []byte(event))
	if r.Status != http.StatusOK {
		t.Fatalf("invoke: status %d, body %s\n%s", r.Status, r.Body, e.Tail())
	}
	return r.Body
}

// invokeProxy invokes e with a proxy event and returns the function's
// proxy response.
func invokeProxy(t testing.TB, e *Emulator, event []byte) ProxyResponse {
	t.Helper()
	r, err := DecodeProxyResponse(invokeDirect(t, e, string(event)))
	if err != nil {
		t.Fatalf("%v\n%s", err, e.Tail())
	}
	return r
}

// request is the proxy event of a request for a URL the functions made.
func request(t testing.TB, method, rawURL string, header map[string]string, body string) []byte {
	t.Helper()
	ev, err := stage.URLEvent(method, rawURL, header, body)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

var (
	jsonClient = map[string]string{"Accept": "application/json", "User-Agent": "lambdarie-test/1.0"}
	browserGET = map[string]string{
		"Accept":         "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
		"User-Agent":     browserAgent,
		"Sec-Fetch-Mode": "navigate",
		"Sec-Fetch-Dest": "document",
	}
)

// checkStatus fails the test unless r has the status and a Content-Type of
// the media type.
func checkStatus(t *testing.T, what string, r ProxyResponse, status int, mediaType string) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s: status %d, want %d; body %.800s", what, r.StatusCode, status, r.Body)
	}
	if ct := r.Header("Content-Type"); !strings.HasPrefix(ct, mediaType) {
		t.Errorf("%s: Content-Type %q, want %s", what, ct, mediaType)
	}
}

// checkErrorBody checks the contract's error body.
func checkErrorBody(t *testing.T, body []byte, code string) map[string]any {
	t.Helper()
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("error body %s: %v", body, err)
	}
	if got["error"] != code || got["message"] == "" {
		t.Errorf(`error body %s, want {"error": %q, "message": "..."}`, body, code)
	}
	return got
}

// checkTask checks the Step Functions task of token.
func (d *deployment) checkTask(t *testing.T, token string, status sfntest.Status, output any) {
	t.Helper()
	task, ok := d.sfn.Task(token)
	if !ok {
		t.Fatalf("no task for the token")
	}
	var got any
	if task.Output != "" {
		if err := json.Unmarshal([]byte(task.Output), &got); err != nil {
			t.Fatalf("task output %q: %v", task.Output, err)
		}
	}
	if task.Status != status || !cmp.Equal(got, output) {
		t.Errorf("task %s with output %s, want %s with %v", task.Status, task.Output, status, output)
	}
}

// TestFunctions runs both bootstraps, built as for deployment, under AWS's
// emulator in each key mode, and sends them what API Gateway and a state
// machine's Lambda task would: direct invokes and REST API proxy events.
func TestFunctions(t *testing.T) {
	tokens := corpus.Tokens()
	for _, mode := range []string{"static", "kms", "kms-hmac"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			d := newDeployment(t, mode)
			var made createResponse // by the direct invoke, for tokens[0]

			t.Run("create, direct invoke", func(t *testing.T) {
				made = checkCreate(t, invokeDirect(t, d.create, createRequest(tokens[0])), "approve", "reject")
				if d.kms != nil && d.kms.Count("GenerateDataKey")+d.kms.Count("GenerateMac") == 0 {
					t.Errorf("KMS mode made URLs without calling KMS")
				}
			})

			t.Run("create, POST /urls", func(t *testing.T) {
				r := invokeProxy(t, d.create, stage.ProxyEvent(http.MethodPost, "/urls", map[string]string{
					"Accept":       "application/json",
					"Content-Type": "application/json",
					"User-Agent":   "aws-sdk-go-v2/1.0",
				}, nil, createRequest(tokens[1])))
				checkStatus(t, "POST /urls", r, http.StatusOK, "application/json")
				checkCreate(t, []byte(r.Body), "approve", "reject")
			})

			t.Run("click, JSON", func(t *testing.T) {
				if made.URLs["approve"] == "" {
					t.Skip("no URL was made")
				}
				d.sfn.AddTask(tokens[0])
				r := invokeProxy(t, d.callback, request(t, http.MethodGet, made.URLs["approve"], jsonClient, ""))
				checkStatus(t, "GET /respond", r, http.StatusOK, "application/json")
				var got any
				if err := json.Unmarshal([]byte(r.Body), &got); err != nil {
					t.Fatalf("body %s: %v", r.Body, err)
				}
				want := map[string]any{
					"transaction_id": made.TransactionID,
					"action":         map[string]any{"name": "approve", "type": "success"},
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
				d.checkTask(t, tokens[0], sfntest.StatusSucceeded, map[string]any{"ok": true})
				if d.kms != nil && d.kms.Count("Decrypt")+d.kms.Count("GenerateMac") == 0 {
					t.Errorf("KMS mode opened a URL without calling KMS")
				}

				// The same URL again: the task is closed.
				r = invokeProxy(t, d.callback, request(t, http.MethodGet, made.URLs["approve"], jsonClient, ""))
				checkStatus(t, "GET /respond again", r, http.StatusBadRequest, "application/json")
				if body := checkErrorBody(t, []byte(r.Body), "StepFunctionsError"); body["step_functions_error"] != "TaskTimedOut" {
					t.Errorf("second click: %s, want step_functions_error TaskTimedOut", r.Body)
				}
			})

			t.Run("click, browser", func(t *testing.T) {
				// A browser's GET gets the confirmation page and sends
				// nothing; the page's form POSTs to the same URL.
				token := tokens[2]
				made := checkCreate(t, invokeDirect(t, d.create, createRequest(token)), "approve", "reject")
				d.sfn.AddTask(token)
				page := invokeProxy(t, d.callback, request(t, http.MethodGet, made.URLs["reject"], browserGET, ""))
				checkStatus(t, "browser GET", page, http.StatusOK, "text/html")
				if page.Header("X-Callback-Confirmation") != "required" || !strings.Contains(page.Body, `<form method="post"`) ||
					!strings.Contains(page.Body, "Nothing has been sent yet.") {
					t.Fatalf("browser GET: not the confirmation page: headers %v\n%.1500s", page.Headers, page.Body)
				}
				checkPageHeaders(t, page)
				d.checkTask(t, token, sfntest.StatusOpen, nil)

				form := map[string]string{
					"Accept":         browserGET["Accept"],
					"User-Agent":     browserAgent,
					"Content-Type":   "application/x-www-form-urlencoded",
					"Origin":         "https://" + stage.Host(),
					"Sec-Fetch-Site": "same-origin",
				}
				r := invokeProxy(t, d.callback, request(t, http.MethodPost, made.URLs["reject"], form, ""))
				checkStatus(t, "form POST", r, http.StatusOK, "text/html")
				checkPageHeaders(t, r)
				if r.Header("X-Callback-Confirmation") != "" || strings.Contains(r.Body, "<form") ||
					!strings.Contains(r.Body, "Rejected") || !strings.Contains(r.Body, "was sent") {
					t.Errorf("form POST: not the Rejected page\n%.1500s", r.Body)
				}
				task, _ := d.sfn.Task(token)
				if task.Status != sfntest.StatusFailed {
					t.Errorf("task %s, want failed by the reject action", task.Status)
				}
			})

			t.Run("post action", func(t *testing.T) {
				token := tokens[3]
				tok, _ := json.Marshal(token)
				made := checkCreate(t, invokeDirect(t, d.create, `{"token": `+string(tok)+`, "actions": [
					{"name": "ci", "type": "post", "outcomes": [
						{"name": "passed", "type": "success",
						 "schema": {"type": "object", "required": ["status", "build"], "properties": {"status": {"const": "passed"}}},
						 "output_path": "$.build.artifacts[*].url"},
						{"name": "failed", "type": "failure",
						 "schema": {"type": "object", "required": ["status"], "properties": {"status": {"enum": ["failed", "errored"]}}},
						 "error_path": "$.error.code", "cause_path": "$.error.message"}]}]}`), "ci")
				d.sfn.AddTask(token)
				post := map[string]string{"Content-Type": "application/json", "User-Agent": "ci/1.0"}

				r := invokeProxy(t, d.callback, request(t, http.MethodPost, made.URLs["ci"], post, `{"status": "running"}`))
				checkStatus(t, "a body no outcome accepts", r, http.StatusBadRequest, "application/json")
				checkErrorBody(t, []byte(r.Body), "InvalidPostActionBody")
				d.checkTask(t, token, sfntest.StatusOpen, nil)

				r = invokeProxy(t, d.callback, request(t, http.MethodPost, made.URLs["ci"], post,
					`{"status": "passed", "build": {"id": 1234, "artifacts": [`+
						`{"name": "app.zip", "url": "https://ci.example.com/1234/app.zip"}, `+
						`{"name": "docs.zip", "url": "https://ci.example.com/1234/docs.zip"}]}}`))
				checkStatus(t, "the passed body", r, http.StatusOK, "application/json")
				var got any
				_ = json.Unmarshal([]byte(r.Body), &got)
				want := map[string]any{"transaction_id": made.TransactionID, "action": map[string]any{"name": "ci", "type": "post"}}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
				d.checkTask(t, token, sfntest.StatusSucceeded,
					[]any{"https://ci.example.com/1234/app.zip", "https://ci.example.com/1234/docs.zip"})
			})

			t.Run("damaged link page", func(t *testing.T) {
				if made.URLs["reject"] == "" {
					t.Skip("no URL was made")
				}
				u, _ := url.Parse(made.URLs["reject"])
				q := u.Query()
				data := q.Get("data")
				q.Set("data", data[:len(data)/2])
				u.RawQuery = q.Encode()
				r := invokeProxy(t, d.callback, request(t, http.MethodGet, u.String(), browserGET, ""))
				checkStatus(t, "a cut link", r, http.StatusBadRequest, "text/html")
				checkPageHeaders(t, r)
				if !strings.Contains(r.Body, "This link is damaged") {
					t.Errorf("a cut link: not the damaged link page\n%.1500s", r.Body)
				}
			})

			t.Run("bad requests", func(t *testing.T) {
				tests := []struct {
					name   string
					e      *Emulator
					event  []byte
					status int // of the proxy response; 0 for a direct invoke
					code   string
				}{
					{"create, direct invoke without a token", d.create,
						[]byte(`{"actions": [{"name": "approve", "type": "success", "output": {}}]}`), 0, "InvalidJSON"},
					{"create, POST /urls not JSON", d.create, stage.ProxyEvent(http.MethodPost, "/urls",
						map[string]string{"Content-Type": "application/json"}, nil, `{"token": `), http.StatusBadRequest, "InvalidJSON"},
					{"create, GET /urls", d.create, stage.ProxyEvent(http.MethodGet, "/urls", jsonClient, nil, ""),
						http.StatusMethodNotAllowed, "MethodNotAllowed"},
					{"callback, no data", d.callback, stage.ProxyEvent(http.MethodGet, "/respond", jsonClient,
						url.Values{"action": {"approve"}, "type": {"success"}}, ""), http.StatusBadRequest, "InvalidPayload"},
					// Not an API Gateway event: the contract's error body,
					// not a crash or a Lambda function error.
					{"callback, direct invoke", d.callback, []byte(`{"hello": "world"}`), 0, "InvalidJSON"},
				}
				for _, tt := range tests {
					t.Run(tt.name, func(t *testing.T) {
						if tt.status == 0 {
							checkErrorBody(t, invokeDirect(t, tt.e, string(tt.event)), tt.code)
							return
						}
						r := invokeProxy(t, tt.e, tt.event)
						checkStatus(t, tt.name, r, tt.status, "application/json")
						checkErrorBody(t, []byte(r.Body), tt.code)
					})
				}
			})
		})
	}
}

// checkPageHeaders checks what every page carries: a content security
// policy and no caching.
func checkPageHeaders(t *testing.T, r ProxyResponse) {
	t.Helper()
	if r.Header("Content-Security-Policy") == "" {
		t.Errorf("page without Content-Security-Policy: %v", r.Headers)
	}
	if cc := r.Header("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("page Cache-Control %q, want no-store", cc)
	}
}

// TestMisconfigured: a function whose settings are refused at start exits
// before asking for work. Lambda reports an init error; the emulator
// answers 502 with no body, and starts the bootstrap again at the next
// invoke.
func TestMisconfigured(t *testing.T) {
	bin := bootstraps(t, "create-urls")[0]
	e := Start(t, Config{Bootstrap: bin, FunctionName: "create-urls", Env: append(stage.Env(), "KEYRING=not a keyring")})
	for i := range 2 {
		r := e.Invoke(t, []byte(createRequest(corpus.Tokens()[0])))
		if r.Status != http.StatusBadGateway || len(r.Body) != 0 {
			t.Errorf("invoke %d: %d %q, want 502 and no body", i+1, r.Status, r.Body)
		}
	}
	out := e.Output()
	if n := strings.Count(out, "create-urls: "); n != 2 || !strings.Contains(out, "KEYRING") {
		t.Errorf("the function's start-up error, naming KEYRING, was printed %d times, want once per invoke\n%s", n, e.Tail())
	}
	if !strings.Contains(out, "Runtime.ExitError") {
		t.Errorf("the emulator did not report Runtime.ExitError\n%s", e.Tail())
	}
}

// TestKMSIncidentAtColdStart: both bootstraps start with KMS unreachable
// or failing. They describe their key at the first request, not at start,
// so they answer with the contract's 503 (EncryptionFailed for a create,
// ServiceError and the error page for a click) and Retry-After, never an
// exit API Gateway shows as a bare 502; once KMS answers, after a
// backoff, the same processes work (issue 20).
func TestKMSIncidentAtColdStart(t *testing.T) {
	bins := bootstraps(t, "create-urls", "process-callback")
	token := corpus.Tokens()[0]
	start := func(t *testing.T, kmsURL string) *deployment {
		d := &deployment{sfn: sfntest.New(t)}
		d.sfn.AddCredentials(Credentials())
		env := append(stage.Env(), "AWS_ENDPOINT_URL_SFN="+d.sfn.URL(), "KEY_ID="+kmstest.HMACAlias, "AWS_ENDPOINT_URL_KMS="+kmsURL)
		d.create = Start(t, Config{Bootstrap: bins[0], FunctionName: "create-urls", Env: env})
		d.callback = Start(t, Config{Bootstrap: bins[1], FunctionName: "process-callback", Env: env})
		return d
	}
	// A URL of the gated HMAC mode: the callback must learn its key before
	// it can tell anything of it.
	raw := make([]byte, 1+16+12+40+16+8)
	raw[0] = 4
	madeUp := stage.URL() + "/respond?action=approve&type=success&data=3-" + base64.RawURLEncoding.EncodeToString(raw)
	checkOutage := func(t *testing.T, d *deployment) {
		t.Helper()
		for i := range 2 {
			body := invokeDirect(t, d.create, createRequest(token))
			checkErrorBody(t, body, "EncryptionFailed")
			r := invokeProxy(t, d.create, stage.ProxyEvent(http.MethodPost, "/urls", map[string]string{
				"Accept": "application/json", "Content-Type": "application/json"}, nil, createRequest(token)))
			checkStatus(t, "POST /urls", r, http.StatusServiceUnavailable, "application/json")
			checkErrorBody(t, []byte(r.Body), "EncryptionFailed")
			r = invokeProxy(t, d.callback, request(t, http.MethodGet, madeUp, jsonClient, ""))
			checkStatus(t, "GET /respond", r, http.StatusServiceUnavailable, "application/json")
			checkErrorBody(t, []byte(r.Body), "ServiceError")
			r = invokeProxy(t, d.callback, request(t, http.MethodGet, madeUp, browserGET, ""))
			checkStatus(t, "GET /respond, a browser", r, http.StatusServiceUnavailable, "text/html")
			if r.Header("Retry-After") == "" {
				t.Errorf("request %d: the page has no Retry-After", i+1)
			}
		}
		for _, e := range []*Emulator{d.create, d.callback} {
			if out := e.Output(); strings.Contains(out, "Runtime.ExitError") {
				t.Errorf("a function exited:\n%s", e.Tail())
			}
		}
	}

	t.Run("KMS unreachable", func(t *testing.T) {
		closed := kmstest.New(t)
		url := closed.URL()
		closed.Close()
		checkOutage(t, start(t, url))
	})

	t.Run("KMS failing, then back", func(t *testing.T) {
		kms := kmstest.New(t)
		kms.AddCredentials(Credentials())
		d := start(t, kms.URL())
		// Every attempt of the SDK's retryer fails, for both functions'
		// first requests (the create's direct invoke and POST, the
		// click's two: within the backoff, only the first asks).
		kms.FailNextOp("DescribeKey", 6, http.StatusInternalServerError, "KMSInternalException")
		checkOutage(t, d)
		if got := kms.Count("DescribeKey"); got != 6 {
			t.Errorf("%d DescribeKey requests while KMS failed, want 6: one describe of three attempts a function, then the backoff", got)
		}
		time.Sleep(1100 * time.Millisecond) // the backoff after a first failure
		made := checkCreate(t, invokeDirect(t, d.create, createRequest(token)), "approve", "reject")
		d.sfn.AddTask(token)
		r := invokeProxy(t, d.callback, request(t, http.MethodGet, made.URLs["approve"], jsonClient, ""))
		checkStatus(t, "GET /respond after KMS is back", r, http.StatusOK, "application/json")
		d.checkTask(t, token, sfntest.StatusSucceeded, map[string]any{"ok": true})
	})
}
