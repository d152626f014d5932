package samtemplate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Files are found relative to this package, so the tests run from a fresh
// clone with nothing outside the repository.
var (
	repoRoot      = filepath.Join("..", "..")
	templatePath  = filepath.Join(repoRoot, "template.yaml")
	samconfigPath = filepath.Join(repoRoot, "samconfig.toml")
	makefilePath  = filepath.Join(repoRoot, "Makefile")
	schemaPath    = filepath.Join(repoRoot, "testdata", "sam.schema.json")
	// Each example application's template; none is fine.
	exampleTemplates = filepath.Join(repoRoot, "examples", "*", "template.yaml")
)

// modulePath is the Go module every function's code belongs to.
const modulePath = "github.com/sfncallbackurls/sfn-callback-urls"

// The service's two functions (names kept from the reference
// implementation's roles).
var (
	functionIDs      = []string{"CreateUrlsFunction", "ProcessCallbackFunction"}
	pseudoParameters = map[string]bool{
		"AWS::AccountId": true, "AWS::NotificationARNs": true, "AWS::NoValue": true,
		"AWS::Partition": true, "AWS::Region": true, "AWS::StackId": true,
		"AWS::StackName": true, "AWS::URLSuffix": true,
	}
)

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

func samSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	schemaOnce.Do(func() { schema, schemaErr = CompileSchema(schemaPath) })
	if schemaErr != nil {
		t.Fatalf("compile %s: %v", schemaPath, schemaErr)
	}
	return schema
}

// samTemplate is one SAM template of the repository.
type samTemplate struct {
	path string // as opened from this package
	name string // relative to the repository root, for messages
	doc  map[string]any
}

// dir is the template's directory: relative paths in it (CodeUri,
// DefinitionUri, LicenseUrl) start there.
func (s samTemplate) dir() string { return filepath.Dir(s.path) }

// templates returns template.yaml and every example's template.
func templates(t *testing.T) []samTemplate {
	t.Helper()
	paths, err := filepath.Glob(exampleTemplates)
	if err != nil {
		t.Fatal(err)
	}
	paths = append([]string{templatePath}, paths...)
	out := make([]samTemplate, 0, len(paths))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := Decode(data)
		if err != nil {
			t.Fatalf("decode %s: %v", p, err)
		}
		name, _ := filepath.Rel(repoRoot, p)
		out = append(out, samTemplate{path: p, name: filepath.ToSlash(name), doc: doc})
	}
	return out
}

func templateText(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func loadTemplate(t *testing.T) map[string]any {
	t.Helper()
	doc, err := Decode([]byte(templateText(t)))
	if err != nil {
		t.Fatalf("decode %s: %v", templatePath, err)
	}
	return doc
}

func section(doc map[string]any, name string) map[string]any {
	m, _ := doc[name].(map[string]any)
	return m
}

func resource(t *testing.T, doc map[string]any, id string) map[string]any {
	t.Helper()
	r, ok := section(doc, "Resources")[id].(map[string]any)
	if !ok {
		t.Fatalf("resource %s not declared", id)
	}
	return r
}

func mapAt(v any, keys ...string) map[string]any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	m, _ := v.(map[string]any)
	return m
}

