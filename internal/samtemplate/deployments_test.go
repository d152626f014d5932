package samtemplate

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keysource"
)

// Sample values for the domain parameters.
const (
	sampleDomain     = "approvals.example.com"
	sampleCertArn    = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
	sampleHostedZone = "Z0123456789ABCDEFGHIJ"
)

// deployment is one way to deploy template.yaml: the parameter values that
// differ from the defaults. Every check that runs per deployment (the SAM
// translation, cfn-lint with the values resolved, the stack created on
// moto) reads this table: a new parameter or mode is one row here.
type deployment struct {
	name   string
	params map[string]string
	// onMoto creates on moto what the parameters name (a key, a secret)
	// and returns the values to use there instead of params' samples.
	onMoto func(t *testing.T, a *motoAccount) map[string]string
}

var deployments = []deployment{
	{name: "default"}, // a created HMAC key
	{name: "envelope key", params: map[string]string{"CreatedKeySpec": "SYMMETRIC_DEFAULT"}},
	{
		name:   "given key",
		params: map[string]string{"EncryptionKeyArn": givenKeyArn},
		onMoto: func(t *testing.T, a *motoAccount) map[string]string {
			return map[string]string{"EncryptionKeyArn": a.createKey(t, "SYMMETRIC_DEFAULT")}
		},
	},
	{name: "envelope key and a created gate key", params: map[string]string{"CreatedKeySpec": "SYMMETRIC_DEFAULT", "GateKey": "CREATE"}},
	{
		name:   "given key and a given gate key",
		params: map[string]string{"EncryptionKeyArn": givenKeyArn, "GateKey": gateKeyArn},
		onMoto: func(t *testing.T, a *motoAccount) map[string]string {
			return map[string]string{"EncryptionKeyArn": a.createKey(t, "SYMMETRIC_DEFAULT"), "GateKey": a.createKey(t, "HMAC_256")}
		},
	},
	{
		name:   "created key and previous keys",
		params: map[string]string{"PreviousKeyArns": oldKeyArn + "," + olderKeyArn},
		onMoto: func(t *testing.T, a *motoAccount) map[string]string {
			return map[string]string{"PreviousKeyArns": a.createKey(t, "HMAC_256") + "," + a.createKey(t, "SYMMETRIC_DEFAULT")}
		},
	},
	{
		name:   "static keyring",
		params: map[string]string{"KeyringSecretArn": keyringArn},
		onMoto: func(t *testing.T, a *motoAccount) map[string]string {
			return map[string]string{"KeyringSecretArn": a.createSecret(t, "sfn-callback-urls/keyring")}
		},
	},
	{name: "unencrypted", params: map[string]string{"DisableEncryption": "true"}},
	{name: "own domain", params: map[string]string{"DomainName": sampleDomain, "CertificateArn": sampleCertArn}},
	{
		name:   "own domain with a Route 53 record",
		params: map[string]string{"DomainName": sampleDomain, "CertificateArn": sampleCertArn, "HostedZoneId": sampleHostedZone},
	},
	{
		name: "every switch turned",
		params: map[string]string{
			"EnableOutputParameters": "true", "EnablePostActions": "true", "VerboseLogging": "true",
			"ConfirmBrowserGet": "false", "MaxUrlLength": "2000", "StageName": "prod",
			"ThrottlingRateLimit": "5", "ThrottlingBurstLimit": "10", "ProcessCallbackReservedConcurrency": "NONE",
			"KmsColdCallsPerSecond": "2.5", "KmsColdCallsBurst": "5", "LogRetentionInDays": "7",
			"ApiAccessLogs": "false", "CreateApiGatewayLoggingRole": "true",
		},
	},
	{
		name: "sign-in and a created signing key",
		params: map[string]string{"OidcIssuer": "https://login.example.com", "OidcClientId": "sfn-callback-urls",
			"OidcClientSecretArn": oidcSecretArn, "SigningKey": "CREATE"},
		onMoto: func(t *testing.T, a *motoAccount) map[string]string {
			return map[string]string{"OidcClientSecretArn": a.createSecret(t, "sfn-callback-urls/oidc-client")}
		},
	},
	{
		name:   "a given signing key with a static keyring",
		params: map[string]string{"KeyringSecretArn": keyringArn, "SigningKey": givenSigningKeyArn},
		onMoto: func(t *testing.T, a *motoAccount) map[string]string {
			return map[string]string{"KeyringSecretArn": a.createSecret(t, "sfn-callback-urls/keyring"), "SigningKey": a.createKey(t, "ECC_NIST_P256")}
		},
	},
	// Delivery (docs/MESSAGES.md): both functions send as the sender and
	// publish to the listed topics.
	{
		name: "delivery",
		params: map[string]string{"SenderEmail": "approvals@example.com",
			"AllowedTopicArns": "arn:aws:sns:us-east-1:123456789012:approvals,arn:aws:sns:us-east-1:123456789012:ops"},
	},
}

