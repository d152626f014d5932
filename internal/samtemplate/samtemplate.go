// Package samtemplate reads the project's AWS SAM templates (template.yaml
// and each examples/*/template.yaml) and validates them against the
// official SAM JSON Schema (the repository's testdata/sam.schema.json). Its
// tests check the rest offline: references, conditions and cycles; each key
// mode's environment as pkg/config reads it, and its IAM grants; every
// function's Makefile build for linux/arm64 and the variables its code
// reads; cfn-lint and the SAM translation (this package's
// testdata/sam_translate.py), where installed.
//
// CloudFormation templates written in YAML use short-form tags (!Ref, !Sub,
// !GetAtt, ...) that JSON has no way to express; Decode turns them into their
// long form ({"Ref": ...}, {"Fn::Sub": ...}, {"Fn::GetAtt": [res, attr]}) the
// way CloudFormation does, so the result can be checked as JSON.
package samtemplate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// Load reads and decodes a YAML CloudFormation/SAM template.
func Load(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Decode(data)
}

// Decode parses a YAML template into JSON-shaped values (map[string]any,
// []any, string, bool, int, float64, nil), with CloudFormation short-form
// tags converted to their long form. Unknown local tags, malformed short
// forms and duplicate mapping keys are errors.
func Decode(data []byte) (map[string]any, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, err
	}
	if root.Kind == 0 {
		return nil, fmt.Errorf("empty template")
	}
	v, err := convert(&root)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("template is a %T, not a mapping", v)
	}
	return m, nil
}

// shortForms maps each CloudFormation short-form tag to its long-form key.
var shortForms = map[string]string{
	"!Ref":          "Ref",
	"!Condition":    "Condition",
	"!GetAtt":       "Fn::GetAtt",
	"!Sub":          "Fn::Sub",
	"!If":           "Fn::If",
	"!Equals":       "Fn::Equals",
	"!Not":          "Fn::Not",
	"!And":          "Fn::And",
	"!Or":           "Fn::Or",
	"!Join":         "Fn::Join",
	"!Select":       "Fn::Select",
	"!Split":        "Fn::Split",
	"!FindInMap":    "Fn::FindInMap",
	"!Base64":       "Fn::Base64",
	"!Cidr":         "Fn::Cidr",
	"!GetAZs":       "Fn::GetAZs",
	"!ImportValue":  "Fn::ImportValue",
	"!Transform":    "Fn::Transform",
	"!Length":       "Fn::Length",
	"!ToJsonString": "Fn::ToJsonString",
}

func convert(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return convert(n.Content[0])
	case yaml.AliasNode:
		return convert(n.Alias)
	}

	tag := n.Tag
	if strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!") {
		return convertShortForm(n, tag)
	}

	switch n.Kind {
	case yaml.MappingNode:
		return convertMapping(n)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := convert(c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.ScalarNode:
		return convertScalar(n)
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node kind %v", n.Line, n.Kind)
}

func convertMapping(n *yaml.Node) (map[string]any, error) {
	out := make(map[string]any, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, vn := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: mapping key is not a scalar", k.Line)
		}
		if k.Value == "<<" && k.ShortTag() == "!!merge" {
			if err := merge(out, vn); err != nil {
				return nil, err
			}
			continue
		}
		if _, dup := out[k.Value]; dup {
			return nil, fmt.Errorf("line %d: duplicate key %q", k.Line, k.Value)
		}
		v, err := convert(vn)
		if err != nil {
			return nil, err
		}
		out[k.Value] = v
	}
	return out, nil
}

// merge applies a YAML merge key (<<: *alias or a list of them); keys
// already present win.
func merge(out map[string]any, vn *yaml.Node) error {
	srcs := []*yaml.Node{vn}
	if vn.Kind == yaml.SequenceNode {
		srcs = vn.Content
	}
	for _, s := range srcs {
		v, err := convert(s)
		if err != nil {
			return err
		}
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("line %d: merge of a non-mapping", s.Line)
		}
		for k, x := range m {
			if _, ok := out[k]; !ok {
				out[k] = x
			}
		}
	}
	return nil
}

func convertScalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!int", "!!float", "!!bool", "!!null":
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return v, nil
	default:
		// !!str, and !!timestamp (an unquoted 2012-10-17 is a string to
		// CloudFormation), !!binary.
		return n.Value, nil
	}
}