// resourcesOfType returns the logical ids of a template's resources of one
// type, sorted.
func resourcesOfType(doc map[string]any, typ string) []string {
	var ids []string
	for id, r := range section(doc, "Resources") {
		if mapAt(r)["Type"] == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// ---------------------------------------------------------------- schema

func TestTemplatesValidateAgainstSAMSchema(t *testing.T) {
	for _, tf := range templates(t) {
		t.Run(tf.name, func(t *testing.T) {
			if got := tf.doc["Transform"]; got != "AWS::Serverless-2016-10-31" {
				t.Errorf("Transform = %v", got)
			}
			if err := Validate(samSchema(t), tf.doc); err != nil {
				t.Fatalf("%s does not validate against the SAM schema:\n%v", tf.name, err)
			}
		})
	}
}

// The schema must be strict enough to fail a misspelt property, or the test
// above could pass on anything.
func TestSchemaRejectsMisspeltProperties(t *testing.T) {
	text := templateText(t)
	cases := []struct {
		name, anchor, insert, want string
	}{
		{
			name:   "function property",
			anchor: "      Description: Create callback URLs for a Step Functions task token\n",
			insert: "      Runtiem: provided.al2023\n",
			want:   "'Runtiem' not allowed",
		},
		{
			name:   "function global",
			anchor: "    MemorySize: 128\n",
			insert: "    Timeuot: 10\n",
			want:   "'Timeuot' not allowed",
		},
		{
			name:   "api property",
			anchor: "      OpenApiVersion: \"3.0.1\"\n",
			insert: "      StageNmae: v2\n",
			want:   "'StageNmae' not allowed",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if strings.Count(text, c.anchor) != 1 {
				t.Fatalf("anchor %q not found exactly once in template.yaml", c.anchor)
			}
			mutated := strings.Replace(text, c.anchor, c.anchor+c.insert, 1)
			doc, err := Decode([]byte(mutated))
			if err != nil {
				t.Fatal(err)
			}
			err = Validate(samSchema(t), doc)
			if err == nil {
				t.Fatal("mutated template validated")
			}
			var ve *jsonschema.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error is %T, want *jsonschema.ValidationError: %v", err, err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error does not mention %s:\n%v", c.want, err)
			}
		})
	}
}

func TestRegexpEngineNegativeLookahead(t *testing.T) {
	re, err := compileRegexp("^(?!AWS::Serverless::).+$")
	if err != nil {
		t.Fatal(err)
	}
	for s, want := range map[string]bool{
		"AWS::KMS::Key":             true,
		"AWS::Lambda::Permission":   true,
		"AWS::Serverless::Function": false,
		"AWS::Serverless::":         false,
		"":                          false,
	} {
		if got := re.MatchString(s); got != want {
			t.Errorf("MatchString(%q) = %v, want %v", s, got, want)
		}
	}
	if _, err := compileRegexp("^[a-z]+$"); err != nil {
		t.Errorf("plain pattern: %v", err)
	}
}

// ---------------------------------------------------------------- decoding

