package samtemplate

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/mototest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keysource"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// The stacks, created: each deployment of template.yaml, and each
// example's template against a stack of template.yaml, translated by the
// SAM transform and created in moto's CloudFormation with the functions'
// real deployment packages in moto's S3, as `sam deploy` would. Then the
// created stack is read back through the AWS APIs: its outputs, the
// functions' configuration, and every IAM permission of their roles
// (inline, attached and key policies) against what their code calls.
//
// moto does not create everything: motoCannotCreate says what and why
// (docs/DEPLOY.md lists the same), and the test checks that exactly those
// are missing, so that the list stays true as moto changes.

const motoRegion = "us-east-1"

// motoCannotCreate: the resource types moto's CloudFormation (moto 5.2)
// leaves out, and why. A missing resource of another type fails the test.
var motoCannotCreate = map[string]string{
	"AWS::ApiGateway::Stage":           "no CloudFormation model in moto (it skips the resource)",
	"AWS::ApiGateway::Account":         "no CloudFormation model in moto (it skips the resource)",
	"AWS::ApiGateway::DomainName":      "no CloudFormation model in moto (it skips the resource)",
	"AWS::ApiGateway::BasePathMapping": "no CloudFormation model in moto (it skips the resource)",
	"AWS::StepFunctions::Activity":     "no CloudFormation model in moto (it skips the resource)",
	// Left out by the test, which would otherwise fail the whole stack:
	"AWS::ApiGateway::Deployment": "moto's RestApi model ignores Body (the OpenAPI definition), so the API has no methods and moto refuses the deployment (\"The REST API doesn't contain any methods\")",
}

// motoDrops: properties moto's models read nothing of; the test checks
// the rest of a resource's configuration.
var motoDrops = map[string][]string{
	"AWS::Lambda::Function":            {"Architectures", "LoggingConfig", "Tags"},
	"AWS::StepFunctions::StateMachine": {"DefinitionS3Location", "DefinitionSubstitutions", "Tags"},
	// The test reads the managed policies a role has from the template,
	// and each from moto's IAM.
	"AWS::IAM::Role": {"ManagedPolicyArns", "Tags"},
}

// motoAccount is one moto_server and clients for it.
type motoAccount struct {
	srv    *mototest.Server
	cfg    aws.Config
	cfn    *cloudformation.Client
	iam    *iam.Client
	kms    *kms.Client
	sm     *secretsmanager.Client
	bucket string
	code   map[string]string // "<template path>/<logical id>" -> S3 key of its package or definition
	names  int
}

func newMotoAccount(t *testing.T) *motoAccount {
	t.Helper()
	requireTranslator(t)
	srv := mototest.Start(t)
	cfg := srv.Config(motoRegion)
	a := &motoAccount{
		srv:    srv,
		cfg:    cfg,
		cfn:    cloudformation.NewFromConfig(cfg),
		iam:    iam.NewFromConfig(cfg),
		kms:    kms.NewFromConfig(cfg),
		sm:     secretsmanager.NewFromConfig(cfg),
		bucket: "sam-artifacts",
		code:   map[string]string{},
	}
	a.put(t, "", nil) // the bucket `sam deploy --resolve-s3` would make
	return a
}

// put stores an object in moto's S3 (or makes the bucket, for key ""):
// path-style PUTs, which moto takes unsigned, rather than the S3 SDK.
func (a *motoAccount) put(t *testing.T, key string, data []byte) {
	t.Helper()
	u := a.srv.URL + "/" + a.bucket
	if key != "" {
		u += "/" + key
	}
	req, err := http.NewRequest(http.MethodPut, u, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT %s: %s", u, resp.Status)
	}
}

func (a *motoAccount) name(prefix string) string {
	a.names++
	return fmt.Sprintf("%s%d", prefix, a.names)
}

// createKey makes a KMS key (with AWS's default key policy: the account's
// IAM policies decide) and returns its ARN.
func (a *motoAccount) createKey(t *testing.T, spec string) string {
	t.Helper()
	in := &kms.CreateKeyInput{KeySpec: kmstypes.KeySpec(spec), KeyUsage: kmstypes.KeyUsageTypeEncryptDecrypt}
	if spec == "ECC_NIST_P256" {
		in.KeyUsage = kmstypes.KeyUsageTypeSignVerify
	}
	if spec == "HMAC_256" {
		in.KeyUsage = kmstypes.KeyUsageTypeGenerateVerifyMac
	}
	out, err := a.kms.CreateKey(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.KeyMetadata.Arn)
}

// createSecret makes a Secrets Manager secret and returns its ARN.
func (a *motoAccount) createSecret(t *testing.T, name string) string {
	t.Helper()
	out, err := a.sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name: aws.String(a.name(name + "-")), SecretString: aws.String(`{"placeholder": true}`)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.ARN)
}

