package postaction

import (
	"bytes"
	"fmt"
	"regexp/syntax"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/theory/jsonpath"
	"github.com/theory/jsonpath/registry"
	"github.com/theory/jsonpath/spec"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/text"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// compileSchema compiles one outcome's schema on its own, so that no
// schema can reach another URL's. Its $schema picks the draft (draft-07
// when absent, the reference's default); references resolve only within
// the schema and to the standard meta-schemas the library embeds. Its
// regular expressions are bounded and metered, and so are its
// applications (cost.go).
func compileSchema(raw []byte, m *meter) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	if depth, refs := schemaShape(doc, 0); depth > MaxSchemaDepth {
		return nil, fmt.Errorf("the schema is nested %d levels deep, more than the %d allowed", depth, MaxSchemaDepth)
	} else if refs > MaxSchemaRefs {
		return nil, fmt.Errorf("the schema has %d references ($ref, $dynamicRef, $recursiveRef), more than the %d allowed", refs, MaxSchemaRefs)
	}
	if err := moveAssertions(doc); err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.UseLoader(refuseLoader{})
	c.UseRegexpEngine(m.regexpEngine)
	c.RegisterVocabulary(m.vocabulary())
	// Without it, drafts 2019-09 and 2020-12 apply only the vocabularies
	// their meta-schema names, and the meter would not run.
	c.AssertVocabs()
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, err
	}
	return c.Compile(schemaURL)
}

// schemaReason is reason for a schema's compilation error, cut to this
// package's own words when a bound on regular expressions refused it (the
// library reports that inside its meta-schema check).
func schemaReason(err error) string {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	i := strings.Index(msg, "the regular expression ")
	if i < 0 {
		return reason(err)
	}
	where := ""
	if j := strings.LastIndex(msg[:i], "at '"); j >= 0 {
		if k := strings.IndexByte(msg[j+4:], '\''); k >= 0 {
			where = "at " + msg[j+4:j+4+k] + ": "
		}
	}
	return text.Truncate(where+msg[i:], maxReasonLength)
}

// schemaShape is the nesting depth of a schema document (arrays and
// objects) and its number of references.
func schemaShape(v any, level int) (depth, refs int) {
	depth = level
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if k == "$ref" || k == "$dynamicRef" || k == "$recursiveRef" {
				refs++
			}
			d, r := schemaShape(x, level+1)
			depth, refs = max(depth, d), refs+r
		}
	case []any:
		for _, x := range v {
			d, r := schemaShape(x, level+1)
			depth, refs = max(depth, d), refs+r
		}
	}
	return depth, refs
}

// refuseLoader loads nothing: a schema comes from whoever creates URLs, and
// following its $ref to a URL or a file would let them make the service
// fetch from the network or read local files.
type refuseLoader struct{}

func (refuseLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("references outside the schema are not loaded (%s): put definitions in the schema itself", url)
}

// pathParser holds the RFC 9535 function extensions (length, count, value,
// match, search) and nothing else: expressions are parsed with it first, so
// that their errors are in the words the user wrote.
var pathParser = jsonpath.NewParser()

// regexFunctionPrefix renames match and search in an expression to the
// functions compilePath registers for it: the library's own compile their
// pattern again at every node they test (7 calls over 1,000 values took 20
// s) and read match's pattern unanchored past an alternation ("a|b"
// matched "xb").
const regexFunctionPrefix = "regex_"

// compilePath parses an RFC 9535 JSONPath expression within bounds. Its
// match() and search() patterns are compiled once, bounded, and metered
// when they run (cost.go).
func compilePath(i int, name, field, expr string, m *meter) (*jsonpath.Path, error) {
	bad := func(format string, args ...any) error {
		return callbackurls.Errorf(callbackurls.CodeInvalidJSONPath, "outcomes[%d] (%s): %s %q %s",
			i, name, field, text.Truncate(expr, 80), fmt.Sprintf(format, args...))
	}
	if len(expr) > MaxPathLength {
		return nil, bad("is longer than %d bytes", MaxPathLength)
	}
	p, err := pathParser.Parse(expr)
	if err != nil {
		msg := "is not an RFC 9535 JSONPath expression: " + reason(err)
		if !strings.HasPrefix(strings.TrimSpace(expr), "$") {
			msg += " (expressions start with $, as in $.field)"
		}
		return nil, bad("%s", msg)
	}
	a, err := analyzePath(expr)
	if err != nil {
		return nil, bad("%s", err)
	}
	if len(a.regexCalls) == 0 {
		return p, nil
	}
	var patternErr error
	reg := registry.New()
	for _, f := range []struct {
		name     string
		anchored bool
	}{{"match", true}, {"search", false}} {
		patterns := map[string]*pattern{}
		validate := func(args []spec.FuncExprArg) error {
			if len(args) != 2 || !args[0].ConvertsTo(spec.FuncValue) {
				return fmt.Errorf("takes a value and a pattern")
			}
			var s string
			lit, ok := args[1].(*spec.LiteralArg)
			if ok {
				s, ok = lit.Value().(string)
			}
			if !ok {
				return fmt.Errorf("takes a string literal as its pattern")
			}
			if _, done := patterns[s]; done {
				return nil
			}
			p, err := compileIRegexp(s, f.anchored, m)
			if err != nil {
				patternErr = fmt.Errorf("%s(): %w", f.name, err)
				return err
			}
			patterns[s] = p
			return nil
		}
		evaluate := func(args []spec.PathValue) spec.PathValue {
			v, ok := spec.ValueFrom(args[0]).Value().(string)
			if !ok {
				return spec.LogicalFalse
			}
			r, _ := spec.ValueFrom(args[1]).Value().(string)
			p := patterns[r]
			m.spend(functionWeight)
			return spec.Logical(p != nil && p.MatchString(v))
		}
		if err := reg.Register(regexFunctionPrefix+f.name, spec.FuncLogical, validate, evaluate); err != nil {
			return nil, err
		}
	}
	p, err = jsonpath.NewParser(jsonpath.WithRegistry(reg)).Parse(a.rewrite())
	switch {
	case patternErr != nil:
		return nil, bad("%s", patternErr)
	case err != nil:
		return nil, bad("cannot be compiled: %s", reason(err))
	}
	return p, nil
}

// compileIRegexp compiles an RFC 9485 I-Regexp as RFC 9535's match()
// (the whole string) or search() (any substring) reads it: "." is any
// character but a line break.
func compileIRegexp(expr string, anchored bool, m *meter) (*pattern, error) {
	flavour := "search:"
	if anchored {
		flavour = "match:"
	}
	return m.pattern(flavour, expr, func(re *syntax.Regexp) string {
		dotNotNL(re)
		s := re.String()
		if anchored {
			s = `\A(?:` + s + `)\z`
		}
		return s
	})
}

// notNL is "[^\n\r]", what "." means in an I-Regexp.
var notNL, _ = syntax.Parse(`[^\n\r]`, syntax.Perl)

func dotNotNL(re *syntax.Regexp) {
	if re.Op == syntax.OpAnyChar || re.Op == syntax.OpAnyCharNotNL {
		*re = *notNL
		return
	}
	for _, sub := range re.Sub {
		dotNotNL(sub)
	}
}