func TestDecodeShortForms(t *testing.T) {
	src := `
A: !Ref Thing
B: !GetAtt Res.Attr.Nested
C: !GetAtt [Res, Attr]
D: !Sub "x-${AWS::Region}"
E: !Sub ["${a}", {a: !Ref P}]
F: !If [Cond, yes, 3]
G: !Equals [!Ref P, ""]
H: !Not [!Condition C1]
I: !And [!Condition C1, !Condition C2]
J: !Or [!Condition C1, !Condition C2]
K: !Join ["", [a, !Ref P]]
L: !Select [0, !GetAZs ""]
M: !Split [",", "a,b"]
N: !FindInMap [Map, !Ref AWS::Region, Key]
O: !Base64 abc
P: !Cidr ["10.0.0.0/16", 4, 8]
Q: !ImportValue Other-Export
R: !Condition C1
S: 2012-10-17
T: [1, 1.5, true, null, "007"]
`
	got, err := Decode([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	ref := func(s string) map[string]any { return map[string]any{"Ref": s} }
	cond := func(s string) map[string]any { return map[string]any{"Condition": s} }
	want := map[string]any{
		"A": ref("Thing"),
		"B": map[string]any{"Fn::GetAtt": []any{"Res", "Attr.Nested"}},
		"C": map[string]any{"Fn::GetAtt": []any{"Res", "Attr"}},
		"D": map[string]any{"Fn::Sub": "x-${AWS::Region}"},
		"E": map[string]any{"Fn::Sub": []any{"${a}", map[string]any{"a": ref("P")}}},
		"F": map[string]any{"Fn::If": []any{"Cond", "yes", 3}},
		"G": map[string]any{"Fn::Equals": []any{ref("P"), ""}},
		"H": map[string]any{"Fn::Not": []any{cond("C1")}},
		"I": map[string]any{"Fn::And": []any{cond("C1"), cond("C2")}},
		"J": map[string]any{"Fn::Or": []any{cond("C1"), cond("C2")}},
		"K": map[string]any{"Fn::Join": []any{"", []any{"a", ref("P")}}},
		"L": map[string]any{"Fn::Select": []any{0, map[string]any{"Fn::GetAZs": ""}}},
		"M": map[string]any{"Fn::Split": []any{",", "a,b"}},
		"N": map[string]any{"Fn::FindInMap": []any{"Map", ref("AWS::Region"), "Key"}},
		"O": map[string]any{"Fn::Base64": "abc"},
		"P": map[string]any{"Fn::Cidr": []any{"10.0.0.0/16", 4, 8}},
		"Q": map[string]any{"Fn::ImportValue": "Other-Export"},
		"R": cond("C1"),
		"S": "2012-10-17",
		"T": []any{1, 1.5, true, nil, "007"},
	}
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("%s = %#v, want %#v", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d keys, want %d", len(got), len(want))
	}
}

func TestDecodeRejects(t *testing.T) {
	for name, src := range map[string]string{
		"unknown tag":   "A: !Reff X\n",
		"getatt no dot": "A: !GetAtt Res\n",
		"if arity":      "A: !If [C, x]\n",
		"not arity":     "A: !Not [!Condition A, !Condition B]\n",
		"ref list":      "A: !Ref [X]\n",
		"duplicate key": "A: 1\nA: 2\n",
	} {
		if _, err := Decode([]byte(src)); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

// ---------------------------------------------------------------- references

// declared lists what a template may refer to: parameters, resources (with
// the resources SAM generates under a fixed name) and conditions.
type declared struct {
	params, resources, conditions map[string]bool
}

func declarations(doc map[string]any) declared {
	d := declared{map[string]bool{}, map[string]bool{}, map[string]bool{}}
	for k := range section(doc, "Parameters") {
		d.params[k] = true
	}
	for k := range section(doc, "Conditions") {
		d.conditions[k] = true
	}
	for id, r := range section(doc, "Resources") {
		d.resources[id] = true
		rm, _ := r.(map[string]any)
		if generatesRole(rm) {
			d.resources[id+"Role"] = true // the generated execution role
		}
		// SAM's references to what it generates for an API: !Ref Api.Stage
		// and !Ref Api.Deployment (the transform resolves them).
		if rm["Type"] == "AWS::Serverless::Api" {
			d.resources[id+".Stage"] = true
			d.resources[id+".Deployment"] = true
		}
	}
	return d
}

// generatesRole reports whether SAM makes a role <LogicalId>Role for the
// resource: functions and state machines without a Role of their own.
func generatesRole(r map[string]any) bool {
	switch r["Type"] {
	case "AWS::Serverless::Function", "AWS::Serverless::StateMachine":
		_, hasRole := mapAt(r, "Properties")["Role"]
		return !hasRole
	}
	return false
}

// reference is one use of a name found in a template.
type reference struct {
	kind string // "Ref", "GetAtt", "Sub", "Condition", "DependsOn"
	name string
	at   string
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

// collectRefs walks v, calling add for every name it refers to. Fn::Sub
// variables declared in its own map are not references.
func collectRefs(v any, at string, add func(reference)) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			collectRefs(e, at, add)
		}
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				switch k {
				case "Ref":
					if s, ok := arg.(string); ok {
						add(reference{"Ref", s, at})
						return
					}
				case "Condition":
					if s, ok := arg.(string); ok {
						add(reference{"Condition", s, at})
						return
					}
				case "Fn::GetAtt":
					switch a := arg.(type) {
					case []any:
						if s, ok := a[0].(string); ok {
							add(reference{"GetAtt", s, at})
						}
						collectRefs(a[1:], at, add)
						return
					case string:
						res, _, _ := strings.Cut(a, ".")
						add(reference{"GetAtt", res, at})
						return
					}
				case "Fn::If":
					if a, ok := arg.([]any); ok && len(a) == 3 {
						if s, ok := a[0].(string); ok {
							add(reference{"Condition", s, at})
						}
						collectRefs(a[1:], at, add)
						return
					}
				case "Fn::Sub":
					str, vars := "", map[string]any{}
					switch a := arg.(type) {
					case string:
						str = a
					case []any:
						if len(a) == 2 {
							str, _ = a[0].(string)
							vars, _ = a[1].(map[string]any)
						}
					}
					for _, m := range subVar.FindAllStringSubmatch(str, -1) {
						name := strings.TrimSpace(m[1])
						if strings.HasPrefix(name, "!") {
							continue // ${!Literal}
						}
						if _, ok := vars[name]; ok {
							continue
						}
						if res, _, isAtt := strings.Cut(name, "."); isAtt {
							add(reference{"GetAtt", res, at})
						} else {
							add(reference{"Sub", name, at})
						}
					}
					collectRefs(vars, at, add)
					return
				}
			}
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			collectRefs(x[k], at+"/"+k, add)
		}
	}
}