// Samples of the sign-in and receipt parameters.
const (
	oidcSecretArn      = "arn:aws:secretsmanager:us-east-1:123456789012:secret:sfn-callback-urls/oidc-client-AbCdEf"
	givenSigningKeyArn = "arn:aws:kms:us-east-1:123456789012:key/5678abcd-12ab-34cd-56ef-1234567890ab"
)

// args is the parameter list for the translator and cfn-lint.
func (d deployment) args() []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(d.params)) {
		out = append(out, k+"="+d.params[k])
	}
	return out
}

// translated is template.yaml translated by the SAM transform for d.
func translated(t *testing.T, d deployment) map[string]any {
	t.Helper()
	out, complaint := translateCached(t, templates(t)[0], d.params)
	if complaint != "" {
		t.Fatalf("sam deploy would refuse %s:\n%s", d.name, complaint)
	}
	return out
}

var (
	translationsMu sync.Mutex
	translations   = map[string]translation{} // by translationKey
	prefetchOnce   sync.Once
)

type translation struct {
	doc       []byte // JSON: each caller gets its own copy to change
	complaint string
}

func translationKey(tf samTemplate, params map[string]string) string {
	key := tf.name
	for _, k := range slices.Sorted(maps.Keys(params)) {
		key += "\x00" + k + "=" + params[k]
	}
	return key
}

// translateCached returns a copy of tf translated for params (or the
// translator's complaint). The first call translates every template and
// every deployment of template.yaml in one translator run: importing
// samtranslator is most of a run's time.
func translateCached(t *testing.T, tf samTemplate, params map[string]string) (map[string]any, string) {
	t.Helper()
	requireTranslator(t)
	prefetchOnce.Do(func() { prefetchTranslations(t) })
	key := translationKey(tf, params)
	translationsMu.Lock()
	tr, ok := translations[key]
	translationsMu.Unlock()
	if !ok {
		doc, complaint := translate(t, tf.doc, deployment{params: params}.args()...)
		data, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		tr = translation{doc: data, complaint: complaint}
		translationsMu.Lock()
		translations[key] = tr
		translationsMu.Unlock()
	}
	if tr.complaint != "" {
		return nil, tr.complaint
	}
	var out map[string]any
	if err := json.Unmarshal(tr.doc, &out); err != nil {
		t.Fatal(err)
	}
	return out, ""
}