// upload puts a template's function packages (built by their Makefile
// targets) and state machine definitions in S3, once.
func (a *motoAccount) upload(t *testing.T, tf samTemplate) {
	t.Helper()
	for _, f := range goFunctions(t) {
		key := f.tf.path + "/" + f.id
		if f.tf.path != tf.path || a.code[key] != "" {
			continue
		}
		a.code[key] = strings.ReplaceAll(f.name(), "/", "-") + ".zip"
		a.put(t, a.code[key], build(t, f).zip)
	}
	// Node.js functions (sam build bundles them with esbuild): their
	// TypeScript sources stand in for the bundle, which moto only stores.
	for _, id := range resourcesOfType(tf.doc, "AWS::Serverless::Function") {
		key := tf.path + "/" + id
		rt, _ := effective(tf.doc, mapAt(section(tf.doc, "Resources")[id]), "Runtime").(string)
		if !strings.HasPrefix(rt, "nodejs") || a.code[key] != "" {
			continue
		}
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		if err := zw.AddFS(os.DirFS(filepath.Join(tf.dir(), "src"))); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		a.code[key] = strings.ReplaceAll(tf.name+"/"+id, "/", "-") + ".zip"
		a.put(t, a.code[key], buf.Bytes())
	}
	for _, id := range resourcesOfType(tf.doc, "AWS::Serverless::StateMachine") {
		key := tf.path + "/" + id
		uri, ok := mapAt(tf.doc, "Resources", id, "Properties")["DefinitionUri"].(string)
		if !ok || a.code[key] != "" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(tf.dir(), uri))
		if err != nil {
			t.Fatal(err)
		}
		a.code[key] = strings.ReplaceAll(tf.name+"/"+id, "/", "-") + ".asl.json"
		a.put(t, a.code[key], data)
	}
}

// motoStack is a stack created on moto.
type motoStack struct {
	name     string
	tf       samTemplate
	params   map[string]string
	expected *stack            // the translated template, evaluated as CloudFormation would
	outputs  map[string]string // moto's
	physical map[string]string // logical id -> physical id, of what moto created
	types    map[string]string // logical id -> type, of what moto created
	leftOut  map[string]string // logical id or "output NAME" -> why moto has none
}