// allRefs lists every reference in the template, including the resource
// and output Condition attributes and DependsOn.
func allRefs(doc map[string]any) []reference {
	var refs []reference
	add := func(r reference) { refs = append(refs, r) }
	for _, sec := range []string{"Globals", "Conditions", "Rules", "Resources", "Outputs", "Metadata"} {
		collectRefs(doc[sec], sec, add)
	}
	for _, sec := range []string{"Resources", "Outputs"} {
		for id, r := range section(doc, sec) {
			rm, _ := r.(map[string]any)
			if c, ok := rm["Condition"].(string); ok {
				add(reference{"Condition", c, sec + "/" + id + "/Condition"})
			}
			switch dep := rm["DependsOn"].(type) {
			case string:
				add(reference{"DependsOn", dep, sec + "/" + id})
			case []any:
				for _, e := range dep {
					if s, ok := e.(string); ok {
						add(reference{"DependsOn", s, sec + "/" + id})
					}
				}
			}
		}
	}
	return refs
}

// undeclared returns a message for every reference to a name the template
// does not declare.
func undeclared(doc map[string]any) []string {
	d := declarations(doc)
	var bad []string
	for _, r := range allRefs(doc) {
		ok := false
		switch r.kind {
		case "Ref", "Sub":
			ok = d.params[r.name] || d.resources[r.name] || pseudoParameters[r.name]
		case "GetAtt", "DependsOn":
			ok = d.resources[r.name]
		case "Condition":
			ok = d.conditions[r.name]
		}
		if !ok {
			bad = append(bad, r.kind+" "+r.name+" at "+r.at)
		}
	}
	return bad
}

func TestReferencesAreDeclared(t *testing.T) {
	for _, tf := range templates(t) {
		t.Run(tf.name, func(t *testing.T) {
			doc := tf.doc
			for _, msg := range undeclared(doc) {
				t.Errorf("undeclared: %s", msg)
			}

			// Everything declared is used: a parameter nobody reads is a
			// knob that does nothing.
			used := map[string]bool{}
			for _, r := range allRefs(doc) {
				used[r.kind+":"+r.name] = true
			}
			for p := range section(doc, "Parameters") {
				if !used["Ref:"+p] && !used["Sub:"+p] {
					t.Errorf("parameter %s is never used", p)
				}
			}
			for c := range section(doc, "Conditions") {
				if !used["Condition:"+c] {
					t.Errorf("condition %s is never used", c)
				}
			}
		})
	}
}