// prefetchTranslations translates, in one run of the translator's batch
// mode, every template with its defaults and template.yaml for every
// deployment.
func prefetchTranslations(t *testing.T) {
	t.Helper()
	type job struct {
		tf     samTemplate
		params map[string]string
	}
	var jobs []job
	all := templates(t)
	for _, tf := range all {
		jobs = append(jobs, job{tf, nil})
	}
	for _, d := range deployments {
		jobs = append(jobs, job{all[0], d.params})
	}
	var in []map[string]any
	for _, j := range jobs {
		in = append(in, map[string]any{"template": j.tf.doc, "parameters": j.params})
	}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("python3", translateCmd, "--batch")
	cmd.Stdin = bytes.NewReader(data)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s --batch: %v\n%s", translateCmd, err, stderr.Bytes())
	}
	var results []struct {
		Template json.RawMessage
		Errors   []string
	}
	if err := json.Unmarshal(out, &results); err != nil || len(results) != len(jobs) {
		t.Fatalf("%s --batch: %d results for %d templates (%v)", translateCmd, len(results), len(jobs), err)
	}
	translationsMu.Lock()
	defer translationsMu.Unlock()
	for i, j := range jobs {
		var complaint string
		for _, e := range results[i].Errors {
			complaint += "translation error: " + e + "\n"
		}
		translations[translationKey(j.tf, j.params)] = translation{doc: results[i].Template, complaint: strings.TrimSpace(complaint)}
	}
}

// Every deployment passes the template's rules, translates, and comes out
// sound: every name declared, no cycle, the functions' roles the stack's
// own without managed policies, arm64, the stage's logs as the template
// says.
func TestDeploymentsTranslate(t *testing.T) {
	doc := loadTemplate(t)
	for _, d := range deployments {
		t.Run(d.name, func(t *testing.T) {
			if failed := evaluate(t, doc, d.params).ruleFailures(); len(failed) > 0 {
				t.Fatalf("the template's rules refuse it: %v", failed)
			}
			out := translated(t, d)
			if _, ok := out["Transform"]; ok {
				t.Error("the translated template still has a Transform")
			}
			for _, msg := range undeclared(out) {
				t.Errorf("undeclared %s", msg)
			}
			if c := findCycle(realDependencies(out)); c != nil {
				t.Errorf("circular dependency %s", strings.Join(c, " -> "))
			}
			res := section(out, "Resources")
			for _, id := range functionIDs {
				fn := mapAt(res, id, "Properties")
				if got := fn["Role"]; !cmp.Equal(got, map[string]any{"Fn::GetAtt": []any{id + "Role", "Arn"}}) {
					t.Errorf("%s: Role %v, want the stack's %sRole", id, got, id)
				}
				role := mapAt(res, id+"Role")
				if role["Type"] != "AWS::IAM::Role" {
					t.Errorf("%sRole (named in the key policy) is a %v", id, role["Type"])
				}
				// SAM's generated roles carry AWSLambdaBasicExecutionRole
				// (logs on "*"); these carry nothing managed.
				if got := mapAt(role, "Properties")["ManagedPolicyArns"]; got != nil {
					t.Errorf("%sRole has managed policies %v", id, got)
				}
				if !slices.Equal(stringList(fn["Architectures"]), []string{"arm64"}) || fn["Runtime"] != "provided.al2023" {
					t.Errorf("%s: %v %v", id, fn["Architectures"], fn["Runtime"])
				}
			}
			stages := resourcesOfType(out, "AWS::ApiGateway::Stage")
			if len(stages) != 1 {
				t.Fatalf("stages %v, want one", stages)
			}
			stage := mapAt(res, stages[0], "Properties")
			for _, ms := range stage["MethodSettings"].([]any) {
				if m := mapAt(ms); m["LoggingLevel"] != "OFF" || m["DataTraceEnabled"] != false {
					t.Errorf("stage method settings %v", m)
				}
			}
			// The base path mapping names the stage SAM generated.
			if got := mapAt(res, "ApiBasePathMapping", "Properties")["Stage"]; !cmp.Equal(got, map[string]any{"Ref": stages[0]}) {
				t.Errorf("the base path mapping's stage is %v, want Ref %s", got, stages[0])
			}
		})
	}
}

