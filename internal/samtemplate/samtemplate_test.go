package samtemplate

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Files are found relative to this package, so the tests run from a fresh
// clone with nothing outside the repository.
var (
	templatePath  = filepath.Join("..", "..", "template.yaml")
	samconfigPath = filepath.Join("..", "..", "samconfig.toml")
	makefilePath  = filepath.Join("..", "..", "Makefile")
	schemaPath    = filepath.Join("..", "..", "testdata", "sam.schema.json")
)

// The two functions and the environment both must see (names kept from the
// reference implementation).
var (
	functionIDs = []string{"CreateUrlsFunction", "ProcessCallbackFunction"}
	requiredEnv = []string{
		"KEY_ID", "DISABLE_ENCRYPTION", "DISABLE_OUTPUT_PARAMETERS",
		"DISABLE_POST_ACTIONS", "VERBOSE", "API_ID", "STAGE",
	}
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

// ---------------------------------------------------------------- schema

func TestTemplateValidatesAgainstSAMSchema(t *testing.T) {
	doc := loadTemplate(t)
	if got := doc["Transform"]; got != "AWS::Serverless-2016-10-31" {
		t.Errorf("Transform = %v", got)
	}
	if err := Validate(samSchema(t), doc); err != nil {
		t.Fatalf("template.yaml does not validate against the SAM schema:\n%v", err)
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
		if rm["Type"] == "AWS::Serverless::Function" {
			if _, hasRole := mapAt(rm, "Properties")["Role"]; !hasRole {
				d.resources[id+"Role"] = true // the generated execution role
			}
		}
	}
	return d
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
	for _, sec := range []string{"Globals", "Conditions", "Resources", "Outputs", "Metadata"} {
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
	doc := loadTemplate(t)
	for _, msg := range undeclared(doc) {
		t.Errorf("undeclared: %s", msg)
	}

	// Everything declared is used: a parameter nobody reads is a knob that
	// does nothing.
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
}

func TestReferenceCheckCatchesMistakes(t *testing.T) {
	text := templateText(t)
	for name, c := range map[string]struct{ old, new string }{
		"Ref":       {"STAGE: !Ref StageName", "STAGE: !Ref StagName"},
		"Sub":       {"${Api}/*/POST/urls", "${Ap1}/*/POST/urls"},
		"GetAtt":    {"!GetAtt CreateUrlsFunction.Arn", "!GetAtt CreateUrlFunction.Arn"},
		"Condition": {"Condition: CreateKey", "Condition: CreatKey"},
		"If":        {"!If [PostActionsEnabled,", "!If [PostActionEnabled,"},
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

// effective returns a function's property with Globals.Function applied
// (maps merge, the function's own value wins otherwise), as SAM does.
func effective(doc map[string]any, fn map[string]any, prop string) any {
	g := mapAt(doc, "Globals", "Function")[prop]
	own, hasOwn := mapAt(fn, "Properties")[prop]
	gm, gIsMap := g.(map[string]any)
	om, oIsMap := own.(map[string]any)
	switch {
	case !hasOwn:
		return g
	case gIsMap && oIsMap:
		return mergeMaps(gm, om)
	default:
		return own
	}
}

func mergeMaps(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if am, ok := out[k].(map[string]any); ok {
			if bm, ok := v.(map[string]any); ok {
				out[k] = mergeMaps(am, bm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

func TestFunctions(t *testing.T) {
	doc := loadTemplate(t)
	for _, id := range functionIDs {
		t.Run(id, func(t *testing.T) {
			fn := resource(t, doc, id)
			if fn["Type"] != "AWS::Serverless::Function" {
				t.Fatalf("Type = %v", fn["Type"])
			}
			for prop, want := range map[string]any{
				"Runtime":       "provided.al2023",
				"Handler":       "bootstrap",
				"Architectures": []any{"arm64"},
				"CodeUri":       ".",
				"MemorySize":    128,
			} {
				if got := effective(doc, fn, prop); !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, want %#v", prop, got, want)
				}
			}
			if timeout, _ := effective(doc, fn, "Timeout").(int); timeout < 1 || timeout > 30 {
				t.Errorf("Timeout = %v, want a short timeout", effective(doc, fn, "Timeout"))
			}
			env := mapAt(effective(doc, fn, "Environment"), "Variables")
			for _, name := range requiredEnv {
				if _, ok := env[name]; !ok {
					t.Errorf("environment variable %s missing", name)
				}
			}
		})
	}
}

func TestEnvironmentValues(t *testing.T) {
	doc := loadTemplate(t)
	env := mapAt(effective(doc, resource(t, doc, "CreateUrlsFunction"), "Environment"), "Variables")
	ref := func(s string) map[string]any { return map[string]any{"Ref": s} }
	ifv := func(c string, a, b any) map[string]any { return map[string]any{"Fn::If": []any{c, a, b}} }
	want := map[string]any{
		"API_ID":                    ref("Api"),
		"STAGE":                     ref("StageName"),
		"VERBOSE":                   ref("VerboseLogging"),
		"DISABLE_ENCRYPTION":        ref("DisableEncryption"),
		"DISABLE_OUTPUT_PARAMETERS": ifv("OutputParametersEnabled", "false", "true"),
		"DISABLE_POST_ACTIONS":      ifv("PostActionsEnabled", "false", "true"),
		"KEY_ID": ifv("CreateKey",
			map[string]any{"Fn::GetAtt": []any{"EncryptionKey", "Arn"}},
			ifv("UseGivenKey", ref("KeyId"), "")),
	}
	for k, w := range want {
		if !reflect.DeepEqual(env[k], w) {
			t.Errorf("%s = %#v, want %#v", k, env[k], w)
		}
	}
}

// sam build runs `make build-<LogicalId>` for BuildMethod: makefile.
func TestMakefileBuildTargets(t *testing.T) {
	doc := loadTemplate(t)
	for _, id := range functionIDs {
		fn := resource(t, doc, id)
		if got := mapAt(fn, "Metadata")["BuildMethod"]; got != "makefile" {
			t.Errorf("%s: Metadata.BuildMethod = %v, want makefile", id, got)
		}
	}
	data, err := os.ReadFile(makefilePath)
	if errors.Is(err, os.ErrNotExist) {
		t.Logf("no Makefile yet: checked the function ids only")
		return
	} else if err != nil {
		t.Fatal(err)
	}
	for _, id := range functionIDs {
		if !strings.Contains(string(data), "build-"+id) {
			t.Errorf("Makefile has no target build-%s", id)
		}
	}
}

// ---------------------------------------------------------------- permissions

// statements returns the IAM statements of a function's Policies, both
// branches of any Fn::If included.
func statements(fn map[string]any) []map[string]any {
	var out []map[string]any
	var walk func(any)
	walk = func(p any) {
		switch x := p.(type) {
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			if a, ok := x["Fn::If"].([]any); ok && len(a) == 3 {
				walk(a[1])
				walk(a[2])
				return
			}
			if ss, ok := x["Statement"].([]any); ok {
				for _, s := range ss {
					if sm, ok := s.(map[string]any); ok {
						out = append(out, sm)
					}
				}
			}
		}
	}
	walk(mapAt(fn, "Properties")["Policies"])
	return out
}

func actions(s map[string]any) []string {
	switch a := s["Action"].(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, e := range a {
			if str, ok := e.(string); ok {
				out = append(out, str)
			}
		}
		return out
	}
	return nil
}

const kmsContextKey = "kms:EncryptionContext:service"

func hasServiceContext(s map[string]any) bool {
	return mapAt(s, "Condition", "StringEquals")[kmsContextKey] == "sfn-callback-urls"
}

func TestPermissions(t *testing.T) {
	doc := loadTemplate(t)
	create := statements(resource(t, doc, "CreateUrlsFunction"))
	process := statements(resource(t, doc, "ProcessCallbackFunction"))

	var createActions, processActions []string
	for _, s := range create {
		createActions = append(createActions, actions(s)...)
	}
	for _, s := range process {
		processActions = append(processActions, actions(s)...)
		if slices.Contains(actions(s), "states:SendTaskSuccess") && s["Resource"] != "*" {
			t.Errorf("Send* actions on %v, want * (task tokens are not resources)", s["Resource"])
		}
	}
	for _, a := range []string{"states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat", "kms:Decrypt"} {
		if !slices.Contains(processActions, a) {
			t.Errorf("ProcessCallbackFunction may not %s", a)
		}
	}
	if !slices.Contains(createActions, "kms:GenerateDataKey") {
		t.Errorf("CreateUrlsFunction may not kms:GenerateDataKey")
	}
	for _, a := range createActions {
		if strings.HasPrefix(a, "states:") || a == "kms:Decrypt" {
			t.Errorf("CreateUrlsFunction needs no %s", a)
		}
	}
	for _, s := range append(create, process...) {
		for _, a := range actions(s) {
			if strings.HasPrefix(a, "kms:") && !hasServiceContext(s) {
				t.Errorf("%s granted without the %s condition", a, kmsContextKey)
			}
		}
	}

	// The created key: the account administers it, and each function's
	// generated role gets exactly its one operation, under the context.
	key := resource(t, doc, "EncryptionKey")
	if key["Type"] != "AWS::KMS::Key" || key["Condition"] != "CreateKey" {
		t.Fatalf("EncryptionKey: Type %v, Condition %v", key["Type"], key["Condition"])
	}
	wantGrant := map[string]string{
		"CreateUrlsFunctionRole":      "kms:GenerateDataKey",
		"ProcessCallbackFunctionRole": "kms:Decrypt",
	}
	rootAdmin := false
	ks, _ := mapAt(key, "Properties", "KeyPolicy")["Statement"].([]any)
	for _, e := range ks {
		s, _ := e.(map[string]any)
		principal := mapAt(s, "Principal")["AWS"]
		if sub, ok := mapAt(principal)["Fn::Sub"].(string); ok && strings.HasSuffix(sub, ":root") {
			rootAdmin = true
			continue
		}
		att, _ := mapAt(principal)["Fn::GetAtt"].([]any)
		if len(att) != 2 {
			t.Errorf("key policy statement %v: unexpected principal %v", s["Sid"], principal)
			continue
		}
		role, _ := att[0].(string)
		want, ok := wantGrant[role]
		if !ok {
			t.Errorf("key policy grants unexpected principal %v", role)
			continue
		}
		if got := actions(s); !reflect.DeepEqual(got, []string{want}) {
			t.Errorf("key policy grants %s %v, want [%s]", role, got, want)
		}
		if !hasServiceContext(s) {
			t.Errorf("key policy grant to %s lacks the %s condition", role, kmsContextKey)
		}
		delete(wantGrant, role)
	}
	if !rootAdmin {
		t.Errorf("key policy does not let the account root administer the key")
	}
	for role := range wantGrant {
		t.Errorf("key policy does not grant %s", role)
	}
}

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

func TestOutputs(t *testing.T) {
	doc := loadTemplate(t)
	outputs := section(doc, "Outputs")
	apiURL, _ := mapAt(outputs, "Api", "Value")["Fn::Sub"].(string)
	if apiURL != "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${StageName}" {
		t.Errorf("Api output = %q", apiURL)
	}
	for _, name := range []string{"Function", "FunctionArn", "KeyArn", "ApiId"} {
		if _, ok := outputs[name]; !ok {
			t.Errorf("output %s missing", name)
		}
	}
}

// ---------------------------------------------------------------- cycles

// dependencies models the resource graph CloudFormation sees after the SAM
// transform: each resource depends on what its properties refer to; a SAM
// function's generated role carries the function's Policies; Globals apply
// to every function; and an Api event makes the API refer to the function.
func dependencies(doc map[string]any) map[string][]string {
	d := declarations(doc)
	deps := map[string][]string{}
	addRefs := func(from string, v any) {
		collectRefs(v, from, func(r reference) {
			if r.kind != "Condition" && d.resources[r.name] {
				deps[from] = append(deps[from], r.name)
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
		props := mapAt(rm, "Properties")
		if rm["Type"] != "AWS::Serverless::Function" {
			addRefs(id, props)
			continue
		}
		addRefs(id, doc["Globals"])
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
	doc := loadTemplate(t)
	if c := findCycle(dependencies(doc)); c != nil {
		t.Fatalf("circular dependency: %s", strings.Join(c, " -> "))
	}

	// The trap the template avoids: an Api event on a function whose
	// environment refers to that API.
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
	deploy := mapAt(cfg, "default", "deploy", "parameters")
	if deploy == nil {
		t.Fatal("[default.deploy.parameters] missing")
	}
	for k, want := range map[string]any{
		"stack_name":        "sfn-callback-urls",
		"resolve_s3":        true,
		"confirm_changeset": true,
	} {
		if deploy[k] != want {
			t.Errorf("default.deploy.parameters.%s = %#v, want %#v", k, deploy[k], want)
		}
	}
	caps, _ := deploy["capabilities"].(string)
	if !slices.Contains(strings.Fields(caps), "CAPABILITY_IAM") {
		t.Errorf("capabilities = %#v, want CAPABILITY_IAM", deploy["capabilities"])
	}
	if mapAt(cfg, "default", "build", "parameters") == nil {
		t.Error("[default.build.parameters] missing")
	}

	// Any parameter override names a template parameter.
	doc := loadTemplate(t)
	if po, ok := deploy["parameter_overrides"].(string); ok {
		for _, kv := range strings.Fields(po) {
			name, _, _ := strings.Cut(kv, "=")
			if _, ok := section(doc, "Parameters")[name]; !ok {
				t.Errorf("parameter_overrides names unknown parameter %s", name)
			}
		}
	}
}