// create translates tf, points its code at S3, leaves out what moto
// cannot create, creates the stack with params and reads it back. The
// translation is for samples (the deployment's table row): the transform
// passes parameters through to CloudFormation, which resolves them, and
// the test checks that none of the samples that params replace is in it.
func (a *motoAccount) create(t *testing.T, tf samTemplate, samples, params map[string]string) *motoStack {
	t.Helper()
	a.upload(t, tf)
	out, complaint := translateCached(t, tf, samples)
	if complaint != "" {
		t.Fatalf("sam deploy would refuse it: %s", complaint)
	}
	text, _ := json.Marshal(out)
	for k, v := range samples {
		if params[k] != v && strings.Contains(string(text), v) {
			t.Fatalf("the translation holds %s's sample value %s: translate with the stack's own values", k, v)
		}
	}
	st := &motoStack{name: a.name("stack"), tf: tf, params: params, leftOut: map[string]string{}}
	// What the deployment has, from a copy: out is changed below.
	var whole map[string]any
	if data, err := json.Marshal(out); err != nil || json.Unmarshal(data, &whole) != nil {
		t.Fatal("copy of the translated template")
	}
	st.expected = evaluateNamed(t, whole, params, st.name)
	if failed := evaluate(t, tf.doc, params).ruleFailures(); len(failed) > 0 {
		t.Fatalf("the template's rules refuse it: %v", failed)
	}

	// What `sam package` does: the local paths become S3 locations.
	res := section(out, "Resources")
	for id, r := range res {
		rm := mapAt(r)
		props := mapAt(rm, "Properties")
		switch rm["Type"] {
		case "AWS::Lambda::Function":
			key := a.code[tf.path+"/"+id]
			if key == "" {
				t.Fatalf("%s: no package for %s", tf.name, id)
			}
			props["Code"] = map[string]any{"S3Bucket": a.bucket, "S3Key": key}
		case "AWS::StepFunctions::StateMachine":
			if key := a.code[tf.path+"/"+id]; key != "" {
				props["DefinitionS3Location"] = map[string]any{"Bucket": a.bucket, "Key": key}
			}
		}
	}
	st.leaveOut(out)

	body, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var cfnParams []cfntypes.Parameter
	for _, k := range slices.Sorted(maps.Keys(params)) {
		cfnParams = append(cfnParams, cfntypes.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(params[k])})
	}
	if _, err := a.cfn.CreateStack(ctx, &cloudformation.CreateStackInput{
		StackName:    aws.String(st.name),
		TemplateBody: aws.String(string(body)),
		Parameters:   cfnParams,
		Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityIam},
	}); err != nil {
		t.Fatalf("create stack: %v", err)
	}
	desc, err := a.cfn.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(st.name)})
	if err != nil {
		t.Fatal(err)
	}
	s := desc.Stacks[0]
	if s.StackStatus != cfntypes.StackStatusCreateComplete {
		t.Fatalf("stack %s: %s %s", st.name, s.StackStatus, aws.ToString(s.StackStatusReason))
	}
	st.outputs = map[string]string{}
	for _, o := range s.Outputs {
		st.outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	st.physical, st.types = map[string]string{}, map[string]string{}
	p := cloudformation.NewListStackResourcesPaginator(a.cfn, &cloudformation.ListStackResourcesInput{StackName: aws.String(st.name)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.StackResourceSummaries {
			// moto lists a resource it skipped with empty ids.
			if aws.ToString(r.LogicalResourceId) == "" {
				continue
			}
			st.physical[aws.ToString(r.LogicalResourceId)] = aws.ToString(r.PhysicalResourceId)
			st.types[aws.ToString(r.LogicalResourceId)] = aws.ToString(r.ResourceType)
		}
	}
	return st
}

// leaveOut removes from the translated template what would make moto fail
// the whole stack: resources of the types motoCannotCreate marks as left
// out by the test (moto skips the others itself), and then, in turn,
// whatever refers to a left-out resource, or reads an attribute of a
// resource moto skips (moto has no value for it), in its properties or
// outputs. A reference in Metadata only orders creation: it is dropped.
func (st *motoStack) leaveOut(out map[string]any) {
	res := section(out, "Resources")
	present := st.expected.resources()
	for id, r := range res {
		typ, _ := mapAt(r)["Type"].(string)
		if _, ok := present[id]; ok && typ == "AWS::ApiGateway::Deployment" {
			st.leftOut[id] = motoCannotCreate[typ]
			delete(res, id)
		}
	}
	// What moto reads nothing of goes, with the references in it.
	for _, r := range res {
		rm := mapAt(r)
		for _, p := range motoDrops[fmt.Sprint(rm["Type"])] {
			delete(mapAt(rm, "Properties"), p)
		}
	}
	// needs reports what v needs that moto will not have.
	needs := func(v any) string {
		var why string
		collectRefs(v, "", func(r reference) {
			name, _, _ := strings.Cut(r.name, ".")
			if why != "" || r.kind == "Condition" {
				return
			}
			if reason, gone := st.leftOut[name]; gone && reason != "" {
				why = fmt.Sprintf("needs %s (left out)", name)
				return
			}
			if rr := mapAt(res[name]); rr != nil {
				if _, skipped := motoCannotCreate[fmt.Sprint(rr["Type"])]; skipped {
					if _, ok := present[name]; ok {
						why = fmt.Sprintf("needs %s (%s), which moto does not create", name, rr["Type"])
					}
				}
			}
		})
		return why
	}
	for changed := true; changed; {
		changed = false
		for _, id := range slices.Sorted(maps.Keys(res)) {
			rm := mapAt(res[id])
			if _, ok := present[id]; !ok {
				continue
			}
			// moto reads nothing of a resource it skips.
			if _, skipped := motoCannotCreate[fmt.Sprint(rm["Type"])]; skipped {
				continue
			}
			delete(rm, "Metadata")
			if why := needs(rm["Properties"]); why != "" {
				st.leftOut[id] = why
				delete(res, id)
				changed = true
			}
		}
	}
	for name, o := range section(out, "Outputs") {
		if c, ok := mapAt(o)["Condition"].(string); ok && !st.expected.cond(c) {
			continue
		}
		if why := needs(mapAt(o)["Value"]); why != "" {
			st.leftOut["output "+name] = why
			delete(section(out, "Outputs"), name)
		}
	}
}

// placeholder matches the evaluator's "<Id>" and "<Id.Attribute>".
var placeholder = regexp.MustCompile(`<([A-Za-z0-9]+)(\.[A-Za-z0-9.]+)?>`)

// pattern turns an evaluated value into a regexp for what moto holds:
// "<Id>" is the resource's physical id, "<Id.Attribute>" anything.
func (st *motoStack) pattern(v string) *regexp.Regexp {
	var b strings.Builder
	last := 0
	for _, m := range placeholder.FindAllStringSubmatchIndex(v, -1) {
		b.WriteString(regexp.QuoteMeta(v[last:m[0]]))
		id := v[m[2]:m[3]]
		if phys, ok := st.physical[id]; ok && m[4] < 0 {
			b.WriteString(regexp.QuoteMeta(phys))
		} else {
			b.WriteString(`\S+`)
		}
		last = m[1]
	}
	b.WriteString(regexp.QuoteMeta(v[last:]))
	return regexp.MustCompile(`^` + b.String() + `$`)
}

// checkResources: moto created every resource the deployment has, except
// those motoCannotCreate and leaveOut explain, and nothing else.
func (st *motoStack) checkResources(t *testing.T) (created, missing map[string]string) {
	t.Helper()
	created, missing = map[string]string{}, map[string]string{}
	for id, r := range st.expected.resources() {
		typ := fmt.Sprint(r["Type"])
		if _, ok := st.physical[id]; ok {
			created[id] = typ
			if st.types[id] != typ {
				t.Errorf("%s is a %s on moto, want %s", id, st.types[id], typ)
			}
			continue
		}
		why := st.leftOut[id]
		if why == "" {
			why = motoCannotCreate[typ]
		}
		if why == "" {
			t.Errorf("moto did not create %s (%s), and no reason is known: add it to motoCannotCreate with the reason", id, typ)
		}
		missing[id] = typ + ": " + why
	}
	for id := range st.physical {
		if _, ok := st.expected.resources()[id]; !ok {
			t.Errorf("moto created %s, which the deployment does not have", id)
		}
	}
	// A type listed as not created that moto does create is a stale entry.
	for id, typ := range created {
		if why, ok := motoCannotCreate[typ]; ok {
			t.Errorf("moto created %s (%s), listed as not created: %s", id, typ, why)
		}
	}
	return created, missing
}

// checkOutputs: every output the deployment has is moto's, with the value
// the template gives.
func (st *motoStack) checkOutputs(t *testing.T) {
	t.Helper()
	for name, o := range section(st.expected.doc, "Outputs") {
		if c, ok := mapAt(o)["Condition"].(string); ok && !st.expected.cond(c) {
			if _, ok := st.outputs[name]; ok {
				t.Errorf("output %s present, its condition %s is false", name, c)
			}
			continue
		}
		if _, ok := st.leftOut["output "+name]; ok {
			continue
		}
		want, _ := st.expected.output(name)
		got, ok := st.outputs[name]
		if !ok {
			t.Errorf("output %s missing", name)
			continue
		}
		if !st.pattern(want).MatchString(got) {
			t.Errorf("output %s = %q, want %q", name, got, want)
		}
	}
}

// functionConfig is what moto holds of a function.
type functionConfig struct {
	Role        string
	Environment struct{ Variables map[string]any }
}

// raw sends a signed request to moto and decodes its JSON answer, for
// what moto answers in a shape the SDK refuses: a value of a resource made
// by CloudFormation kept as the template gave it (a number parameter's
// string for ReservedConcurrentExecutions, a key policy as an object, an
// environment variable as a number) where AWS answers with its own type.
func (a *motoAccount) raw(t *testing.T, service, method, path, target string, in, out any) {
	t.Helper()
	var body []byte
	if in != nil {
		body, _ = json.Marshal(in)
	}
	req, err := http.NewRequest(method, a.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if target != "" {
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", target)
	}
	// Signed: moto_server tells services apart by the signature's scope.
	creds, err := a.cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, motoRegion, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s %s: %s\n%s", service, method, path, resp.Status, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("%s %s: %v\n%s", service, path, err, data)
	}
}

// function reads a function's configuration.
func (a *motoAccount) function(t *testing.T, name string) functionConfig {
	t.Helper()
	var c functionConfig
	a.raw(t, "lambda", http.MethodGet, "/2015-03-31/functions/"+url.PathEscape(name)+"/configuration", "", nil, &c)
	return c
}

// reservedConcurrency reads a function's reserved concurrency ("" for none).
func (a *motoAccount) reservedConcurrency(t *testing.T, name string) string {
	t.Helper()
	var c struct{ ReservedConcurrentExecutions any }
	a.raw(t, "lambda", http.MethodGet, "/2019-09-30/functions/"+url.PathEscape(name)+"/concurrency", "", nil, &c)
	if c.ReservedConcurrentExecutions == nil {
		return ""
	}
	return fmt.Sprint(c.ReservedConcurrentExecutions)
}

// keyPolicy reads a key's policy document.
func (a *motoAccount) keyPolicy(t *testing.T, keyID string) string {
	t.Helper()
	var out struct{ Policy json.RawMessage }
	a.raw(t, "kms", http.MethodPost, "/", "TrentService.GetKeyPolicy", map[string]string{"KeyId": keyID, "PolicyName": "default"}, &out)
	var s string
	if json.Unmarshal(out.Policy, &s) == nil {
		return s
	}
	return string(out.Policy)
}

// checkFunction: the function's environment is the template's, and its
// code accepts it (the settings check a cold start makes). Returns the
// function's name.
func (st *motoStack) checkFunction(t *testing.T, a *motoAccount, id string) functionConfig {
	t.Helper()
	name := st.physical[id]
	c := a.function(t, name)
	want := map[string]string{}
	vars, _ := st.expected.value(mapAt(st.expected.resources()[id], "Properties", "Environment", "Variables"))
	for k, v := range mapAt(vars) {
		want[k] = fmt.Sprint(v)
	}
	got := map[string]string{}
	for k, v := range c.Environment.Variables {
		got[k] = fmt.Sprint(v)
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if g, ok := got[k]; !ok {
			t.Errorf("%s: %s not set", id, k)
		} else if !st.pattern(want[k]).MatchString(g) {
			t.Errorf("%s: %s=%q, want %q", id, k, g, want[k])
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: %s set, the template does not set it", id, k)
		}
	}
	return c
}

// grant is one IAM permission: an action on a resource, and where it
// comes from.
type grant struct {
	action, resource, source string
}

// roleGrants reads what a role may do, from moto's IAM and KMS: its inline
// policies, the managed policies attached to it, and the key policies of
// keys (keyIDs) that name it.
func (a *motoAccount) roleGrants(t *testing.T, roleArn string, keyIDs, managed []string) []grant {
	t.Helper()
	ctx := context.Background()
	roleName := roleArn[strings.LastIndex(roleArn, "/")+1:]
	var out []grant
	addDoc := func(doc, source string, self string, principal string) {
		var d struct{ Statement json.RawMessage }
		if err := json.Unmarshal([]byte(pythonLiteralToJSON(doc)), &d); err != nil {
			t.Fatalf("%s: %v\n%s", source, err, doc)
		}
		var stmts []map[string]any
		if err := json.Unmarshal(d.Statement, &stmts); err != nil {
			var one map[string]any
			if err := json.Unmarshal(d.Statement, &one); err != nil {
				t.Fatalf("%s: statement: %v", source, err)
			}
			stmts = []map[string]any{one}
		}
		for _, s := range stmts {
			if principal != "" && !slices.Contains(stringList(mapAt(s, "Principal")["AWS"]), principal) {
				continue
			}
			if s["Effect"] != "Allow" {
				continue
			}
			if _, ok := s["NotAction"]; ok {
				t.Errorf("%s: NotAction", source)
			}
			if _, ok := s["NotResource"]; ok {
				t.Errorf("%s: NotResource", source)
			}
			for _, act := range stringList(s["Action"]) {
				for _, r := range stringList(s["Resource"]) {
					if r == "*" && self != "" {
						r = self
					}
					out = append(out, grant{act, r, source})
				}
			}
		}
	}
	inline, err := a.iam.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(roleName)})
	if err != nil {
		t.Fatal(err)
	}
	for _, pn := range inline.PolicyNames {
		p, err := a.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(roleName), PolicyName: aws.String(pn)})
		if err != nil {
			t.Fatal(err)
		}
		doc, err := url.QueryUnescape(aws.ToString(p.PolicyDocument))
		if err != nil {
			t.Fatal(err)
		}
		addDoc(doc, "inline policy "+pn, "", "")
	}
	attached, err := a.iam.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(roleName)})
	if err != nil {
		t.Fatal(err)
	}
	arns := slices.Clone(managed)
	for _, ap := range attached.AttachedPolicies {
		if !slices.Contains(arns, aws.ToString(ap.PolicyArn)) {
			arns = append(arns, aws.ToString(ap.PolicyArn))
		}
	}
	for _, arn := range arns {
		ap := struct{ PolicyArn *string }{aws.String(arn)}
		p, err := a.iam.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: ap.PolicyArn})
		if err != nil {
			t.Fatal(err)
		}
		v, err := a.iam.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: ap.PolicyArn, VersionId: p.Policy.DefaultVersionId})
		if err != nil {
			t.Fatal(err)
		}
		doc, err := url.QueryUnescape(aws.ToString(v.PolicyVersion.Document))
		if err != nil {
			t.Fatal(err)
		}
		addDoc(doc, "managed policy "+aws.ToString(ap.PolicyArn), "", "")
	}
	for _, k := range keyIDs {
		// The key's ARN, built: moto's DescribeKey fails on a key whose
		// policy CloudFormation gave as an object (it expects text).
		arn := fmt.Sprintf("arn:aws:kms:%s:123456789012:key/%s", motoRegion, k)
		addDoc(a.keyPolicy(t, k), "key policy of "+k, arn, roleArn)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].action+out[i].resource < out[j].action+out[j].resource
	})
	return out
}