// cfn-lint on each deployment's translated template, with its parameter
// values resolved (cfn-lint resolves values only without the SAM
// transform: given the SAM template it drops them). One run for all, as a
// deployment file each, since loading its schemas is most of its time.
func TestCfnLintDeployments(t *testing.T) {
	bin := cfnLint(t)
	dir := t.TempDir()
	var files []string
	names := map[string]string{}
	for i, d := range deployments {
		data, err := json.MarshalIndent(translated(t, d), "", " ")
		if err != nil {
			t.Fatal(err)
		}
		tmpl := filepath.Join(dir, "translated-"+strconv.Itoa(i)+".json")
		if err := os.WriteFile(tmpl, data, 0o600); err != nil {
			t.Fatal(err)
		}
		// A deployment file (cfn-lint --deployment-files): the template
		// and its parameter values, as YAML (JSON is YAML).
		params := map[string]string{}
		maps.Copy(params, d.params)
		dep, _ := json.Marshal(map[string]any{"template-file-path": tmpl, "parameters": params})
		file := filepath.Join(dir, "deployment-"+strconv.Itoa(i)+".yaml")
		if err := os.WriteFile(file, dep, 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, file)
		names[tmpl] = d.name
	}
	findings := runCfnLint(t, bin, append([]string{"--deployment-files"}, files...)...)
	for _, f := range findings {
		msg := f.Rule.Id + " line " + strconv.Itoa(f.Location.Start.LineNumber) + ": " + f.Message
		name := names[filepath.Clean(f.Filename)]
		switch f.Level {
		case "Error", "Warning":
			t.Errorf("%s: %s %s (fix it, or ignore the rule with its reason in .cfnlintrc.yaml)", name, f.Level, msg)
		default:
			t.Logf("%s: %s %s", name, f.Level, msg)
		}
	}
	// cfn-lint does resolve the values: an impossible one is caught.
	bad := filepath.Join(dir, "bad.yaml")
	dep, _ := json.Marshal(map[string]any{"template-file-path": filepath.Join(dir, "translated-0.json"),
		"parameters": map[string]string{"LogRetentionInDays": "10"}})
	if err := os.WriteFile(bad, dep, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := runCfnLint(t, bin, "--deployment-files", bad); !slices.ContainsFunc(got, func(f cfnLintFinding) bool { return f.Rule.Id == "W1030" }) {
		t.Errorf("cfn-lint let RetentionInDays 10 through: %+v", got)
	}
}

// ---------------------------------------------------------------- domain

// With a domain, the stack maps the domain's root to the stage and
// CreateUrls hands out https://DOMAIN/respond URLs, whichever way it is
// called; without one, nothing of it exists and URLs name the stage.
func TestDomain(t *testing.T) {
	doc := loadTemplate(t)
	stageURL := "https://<Api>.execute-api.us-east-1.amazonaws.com/v1"
	for _, c := range []struct {
		name   string
		params map[string]string
		base   string // every URL's base
		record bool
	}{
		{"no domain", nil, stageURL, false},
		{"domain", map[string]string{"DomainName": sampleDomain, "CertificateArn": sampleCertArn}, "https://" + sampleDomain, false},
		{"domain and zone", map[string]string{"DomainName": sampleDomain, "CertificateArn": sampleCertArn, "HostedZoneId": sampleHostedZone}, "https://" + sampleDomain, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := evaluate(t, doc, c.params)
			res := s.resources()
			// The same deployment unencrypted, for the code below (no KMS
			// here; the base does not depend on the key).
			plain := maps.Clone(c.params)
			if plain == nil {
				plain = map[string]string{}
			}
			plain["DisableEncryption"] = "true"
			_, hasDomain := res["ApiDomainName"]
			_, hasMapping := res["ApiBasePathMapping"]
			_, hasRecord := res["ApiDomainRecord"]
			withDomain := c.params["DomainName"] != ""
			if hasDomain != withDomain || hasMapping != withDomain || hasRecord != c.record {
				t.Fatalf("domain %v, mapping %v, record %v; want %v, %v, %v", hasDomain, hasMapping, hasRecord, withDomain, withDomain, c.record)
			}
			if got, _ := s.output("BaseUrl"); got != c.base {
				t.Errorf("BaseUrl output %q, want %q", got, c.base)
			}
			if got, _ := s.output("Api"); got != stageURL {
				t.Errorf("Api output %q, want the stage's URL %q whatever the domain", got, stageURL)
			}
			_, hasTarget := s.output("DomainTarget")
			if hasTarget != withDomain {
				t.Errorf("DomainTarget output present %v", hasTarget)
			}
			if withDomain {
				d := mapAt(res["ApiDomainName"], "Properties")
				if d["DomainName"] != sampleDomain || d["RegionalCertificateArn"] != sampleCertArn || d["SecurityPolicy"] != "TLS_1_2" ||
					!slices.Equal(stringList(mapAt(d, "EndpointConfiguration")["Types"]), []string{"REGIONAL"}) {
					t.Errorf("domain name %v", d)
				}
				m := mapAt(res["ApiBasePathMapping"], "Properties")
				// No BasePath: the domain's root is the stage, so
				// https://DOMAIN/respond is {stage URL}/respond.
				if _, ok := m["BasePath"]; ok || m["RestApiId"] != "<Api>" || m["Stage"] != "<Api.Stage>" || m["DomainName"] != "<ApiDomainName>" {
					t.Errorf("base path mapping %v", m)
				}
			}
			if c.record {
				r := mapAt(res["ApiDomainRecord"], "Properties")
				alias := mapAt(r, "AliasTarget")
				if r["Type"] != "A" || r["Name"] != sampleDomain || r["HostedZoneId"] != sampleHostedZone ||
					alias["DNSName"] != "<ApiDomainName.RegionalDomainName>" || alias["HostedZoneId"] != "<ApiDomainName.RegionalHostedZoneId>" {
					t.Errorf("record %v", r)
				}
			}

			// The code itself, configured from the stack's environment,
			// makes URLs on the base: through the API's stage (the proxy
			// event names it), and by direct invoke (no stage).
			env := evaluate(t, doc, plain).functionEnv("CreateUrlsFunction")
			if _, ok := env["BASE_URL"]; ok != withDomain {
				t.Errorf("BASE_URL set %v: %v", ok, env)
			}
			// ProcessCallback makes no URL, but people sign in on the
			// domain (the redirect URI) and receipts name it as issuer.
			if _, ok := s.functionEnv("ProcessCallbackFunction")["BASE_URL"]; ok != withDomain {
				t.Errorf("ProcessCallback has BASE_URL %v, with a domain %v", ok, withDomain)
			}
			// What Lambda adds; API_ID is the API's id once created.
			env["AWS_REGION"] = "us-east-1"
			env["API_ID"] = "abc123defg"
			settings, err := config.FromEnv(func(k string) string { return env[k] })
			if err == nil {
				err = settings.Check()
			}
			if err != nil {
				t.Fatal(err)
			}
			keys, err := keysource.Open(context.Background(), &settings.Settings, nil, keysource.Options{})
			if err != nil {
				t.Fatal(err)
			}
			svc := callbackurls.New(settings.Service(), keys.Codec(), nil)
			req, err := callbackurls.ParseCreateRequest([]byte(`{"token":"t","expiration":"2099-01-01T00:00:00Z","actions":[{"name":"approve","type":"success","output":{}}]}`))
			if err != nil {
				t.Fatal(err)
			}
			want := strings.Replace(c.base, "<Api>", "abc123defg", 1) + "/respond?"
			for via, gw := range map[string]callbackurls.Gateway{"direct invoke": {}, "through the stage": {APIID: "abc123defg", Stage: "v1"}} {
				resp, _, err := svc.CreateURLs(context.Background(), req, gw)
				if err != nil {
					t.Fatalf("%s: %v", via, err)
				}
				if u := resp.URLs["approve"]; !strings.HasPrefix(u, want) {
					t.Errorf("%s: URL %s, want it to start with %s", via, u, want)
				}
			}
		})
	}

	// The rules refuse half a domain.
	for _, c := range []map[string]string{
		{"DomainName": sampleDomain},
		{"CertificateArn": sampleCertArn},
		{"HostedZoneId": sampleHostedZone},
		{"CertificateArn": sampleCertArn, "HostedZoneId": sampleHostedZone},
	} {
		if failed := evaluate(t, doc, c).ruleFailures(); len(failed) == 0 {
			t.Errorf("%v: the rules accept it", c)
		}
	}
	for _, c := range []struct {
		name, value string
		ok          bool
	}{
		{"DomainName", sampleDomain, true},
		{"DomainName", "cb.approvals.example.co.uk", true},
		{"DomainName", "https://approvals.example.com", false},
		{"DomainName", "approvals.example.com/v1", false},
		{"DomainName", "Approvals.Example.com", false},
		{"DomainName", "approvals.example.com.", false},
		{"DomainName", "localhost", false},
		{"CertificateArn", sampleCertArn, true},
		{"CertificateArn", "arn:aws:iam::123456789012:server-certificate/x", false},
		{"HostedZoneId", sampleHostedZone, true},
		{"HostedZoneId", "/hostedzone/Z0123", false},
	} {
		if err := checkParameter(doc, c.name, c.value); (err == nil) != c.ok {
			t.Errorf("%s=%q: accepted %v, want %v (%v)", c.name, c.value, err == nil, c.ok, err)
		}
	}
}