func convertShortForm(n *yaml.Node, tag string) (any, error) {
	key, ok := shortForms[tag]
	if !ok {
		return nil, fmt.Errorf("line %d: unknown tag %s", n.Line, tag)
	}
	// The tagged node's content, read as if untagged: a tagged scalar is
	// always a string (!Ref 123 names "123").
	var arg any
	var err error
	switch n.Kind {
	case yaml.ScalarNode:
		arg = n.Value
	case yaml.SequenceNode:
		plain := *n
		plain.Tag = "!!seq"
		arg, err = convert(&plain)
	case yaml.MappingNode:
		plain := *n
		plain.Tag = "!!map"
		arg, err = convert(&plain)
	default:
		return nil, fmt.Errorf("line %d: %s on a %v node", n.Line, tag, n.Kind)
	}
	if err != nil {
		return nil, err
	}

	list, isList := arg.([]any)
	str, isStr := arg.(string)
	bad := func(want string) error {
		return fmt.Errorf("line %d: %s takes %s", n.Line, tag, want)
	}
	switch tag {
	case "!Ref", "!Condition":
		if !isStr || str == "" {
			return nil, bad("a name")
		}
	case "!GetAtt":
		if isStr {
			res, attr, ok := strings.Cut(str, ".")
			if !ok || res == "" || attr == "" {
				return nil, bad("Resource.Attribute")
			}
			arg = []any{res, attr}
		} else if !isList || len(list) != 2 {
			return nil, bad("Resource.Attribute or [Resource, Attribute]")
		}
	case "!Sub":
		if !isStr && (!isList || len(list) != 2) {
			return nil, bad("a string or [string, {variables}]")
		}
	case "!If":
		if !isList || len(list) != 3 {
			return nil, bad("[condition, value if true, value if false]")
		}
	case "!Equals", "!Join", "!Select", "!Split":
		if !isList || len(list) != 2 {
			return nil, bad("a list of two")
		}
	case "!Not":
		if !isList || len(list) != 1 {
			return nil, bad("a list of one condition")
		}
	case "!And", "!Or":
		if !isList || len(list) < 2 || len(list) > 10 {
			return nil, bad("a list of 2 to 10 conditions")
		}
	case "!FindInMap", "!Cidr":
		if !isList || len(list) != 3 {
			return nil, bad("a list of three")
		}
	}
	return map[string]any{key: arg}, nil
}

// ToJSONValue turns a decoded template into the value form the JSON Schema
// validator expects (numbers as json.Number, and so on).
func ToJSONValue(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(data))
}

// CompileSchema compiles the SAM JSON Schema (draft-04) at path.
func CompileSchema(path string) (*jsonschema.Schema, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4)
	c.UseRegexpEngine(compileRegexp)
	const url = "file:///sam.schema.json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return c.Compile(url)
}

// Validate checks a decoded template against the compiled schema.
func Validate(sch *jsonschema.Schema, template map[string]any) error {
	v, err := ToJSONValue(template)
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

// compileRegexp is the schema's regexp engine. The SAM schema tells other
// resources from AWS::Serverless::* ones with ^(?!AWS::Serverless::).+$, and
// Go's RE2 has no lookahead, so a leading negative lookahead on a simple
// prefix, ^(?!X)REST, is handled here as "does not start with a match of X
// and matches ^REST"; everything else goes to regexp.Compile.
func compileRegexp(pattern string) (jsonschema.Regexp, error) {
	if rest, ok := strings.CutPrefix(pattern, "^(?!"); ok {
		neg, tail, ok := strings.Cut(rest, ")")
		if ok && !strings.ContainsAny(neg, "()") {
			n, err := regexp.Compile("^(?:" + neg + ")")
			if err != nil {
				return nil, err
			}
			t, err := regexp.Compile("^(?:" + tail + ")")
			if err != nil {
				return nil, err
			}
			return lookaheadRegexp{pattern: pattern, neg: n, rest: t}, nil
		}
	}
	return regexp.Compile(pattern)
}

type lookaheadRegexp struct {
	pattern   string
	neg, rest *regexp.Regexp
}

func (r lookaheadRegexp) String() string { return r.pattern }

func (r lookaheadRegexp) MatchString(s string) bool {
	return !r.neg.MatchString(s) && r.rest.MatchString(s)
}