// managedPolicies returns the ARNs of the managed policies the template
// attaches to the stack's role of that ARN.
func (st *motoStack) managedPolicies(t *testing.T, roleArn string) []string {
	t.Helper()
	roleName := roleArn[strings.LastIndex(roleArn, "/")+1:]
	for id, r := range st.expected.resources() {
		if r["Type"] != "AWS::IAM::Role" || st.physical[id] != roleName {
			continue
		}
		var out []string
		for _, v := range stringList(mapAt(r, "Properties")["ManagedPolicyArns"]) {
			if m := placeholder.FindStringSubmatch(v); m != nil && m[0] == v && m[2] == "" {
				v = st.physical[m[1]]
			}
			out = append(out, v)
		}
		return out
	}
	t.Fatalf("role %s is not one of the stack's", roleArn)
	return nil
}

// lambdaCalls: what a function's role grants for Lambda itself rather
// than the code, action to the one resource it needs it on: writing the
// function's logs to its own group, and polling the queues of its event
// source mappings.
func (st *motoStack) lambdaCalls(id, logGroup string) map[string]string {
	calls := map[string]string{}
	if logGroup != "" {
		streams := fmt.Sprintf("arn:aws:logs:%s:123456789012:log-group:%s:*", motoRegion, logGroup)
		calls["logs:CreateLogStream"], calls["logs:PutLogEvents"] = streams, streams
	}
	for _, r := range st.expected.resources() {
		p := mapAt(r, "Properties")
		if r["Type"] != "AWS::Lambda::EventSourceMapping" || p["FunctionName"] != "<"+id+">" {
			continue
		}
		src, _ := p["EventSourceArn"].(string)
		queue, ok := strings.CutSuffix(strings.TrimPrefix(src, "<"), ".Arn>")
		if !ok || st.types[queue] != "AWS::SQS::Queue" {
			continue // the test knows what Lambda needs for SQS only
		}
		url := st.physical[queue]
		arn := fmt.Sprintf("arn:aws:sqs:%s:123456789012:%s", motoRegion, url[strings.LastIndex(url, "/")+1:])
		for _, a := range []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"} {
			calls[a] = arn
		}
	}
	return calls
}