// ---------------------------------------------------------------- key policy

// kmsUseActions are the KMS operations that use a key's material (or hand
// out the right to): only the functions' roles may have them.
var kmsUseActions = []string{
	"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyPair",
	"kms:GenerateDataKeyPairWithoutPlaintext", "kms:GenerateDataKeyWithoutPlaintext", "kms:GenerateMac",
	"kms:VerifyMac", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:Sign", "kms:Verify", "kms:DeriveSharedSecret",
	"kms:CreateGrant", "kms:GetPublicKey", "kms:ImportKeyMaterial",
}

// actionMatches reports whether an IAM action pattern (with * and ?)
// matches an action, case-insensitively as IAM does.
func actionMatches(pattern, action string) bool {
	ok, _ := filepath.Match(strings.ToLower(pattern), strings.ToLower(action))
	return ok
}

// The created keys' policies: the account administers them and may not
// use them; each function role may use them for exactly its own operations.
func TestKeyPolicy(t *testing.T) {
	doc := loadTemplate(t)
	for _, c := range []struct {
		name, key string
		params    map[string]string
	}{
		{"HMAC_256", "EncryptionKey", map[string]string{"CreatedKeySpec": "HMAC_256"}},
		{"SYMMETRIC_DEFAULT", "EncryptionKey", map[string]string{"CreatedKeySpec": "SYMMETRIC_DEFAULT"}},
		{"gate key", "UrlGateKey", map[string]string{"CreatedKeySpec": "SYMMETRIC_DEFAULT", "GateKey": "CREATE"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := evaluate(t, doc, c.params)
			policy := mapAt(s.resources()[c.key], "Properties", "KeyPolicy")
			roles := []string{"<CreateUrlsFunctionRole.Arn>", "<ProcessCallbackFunctionRole.Arn>"}
			root := "arn:aws:iam::123456789012:root"
			var admin bool
			for _, st := range policy["Statement"].([]any) {
				stmt := mapAt(st)
				principals := stringList(mapAt(stmt, "Principal")["AWS"])
				if p, ok := stmt["Principal"].(string); ok || len(principals) == 0 {
					t.Errorf("%v: principal %v, want named principals", stmt["Sid"], p)
				}
				if _, ok := stmt["NotAction"]; ok {
					t.Errorf("%v: NotAction", stmt["Sid"])
				}
				for _, a := range stringList(stmt["Action"]) {
					for _, use := range kmsUseActions {
						if !actionMatches(a, use) {
							continue
						}
						for _, p := range principals {
							if !slices.Contains(roles, p) {
								t.Errorf("%v: %s may %s (through %s); only the functions' roles may use the key", stmt["Sid"], p, use, a)
							}
						}
					}
				}
				if slices.Contains(principals, root) {
					admin = true
					for _, need := range []string{"kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:CreateAlias", "kms:EnableKeyRotation", "kms:DescribeKey"} {
						if !slices.ContainsFunc(stringList(stmt["Action"]), func(a string) bool { return actionMatches(a, need) }) {
							t.Errorf("the account cannot %s (the stack itself needs it, and so does the lockout check)", need)
						}
					}
				}
			}
			if !admin {
				t.Error("the account does not administer the key")
			}
		})
	}
	// The check itself: the policy the template had before lets the
	// account use the key.
	if !actionMatches("kms:*", "kms:GenerateMac") || !actionMatches("kms:Generate*", "kms:GenerateDataKey") || actionMatches("kms:Describe*", "kms:Decrypt") {
		t.Error("actionMatches")
	}
}