func TestReferenceCheckCatchesMistakes(t *testing.T) {
	text := templateText(t)
	for name, c := range map[string]struct{ old, new string }{
		"Ref":       {"STAGE: !Ref StageName", "STAGE: !Ref StagName"},
		"Sub":       {"${Api}/*/POST/urls", "${Ap1}/*/POST/urls"},
		"GetAtt":    {"!GetAtt CreateUrlsFunction.Arn", "!GetAtt CreateUrlFunction.Arn"},
		"Condition": {"Condition: CreateKey", "Condition: CreatKey"},
		"If":        {"!If [CreateHmacKey,", "!If [CreateHmacKy,"},
		"Rule":      {"RuleCondition: !Not [!Equals [!Ref KeyringSecretArn,", "RuleCondition: !Not [!Equals [!Ref KeyringSecretARN,"},
	} {
		if !strings.Contains(text, c.old) {
			t.Fatalf("%s: %q not in template.yaml", name, c.old)
		}
		doc, err := Decode([]byte(strings.Replace(text, c.old, c.new, 1)))
		if err != nil {
			t.Fatal(err)
		}
		if len(undeclared(doc)) == 0 {
			t.Errorf("%s: misspelt name not caught", name)
		}
	}
}

// ---------------------------------------------------------------- functions

// ---------------------------------------------------------------- API

func TestApiRoutes(t *testing.T) {
	doc := loadTemplate(t)
	api := resource(t, doc, "Api")
	if api["Type"] != "AWS::Serverless::Api" {
		t.Fatalf("Api Type = %v", api["Type"])
	}
	props := mapAt(api, "Properties")
	if !reflect.DeepEqual(props["StageName"], map[string]any{"Ref": "StageName"}) {
		t.Errorf("StageName = %#v, want Ref StageName", props["StageName"])
	}
	if d := mapAt(doc, "Parameters", "StageName")["Default"]; d != "v1" {
		t.Errorf("StageName default = %v, want v1", d)
	}

	// Each route's integration names the function by its FunctionName.
	fnName := func(id string) string {
		sub, _ := mapAt(resource(t, doc, id), "Properties", "FunctionName")["Fn::Sub"].(string)
		if sub == "" {
			t.Fatalf("%s has no FunctionName: !Sub ...", id)
		}
		return sub
	}
	routes := []struct {
		path, method, function string
		iam                    bool
	}{
		{"/urls", "post", "CreateUrlsFunction", true},
		{"/respond", "get", "ProcessCallbackFunction", false},
		{"/respond", "post", "ProcessCallbackFunction", false},
		{"/respond", "head", "ProcessCallbackFunction", false},
		// Sign-in and receipts (issue 17).
		{"/oidc/start", "get", "ProcessCallbackFunction", false},
		{"/oidc/callback", "get", "ProcessCallbackFunction", false},
		{"/oidc/signout", "post", "ProcessCallbackFunction", false},
		{"/.well-known/jwks.json", "get", "ProcessCallbackFunction", false},
		// Slack's clicks (issue 19): Slack's signature, not IAM.
		{"/slack/interactions", "post", "ProcessCallbackFunction", false},
	}
	paths := mapAt(props, "DefinitionBody", "paths")
	count := 0
	for _, ops := range paths {
		count += len(mapAt(ops))
	}
	if count != len(routes) {
		t.Errorf("DefinitionBody declares %d operations, want %d", count, len(routes))
	}
	for _, r := range routes {
		op := mapAt(paths, r.path, r.method)
		if op == nil {
			t.Errorf("%s %s not declared", strings.ToUpper(r.method), r.path)
			continue
		}
		integ := mapAt(op, "x-amazon-apigateway-integration")
		if integ["type"] != "aws_proxy" || integ["httpMethod"] != "POST" {
			t.Errorf("%s %s: integration %v/%v, want aws_proxy/POST", r.method, r.path, integ["type"], integ["httpMethod"])
		}
		uri, _ := mapAt(integ, "uri")["Fn::Sub"].(string)
		if !strings.HasSuffix(uri, ":function:"+fnName(r.function)+"/invocations") {
			t.Errorf("%s %s: integration uri %q does not name %s", r.method, r.path, uri, r.function)
		}
		_, secured := op["security"]
		if secured != r.iam {
			t.Errorf("%s %s: security present = %v, want %v", r.method, r.path, secured, r.iam)
		}
		if r.iam {
			scheme := mapAt(props, "DefinitionBody", "components", "securitySchemes", "sigv4")
			if scheme["x-amazon-apigateway-authtype"] != "awsSigv4" {
				t.Errorf("sigv4 security scheme is %v", scheme)
			}
		}
	}

	// API Gateway may invoke each function.
	for _, id := range functionIDs {
		found := false
		for _, r := range section(doc, "Resources") {
			rm, _ := r.(map[string]any)
			p := mapAt(rm, "Properties")
			if rm["Type"] == "AWS::Lambda::Permission" &&
				reflect.DeepEqual(p["FunctionName"], map[string]any{"Ref": id}) &&
				p["Principal"] == "apigateway.amazonaws.com" && p["Action"] == "lambda:InvokeFunction" {
				found = true
			}
		}
		if !found {
			t.Errorf("no AWS::Lambda::Permission lets API Gateway invoke %s", id)
		}
	}
}