// roleReport is a function role's permissions against its code's calls.
type roleReport struct {
	granted, called []string
}

// checkRole: every action the role grants is one the code calls (or one
// of lambdaCalls, on its one resource), on a named
// resource unless wildcardResources says why not; allowed says why a
// grant the code does not call is there all the same ("" if it should
// not be). It returns the report and what is wrong.
func (st *motoStack) checkRole(t *testing.T, a *motoAccount, id string, fn functionConfig, called map[string]string, logGroup string, allowed func(grant) string) (roleReport, []string) {
	t.Helper()
	var keys []string
	for kid, typ := range st.types {
		if typ == "AWS::KMS::Key" {
			keys = append(keys, st.physical[kid])
		}
	}
	var rep roleReport
	for a := range called {
		rep.called = append(rep.called, a)
	}
	slices.Sort(rep.called)
	var problems []string
	service := st.lambdaCalls(id, logGroup)
	grants := a.roleGrants(t, fn.Role, keys, st.managedPolicies(t, fn.Role))
	if logGroup != "" && len(grants) == 0 {
		problems = append(problems, "the role grants nothing, not even its logs: the role was not read")
	}
	for _, g := range grants {
		line := g.action + " on " + g.resource + " (" + g.source + ")"
		if !slices.Contains(rep.granted, g.action) {
			rep.granted = append(rep.granted, g.action)
		}
		if strings.Contains(g.action, "*") {
			problems = append(problems, line+": an action pattern")
		}
		if want, ok := service[g.action]; ok {
			if g.resource != want {
				problems = append(problems, line+": Lambda needs it only on "+want)
			}
			continue
		}
		if _, ok := called[g.action]; !ok {
			if why := allowed(g); why != "" {
				t.Logf("%s: %s, not called: %s", id, line, why)
				continue
			}
			problems = append(problems, line+": the code never calls "+g.action)
		}
		if g.resource == "*" && wildcardResources[g.action] == "" {
			problems = append(problems, line+": a narrower resource works")
		}
	}
	slices.Sort(rep.granted)
	return rep, problems
}