// ---------------------------------------------------------------- least privilege

// wildcardResources are the only actions a function role may have on "*".
var wildcardResources = map[string]string{
	"states:SendTaskSuccess":   "task tokens are not IAM resources",
	"states:SendTaskFailure":   "task tokens are not IAM resources",
	"states:SendTaskHeartbeat": "task tokens are not IAM resources",
}

// In every key mode and every deployment, the functions' roles name their
// resources (a key policy's "*" is its key), and logs only on the
// function's own group.
func TestNoWildcardResources(t *testing.T) {
	doc := loadTemplate(t)
	var cases []map[string]string
	for _, m := range keyModes {
		if !m.refused {
			cases = append(cases, m.overrides)
		}
	}
	for _, d := range deployments {
		cases = append(cases, d.params)
	}
	for _, params := range cases {
		s := evaluate(t, doc, params)
		for _, id := range functionIDs {
			for _, g := range s.grants(id) {
				action, rest, _ := strings.Cut(g, " on ")
				resource, _, _ := strings.Cut(rest, " if ")
				if strings.Contains(action, "*") {
					t.Errorf("%v: %s: action pattern %s", params, id, action)
				}
				if resource == "*" && wildcardResources[action] == "" {
					t.Errorf("%v: %s: %s on *", params, id, action)
				}
				if strings.HasPrefix(action, "logs:") && !slices.Contains(ownLogGrants(id), g) {
					t.Errorf("%v: %s: %s, want logs only on its own group", params, id, g)
				}
				if action == "managed-policy" {
					t.Errorf("%v: %s: managed policy %s", params, id, resource)
				}
			}
		}
	}
}