// ---------------------------------------------------------------- cycles

// dependencies models the resource graph CloudFormation sees after the SAM
// transform: each resource depends on what its properties and metadata
// refer to; a SAM function's or state machine's generated role carries its
// Policies; Globals apply to every function; and an Api event makes the
// API refer to the function. (TestSAMTranslation checks the translated
// graph itself where the translator is installed.)
func dependencies(doc map[string]any) map[string][]string {
	d := declarations(doc)
	deps := map[string][]string{}
	addRefs := func(from string, v any) {
		collectRefs(v, from, func(r reference) {
			if r.kind != "Condition" && d.resources[r.name] {
				// Api.Stage is generated with the API: an edge to the API.
				name, _, _ := strings.Cut(r.name, ".")
				deps[from] = append(deps[from], name)
			}
		})
	}
	for id, r := range section(doc, "Resources") {
		rm, _ := r.(map[string]any)
		// Keep edges other resources added to id already (an Api event
		// adds Api -> function while the function is visited).
		if _, ok := deps[id]; !ok {
			deps[id] = nil
		}
		switch dep := rm["DependsOn"].(type) {
		case string:
			deps[id] = append(deps[id], dep)
		case []any:
			for _, e := range dep {
				if s, ok := e.(string); ok {
					deps[id] = append(deps[id], s)
				}
			}
		}
		// A reference in Metadata orders resources too (template.yaml's
		// ApiAccessLogGroup relies on it).
		addRefs(id, rm["Metadata"])
		props := mapAt(rm, "Properties")
		switch rm["Type"] {
		case "AWS::Serverless::Function":
			addRefs(id, doc["Globals"])
		case "AWS::Serverless::StateMachine":
		default:
			addRefs(id, props)
			continue
		}
		for k, v := range props {
			if k == "Policies" && d.resources[id+"Role"] {
				addRefs(id+"Role", v)
				continue
			}
			addRefs(id, v)
		}
		if d.resources[id+"Role"] {
			deps[id] = append(deps[id], id+"Role")
		}
		for _, ev := range mapAt(props, "Events") {
			em := mapAt(ev)
			if em["Type"] != "Api" {
				continue
			}
			if api, ok := mapAt(em, "Properties", "RestApiId")["Ref"].(string); ok {
				deps[api] = append(deps[api], id)
			}
		}
	}
	return deps
}