// The stack of every deployment, created on moto.
func TestStackOnMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the functions and creates stacks on moto")
	}
	a := newMotoAccount(t)
	tf := templates(t)[0]
	for _, d := range deployments {
		t.Run(d.name, func(t *testing.T) {
			params := maps.Clone(d.params)
			if params == nil {
				params = map[string]string{}
			}
			if d.onMoto != nil {
				maps.Copy(params, d.onMoto(t, a))
			}
			st := a.create(t, tf, d.params, params)
			created, missing := st.checkResources(t)
			st.checkOutputs(t)
			envs := map[string]config.Config{}
			for _, id := range functionIDs {
				fn := st.checkFunction(t, a, id)
				env := map[string]string{}
				for k, v := range fn.Environment.Variables {
					env[k] = fmt.Sprint(v)
				}
				env["AWS_REGION"] = motoRegion // what Lambda adds
				settings, err := config.FromEnv(func(k string) string { return env[k] })
				if err == nil {
					err = settings.Check()
				}
				if err != nil {
					t.Errorf("%s: the code refuses the created environment: %v", id, err)
				}
				envs[id] = settings
				f := goFunction{tf: tf, id: id}
				logGroup := st.physical[strings.TrimSuffix(id, "Function")+"LogGroup"]
				rep, problems := st.checkRole(t, a, id, fn, calledActions(t, build(t, f)), logGroup, func(grant) string { return "" })
				for _, p := range problems {
					t.Errorf("%s: %s", id, p)
				}
				t.Logf("%s: grants %v; its code links %v", id, rep.granted, rep.called)
			}
			if mode := st.outputs["KeyMode"]; strings.HasPrefix(mode, "kms-") && !t.Failed() {
				st.checkGate(t, a, envs, mode)
			}
			// Reserved concurrency as the template says.
			want := ""
			if v, ok := mapAt(st.expected.resources()["ProcessCallbackFunction"], "Properties")["ReservedConcurrentExecutions"]; ok {
				want = fmt.Sprint(v)
			}
			if got := a.reservedConcurrency(t, st.physical["ProcessCallbackFunction"]); got != want {
				t.Errorf("ProcessCallback's reserved concurrency %q, want %q", got, want)
			}
			t.Logf("created %d resources: %s", len(created), summarize(created))
			for _, id := range slices.Sorted(maps.Keys(missing)) {
				t.Logf("not created: %s (%s)", id, missing[id])
			}
			for _, k := range slices.Sorted(maps.Keys(st.leftOut)) {
				if strings.HasPrefix(k, "output ") {
					t.Logf("not created: %s (%s)", k, st.leftOut[k])
				}
			}
		})
	}
}

// policiesAsText stores the policy of each KMS key the stack created
// again, as the text AWS holds: moto 5.2.1 keeps a KeyPolicy CloudFormation
// gave as an object, and then fails every DescribeKey of the key (its
// policy check calls json.loads on the object: a TypeError, a 500).
func (st *motoStack) policiesAsText(t *testing.T, a *motoAccount) {
	t.Helper()
	for id, typ := range st.types {
		if typ != "AWS::KMS::Key" {
			continue
		}
		keyID := st.physical[id]
		_, err := a.kms.PutKeyPolicy(context.Background(), &kms.PutKeyPolicyInput{
			KeyId: aws.String(keyID), PolicyName: aws.String("default"), Policy: aws.String(a.keyPolicy(t, keyID)),
		})
		if err != nil {
			t.Fatalf("%s: PutKeyPolicy: %v", id, err)
		}
	}
}