// ---------------------------------------------------------------- concurrency

func TestProcessCallbackReservedConcurrency(t *testing.T) {
	doc := loadTemplate(t)
	p := mapAt(doc, "Parameters", "ProcessCallbackReservedConcurrency")
	if p["Default"] != "20" {
		t.Errorf("default %v, want 20", p["Default"])
	}
	for value, want := range map[string]any{"": "20", "NONE": nil, "0": "0", "150": "150"} {
		params := map[string]string{}
		if value != "" {
			params["ProcessCallbackReservedConcurrency"] = value
		}
		props := mapAt(evaluate(t, doc, params).resources()["ProcessCallbackFunction"], "Properties")
		if got := props["ReservedConcurrentExecutions"]; got != want {
			t.Errorf("%q: ReservedConcurrentExecutions %v, want %v", value, got, want)
		}
	}
	// CreateUrls is IAM-authorised: no reservation taken from the account.
	if _, ok := mapAt(evaluate(t, doc, nil).resources()["CreateUrlsFunction"], "Properties")["ReservedConcurrentExecutions"]; ok {
		t.Error("CreateUrls reserves concurrency")
	}
	for _, c := range []struct {
		value string
		ok    bool
	}{{"NONE", true}, {"0", true}, {"1", true}, {"99999", true}, {"-1", false}, {"020", false}, {"100000", false}, {"none", false}, {"", false}} {
		if err := checkParameter(doc, "ProcessCallbackReservedConcurrency", c.value); (err == nil) != c.ok {
			t.Errorf("%q: accepted %v, want %v", c.value, err == nil, c.ok)
		}
	}
}