// findCycle returns one dependency cycle, or nil.
func findCycle(deps map[string][]string) []string {
	const (
		unseen = iota
		active
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(string) []string
	visit = func(n string) []string {
		state[n] = active
		stack = append(stack, n)
		for _, m := range deps[n] {
			switch state[m] {
			case active:
				i := slices.Index(stack, m)
				return append(slices.Clone(stack[i:]), m)
			case unseen:
				if c := visit(m); c != nil {
					return c
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
		return nil
	}
	names := make([]string, 0, len(deps))
	for n := range deps {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if state[n] == unseen {
			if c := visit(n); c != nil {
				return c
			}
		}
	}
	return nil
}

func TestNoCircularDependencies(t *testing.T) {
	for _, tf := range templates(t) {
		t.Run(tf.name, func(t *testing.T) {
			if c := findCycle(dependencies(tf.doc)); c != nil {
				t.Fatalf("circular dependency: %s", strings.Join(c, " -> "))
			}
		})
	}

	// The trap template.yaml avoids: an Api event on a function whose
	// environment refers to that API.
	doc := loadTemplate(t)
	fn := resource(t, doc, "CreateUrlsFunction")
	mapAt(fn, "Properties")["Events"] = map[string]any{
		"CreateUrls": map[string]any{
			"Type": "Api",
			"Properties": map[string]any{
				"RestApiId": map[string]any{"Ref": "Api"},
				"Path":      "/urls",
				"Method":    "post",
			},
		},
	}
	if findCycle(dependencies(doc)) == nil {
		t.Fatal("cycle check missed Api -> CreateUrlsFunction -> Api")
	}
}

// ---------------------------------------------------------------- samconfig

func TestSamconfig(t *testing.T) {
	var cfg map[string]any
	if _, err := toml.DecodeFile(samconfigPath, &cfg); err != nil {
		t.Fatalf("parse %s: %v", samconfigPath, err)
	}
	if v, ok := cfg["version"].(float64); !ok || v != 0.1 {
		t.Errorf("version = %#v, want 0.1", cfg["version"])
	}
	if got := mapAt(cfg, "default", "global", "parameters")["stack_name"]; got != "sfn-callback-urls" {
		t.Errorf("default.global.parameters.stack_name = %#v, want sfn-callback-urls", got)
	}
	deploy := mapAt(cfg, "default", "deploy", "parameters")
	if deploy == nil {
		t.Fatal("[default.deploy.parameters] missing")
	}
	for k, want := range map[string]any{
		"resolve_s3":        true,
		"confirm_changeset": true,
	} {
		if deploy[k] != want {
			t.Errorf("default.deploy.parameters.%s = %#v, want %#v", k, deploy[k], want)
		}
	}
	// The template makes roles without names and nothing that needs more.
	if caps, _ := deploy["capabilities"].(string); caps != "CAPABILITY_IAM" {
		t.Errorf("capabilities = %#v, want CAPABILITY_IAM", deploy["capabilities"])
	}
	if mapAt(cfg, "default", "build", "parameters") == nil {
		t.Error("[default.build.parameters] missing")
	}

	// Any parameter override, and the commented example of one, names a
	// template parameter with a value it accepts.
	doc := loadTemplate(t)
	overrides := []string{}
	if po, ok := deploy["parameter_overrides"].(string); ok {
		overrides = append(overrides, po)
	}
	text, err := os.ReadFile(samconfigPath)
	if err != nil {
		t.Fatal(err)
	}
	commented := regexp.MustCompile(`(?m)^#\s*parameter_overrides\s*=\s*"([^"]*)"`).FindAllSubmatch(text, -1)
	if len(commented) == 0 {
		t.Error("samconfig.toml shows no example parameter_overrides")
	}
	for _, m := range commented {
		overrides = append(overrides, string(m[1]))
	}
	for _, po := range overrides {
		for _, kv := range strings.Fields(po) {
			name, value, _ := strings.Cut(kv, "=")
			if err := checkParameter(doc, name, value); err != nil {
				t.Errorf("parameter_overrides %q: %v", po, err)
			}
		}
	}
}

// samconfigSince: the first SAM CLI release that reads each setting
// samconfig.toml uses ("command.key"), from the SAM CLI's sources and
// release tags (docs/DEPLOY.md, "SAM CLI version").
var samconfigSince = map[string]string{
	"global.stack_name":              "1.21.0", // the global section
	"build.cached":                   "1.9.0",
	"build.parallel":                 "1.9.0",
	"build.build_in_source":          "1.104.0",
	"validate.lint":                  "1.69.0",
	"deploy.capabilities":            "0.33.1", // samconfig.toml itself
	"deploy.confirm_changeset":       "0.33.1",
	"deploy.fail_on_empty_changeset": "0.33.1",
	"deploy.resolve_s3":              "1.2.0",
	"deploy.s3_prefix":               "0.31.0",
	"deploy.parameter_overrides":     "0.33.1",
}

// Every setting of samconfig.toml has its first release in samconfigSince,
// and the minimum version the file and docs/DEPLOY.md state is the latest.
func TestSamconfigMinimumVersion(t *testing.T) {
	var cfg map[string]any
	if _, err := toml.DecodeFile(samconfigPath, &cfg); err != nil {
		t.Fatal(err)
	}
	latest := "0.0.0"
	newer := func(a, b string) bool {
		pa, pb := strings.Split(a, "."), strings.Split(b, ".")
		for i := range pa {
			x, _ := strconv.Atoi(pa[i])
			y, _ := strconv.Atoi(pb[i])
			if x != y {
				return x > y
			}
		}
		return false
	}
	for cmd := range mapAt(cfg, "default") {
		for key := range mapAt(cfg, "default", cmd, "parameters") {
			since, ok := samconfigSince[cmd+"."+key]
			if !ok {
				t.Errorf("samconfig.toml sets %s.%s: find the SAM CLI release that brought it and add it to samconfigSince and docs/DEPLOY.md", cmd, key)
				continue
			}
			if newer(since, latest) {
				latest = since
			}
		}
	}
	text, err := os.ReadFile(samconfigPath)
	if err != nil {
		t.Fatal(err)
	}
	if want := "SAM CLI " + latest + " or later"; !strings.Contains(string(text), want) {
		t.Errorf("samconfig.toml does not say %q", want)
	}
	doc, err := os.ReadFile(filepath.Join(repoRoot, "docs", "DEPLOY.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "SAM CLI "+latest+"** or later") {
		t.Errorf("docs/DEPLOY.md does not say SAM CLI %s or later", latest)
	}
}

// ---------------------------------------------------------------- artefacts

// The local paths `sam build` and `sam package` read exist: code
// directories, state machine definitions, API definitions.
func TestLocalArtefactsExist(t *testing.T) {
	props := map[string]string{
		"AWS::Serverless::Function":     "CodeUri",
		"AWS::Serverless::StateMachine": "DefinitionUri",
		"AWS::Serverless::Api":          "DefinitionUri",
		"AWS::Serverless::HttpApi":      "DefinitionUri",
		"AWS::Serverless::LayerVersion": "ContentUri",
	}
	for _, tf := range templates(t) {
		t.Run(tf.name, func(t *testing.T) {
			for id, r := range section(tf.doc, "Resources") {
				rm := mapAt(r)
				prop, ok := props[fmt.Sprint(rm["Type"])]
				if !ok {
					continue
				}
				v := mapAt(rm, "Properties")[prop]
				if rm["Type"] == "AWS::Serverless::Function" {
					v = effective(tf.doc, rm, prop)
				}
				p, ok := v.(string)
				if !ok || strings.HasPrefix(p, "s3://") || strings.HasPrefix(p, "https://") {
					continue
				}
				if _, err := os.Stat(filepath.Join(tf.dir(), p)); err != nil {
					t.Errorf("%s %s: %v", id, prop, err)
				}
			}
		})
	}
}