// checkGate makes a URL with CreateUrls' settings as the stack created
// them, against moto's KMS, and opens it with ProcessCallback's: its
// header says it is gated exactly when the stack's key gates (an HMAC key,
// or a symmetric one with GateKey), so that a flood of made-up URLs costs
// such a deployment no KMS call. moto's CloudFormation makes every
// AWS::KMS::Key SYMMETRIC_DEFAULT whatever its KeySpec, so a stack that
// creates an HMAC key is checked up to here (its template by
// TestKeyModesReachTheCode); keys given to the stack are moto's own.
func (st *motoStack) checkGate(t *testing.T, a *motoAccount, envs map[string]config.Config, keyMode string) {
	t.Helper()
	ctx := context.Background()
	st.policiesAsText(t, a)
	for id, typ := range st.types {
		if typ != "AWS::KMS::Key" {
			continue
		}
		want, _ := mapAt(st.expected.resources()[id], "Properties")["KeySpec"].(string)
		out, err := a.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(st.physical[id])})
		if err != nil {
			t.Fatalf("%s: DescribeKey: %v", id, err)
		}
		if got := string(out.KeyMetadata.KeySpec); want != "" && got != want {
			t.Logf("URLs not made: moto created %s as %s, the template says %s", id, got, want)
			return
		}
	}
	open := func(id string) *payload.Codec {
		settings := envs[id]
		keys, err := keysource.Open(ctx, &settings.Settings, func() (aws.Config, error) { return a.cfg, nil }, keysource.Options{})
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		return keys.Codec()
	}
	create := envs["CreateUrlsFunction"]
	svc := callbackurls.New(create.Service(), open("CreateUrlsFunction"), nil)
	req, err := callbackurls.ParseCreateRequest([]byte(`{"token":"gate-check","expiration":"2099-01-01T00:00:00Z","actions":[{"name":"approve","type":"success","output":{}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp, _, err := svc.CreateURLs(ctx, req, callbackurls.Gateway{APIID: "abc123defg", Stage: "v1"})
	if err != nil {
		t.Fatalf("CreateUrls on moto: %v", err)
	}
	u, err := url.Parse(resp.URLs["approve"])
	if err != nil {
		t.Fatal(err)
	}
	data := u.Query().Get("data")
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(data, payload.PrefixEncrypted))
	if err != nil || len(raw) == 0 {
		t.Fatalf("URL %s: %v", resp.URLs["approve"], err)
	}
	gated := raw[0] == payload.ModeKMSHMACGated || raw[0] == payload.ModeKMSGated
	key, err := a.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(create.KeyID)})
	if err != nil {
		t.Fatal(err)
	}
	hmacKey := key.KeyMetadata.KeySpec == kmstypes.KeySpecHmac256
	if want := hmacKey || create.GateKeyID != ""; gated != want {
		t.Errorf("KeyMode %s, an HMAC key %v, GATE_KEY_ID %q: a URL of header mode %d, gated %v; want gated %v", keyMode, hmacKey, create.GateKeyID, raw[0], gated, want)
	}
	p, err := open("ProcessCallbackFunction").Decode(ctx, data)
	if err != nil {
		t.Fatalf("ProcessCallback cannot open CreateUrls' URL: %v", err)
	}
	if p.Target.ID != "gate-check" {
		t.Errorf("opened the task token %q", p.Target.ID)
	}
	t.Logf("KeyMode %s: URLs of header mode %d (gated %v)", keyMode, raw[0], gated)
}

// summarize counts resources by type.
func summarize(created map[string]string) string {
	count := map[string]int{}
	for _, typ := range created {
		count[typ]++
	}
	var parts []string
	for _, typ := range slices.Sorted(maps.Keys(count)) {
		parts = append(parts, fmt.Sprintf("%d %s", count[typ], strings.TrimPrefix(typ, "AWS::")))
	}
	return strings.Join(parts, ", ")
}

// pythonLiteralToJSON: moto keeps the inline policies of a role made by
// CloudFormation as Python's repr of the document ({'Statement': [...]})
// rather than JSON. Its single-quoted strings become JSON strings, True,
// False and None true, false and null; JSON is returned unchanged.
func pythonLiteralToJSON(s string) string {
	if json.Valid([]byte(s)) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'' || c == '"':
			var str strings.Builder
			for i++; i < len(s) && s[i] != c; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				str.WriteByte(s[i])
			}
			q, _ := json.Marshal(str.String())
			b.Write(q)
		case strings.HasPrefix(s[i:], "True"):
			b.WriteString("true")
			i += 3
		case strings.HasPrefix(s[i:], "False"):
			b.WriteString("false")
			i += 4
		case strings.HasPrefix(s[i:], "None"):
			b.WriteString("null")
			i += 3
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// exampleDeployments: each example's template, created on moto against a
// stack of template.yaml whose outputs its parameters take. A variant is
// one row.
var exampleDeployments = []struct {
	template, name string
	params         map[string]string
	onMoto         func(t *testing.T, a *motoAccount) map[string]string
}{
	{template: "examples/activity-worker/template.yaml"},
	{template: "examples/approval-email/template.yaml", name: "SNS"},
	{template: "examples/approval-email/template.yaml", name: "SES", params: map[string]string{"SesSender": "approvals@example.com"}},
	{template: "examples/durable-approval/template.yaml"},
	{template: "examples/no-code-approval/template.yaml"},
	{template: "examples/sqs-callback/template.yaml"},
	{template: "examples/webhook/template.yaml"},
	{template: "examples/webhook/template.yaml", name: "trigger token", onMoto: func(t *testing.T, a *motoAccount) map[string]string {
		return map[string]string{"TriggerTokenSecretArn": a.createSecret(t, "webhook-token")}
	}},
}

// nodeFunctionCalls: what the examples' Node.js functions call, by
// template and function (no Go binary to read the operations from).
var nodeFunctionCalls = map[string]map[string]string{
	"examples/durable-approval/template.yaml/QuorumFunction": {
		"lambda:InvokeFunction":             "CreateUrls (src/index.ts)",
		"ses:SendEmail":                     "the approvers' mail (src/index.ts)",
		"lambda:CheckpointDurableExecution": "the durable execution SDK",
		"lambda:GetDurableExecutionState":   "the durable execution SDK",
	},
}

// exampleSamples fill the examples' parameters that are not the service
// stack's outputs.
var exampleSamples = map[string]string{
	"ApproverEmail": "approver@example.com",
	"Sender":        "approvals@example.com",
	"TriggerUrl":    "https://api.github.com/repos/example/repo/dispatches",
}

// stateMachineCalls: what a state machine's Task states call, by their
// Resource (an activity's ARN needs no permission of the state machine).
var stateMachineCalls = []struct {
	resource *regexp.Regexp
	action   string
}{
	{regexp.MustCompile(`^arn:aws:states:::lambda:invoke(\.waitForTaskToken)?$`), "lambda:InvokeFunction"},
	{regexp.MustCompile(`^arn:aws:states:::sqs:sendMessage(\.waitForTaskToken)?$`), "sqs:SendMessage"},
	{regexp.MustCompile(`^\$\{[A-Za-z0-9]+\}$`), ""}, // a substituted activity ARN
}

// aslCalls reads a state machine definition's Task resources.
func aslCalls(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]string{}
	for _, m := range regexp.MustCompile(`"Resource"\s*:\s*"([^"]+)"`).FindAllStringSubmatch(string(data), -1) {
		known := false
		for _, c := range stateMachineCalls {
			if c.resource.MatchString(m[1]) {
				known = true
				if c.action != "" {
					calls[c.action] = "state " + m[1]
				}
			}
		}
		if !known {
			t.Errorf("%s: Task resource %s: add it to stateMachineCalls", path, m[1])
		}
	}
	return calls
}

// The examples' stacks, created on moto against a service stack.
func TestExampleStacksOnMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the functions and creates stacks on moto")
	}
	a := newMotoAccount(t)
	all := templates(t)
	service := a.create(t, all[0], nil, map[string]string{"EnablePostActions": "true"})
	// The caller policy: both ways of calling CreateUrls, for any caller.
	policyArn := service.outputs["Policy"]
	byName := map[string]samTemplate{}
	for _, tf := range all[1:] {
		byName[tf.name] = tf
		if !slices.ContainsFunc(exampleDeployments, func(e struct {
			template, name string
			params         map[string]string
			onMoto         func(t *testing.T, a *motoAccount) map[string]string
		}) bool {
			return e.template == tf.name
		}) {
			t.Errorf("%s has no row in exampleDeployments", tf.name)
		}
	}
	for _, e := range exampleDeployments {
		t.Run(strings.TrimSuffix(strings.TrimPrefix(e.template, "examples/"), "/template.yaml")+" "+e.name, func(t *testing.T) {
			tf, ok := byName[e.template]
			if !ok {
				t.Fatalf("no template %s", e.template)
			}
			params := map[string]string{}
			for name, p := range section(tf.doc, "Parameters") {
				if _, hasDefault := mapAt(p)["Default"]; hasDefault {
					continue
				}
				if v, ok := service.outputs[name]; ok {
					params[name] = v
				} else if v, ok := exampleSamples[name]; ok {
					params[name] = v
				} else {
					t.Fatalf("parameter %s: neither an output of the service stack nor in exampleSamples", name)
				}
			}
			maps.Copy(params, e.params)
			if e.onMoto != nil {
				maps.Copy(params, e.onMoto(t, a))
			}
			st := a.create(t, tf, nil, params)
			created, missing := st.checkResources(t)
			st.checkOutputs(t)
			allowed := func(g grant) string {
				if g.source == "managed policy "+policyArn {
					return "the service's caller policy (its Policy output) allows both ways of calling CreateUrls"
				}
				return ""
			}
			for id, r := range st.expected.resources() {
				var called map[string]string
				var fn functionConfig
				logGroup := ""
				switch r["Type"] {
				case "AWS::Lambda::Function":
					fn = st.checkFunction(t, a, id)
					if calls, ok := nodeFunctionCalls[tf.name+"/"+id]; ok {
						called = calls
					} else {
						called = calledActions(t, build(t, goFunction{tf: tf, id: id}))
					}
					logGroup = st.logGroupOf(id)
				case "AWS::StepFunctions::StateMachine":
					uri, _ := mapAt(tf.doc, "Resources", id, "Properties")["DefinitionUri"].(string)
					called = aslCalls(t, filepath.Join(tf.dir(), uri))
					fn.Role = st.roleArn(t, a, mapAt(r, "Properties")["RoleArn"])
				default:
					continue
				}
				if _, ok := st.physical[id]; !ok {
					continue
				}
				rep, problems := st.checkRole(t, a, id, fn, called, logGroup, allowed)
				for _, p := range problems {
					t.Errorf("%s: %s", id, p)
				}
				t.Logf("%s: grants %v; calls %v", id, rep.granted, rep.called)
			}
			t.Logf("created %d resources: %s", len(created), summarize(created))
			for _, id := range slices.Sorted(maps.Keys(missing)) {
				t.Logf("not created: %s (%s)", id, missing[id])
			}
		})
	}
}

// logGroupOf returns the name of the stack's log group for a function
// ("/aws/lambda/NAME"), or "".
func (st *motoStack) logGroupOf(id string) string {
	for gid, typ := range st.types {
		if typ == "AWS::Logs::LogGroup" && st.physical[gid] == "/aws/lambda/"+st.physical[id] {
			return st.physical[gid]
		}
	}
	return ""
}

// roleArn resolves an evaluated role reference (<Role.Arn>) to the ARN
// moto gave the role.
func (st *motoStack) roleArn(t *testing.T, a *motoAccount, v any) string {
	t.Helper()
	ref, _ := v.(string)
	id, ok := strings.CutSuffix(strings.TrimPrefix(ref, "<"), ".Arn>")
	if !ok {
		t.Fatalf("role %v is not a role of the stack", v)
	}
	out, err := a.iam.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String(st.physical[id])})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Role.Arn)
}

// The role check finds what it is there to find: an action the code never
// calls, a "*" where a resource works, and logs beyond the function's group.
func TestRoleCheckCatchesMistakes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the functions and creates a stack on moto")
	}
	a := newMotoAccount(t)
	tf := templates(t)[0]
	doc := loadTemplate(t)
	logs := mapAt(resource(t, doc, "ProcessCallbackFunctionRole"), "Properties")["Policies"].([]any)[0]
	mapAt(logs, "PolicyDocument")["Statement"].([]any)[0].(map[string]any)["Resource"] = "*"
	create := mapAt(resource(t, doc, "CreateUrlsFunctionRole"), "Properties")
	create["Policies"] = append(create["Policies"].([]any), map[string]any{
		"PolicyName": "TooMuch",
		"PolicyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{
			map[string]any{"Effect": "Allow", "Action": "kms:Encrypt", "Resource": givenKeyArn},
			map[string]any{"Effect": "Allow", "Action": "kms:GenerateMac", "Resource": "*"},
		}},
	})
	tf.doc = doc
	tf.name += " (mutated)" // its own translation
	st := a.create(t, tf, nil, map[string]string{})
	for id, want := range map[string][]string{
		"CreateUrlsFunction":      {"the code never calls kms:Encrypt", "kms:GenerateMac on * (inline policy TooMuch): a narrower resource works"},
		"ProcessCallbackFunction": {"logs:PutLogEvents on * (inline policy WriteOwnLogs): Lambda needs it only on"},
	} {
		fn := st.checkFunction(t, a, id)
		_, problems := st.checkRole(t, a, id, fn, calledActions(t, build(t, goFunction{tf: tf, id: id})),
			st.physical[strings.TrimSuffix(id, "Function")+"LogGroup"], func(grant) string { return "" })
		for _, w := range want {
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, w) }) {
				t.Errorf("%s: %q not found in %q", id, w, problems)
			}
		}
	}
}
