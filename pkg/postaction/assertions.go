package postaction

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
)

// enum and const are checked by this package, not by the schema library.
// The library returns from an application whose enum or const fails
// before anything else runs, so no meter hears of it; and it compares
// numbers by reading both sides with math/big at every comparison (an enum
// of 100 numbers on each of 20,000 numbers took 16 s). compileSchema moves
// them to these keywords, which the meter's vocabulary checks: each value
// read once, the schema's numbers once at creation, and the work counted
// before it is done.
const (
	enumKeyword  = "\x00sfncb:enum"
	constKeyword = "\x00sfncb:const"
)

// moveAssertions renames enum and const, in every subschema of a schema
// document, to the keywords the meter's vocabulary checks. Where the draft
// ignores them (const before draft-06, any sibling of $ref before
// 2019-09) they are left for the library to ignore.
func moveAssertions(doc any) error {
	draft := 7 // the default, as compileSchema's
	if root, ok := doc.(map[string]any); ok {
		if s, ok := root["$schema"].(string); ok {
			draft = draftOf(s)
		}
	}
	return moveIn(doc, draft)
}

// draftOf is the draft a $schema names (7 when it names none known: the
// library then refuses it).
func draftOf(schema string) int {
	for _, d := range []struct {
		name    string
		version int
	}{{"draft-04", 4}, {"draft-06", 6}, {"draft-07", 7}, {"2019-09", 2019}, {"2020-12", 2020}} {
		if strings.Contains(schema, d.name) {
			return d.version
		}
	}
	return 7
}

// Subschema locations, in every draft the contract honours.
var (
	schemaMembers = []string{"additionalItems", "additionalProperties", "contains", "propertyNames", "not", "if", "then",
		"else", "unevaluatedItems", "unevaluatedProperties", "contentSchema", "items"}
	schemaLists = []string{"allOf", "anyOf", "oneOf", "prefixItems", "items"}
	schemaMaps  = []string{"properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies"}
)

func moveIn(v any, draft int) error {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	for k := range obj {
		if strings.HasPrefix(k, "\x00sfncb:") {
			return fmt.Errorf("the keyword %q is reserved", k)
		}
	}
	if _, ref := obj["$ref"]; !ref || draft >= 2019 {
		if e, ok := obj["enum"]; ok {
			obj[enumKeyword] = e
			delete(obj, "enum")
		}
		if c, ok := obj["const"]; ok && draft >= 6 {
			obj[constKeyword] = c
			delete(obj, "const")
		}
	}
	for _, k := range schemaMembers {
		if err := moveIn(obj[k], draft); err != nil {
			return err
		}
	}
	for _, k := range schemaLists {
		if l, ok := obj[k].([]any); ok {
			for _, sub := range l {
				if err := moveIn(sub, draft); err != nil {
					return err
				}
			}
		}
	}
	for _, k := range schemaMaps {
		if m, ok := obj[k].(map[string]any); ok {
			for _, sub := range m {
				if err := moveIn(sub, draft); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// valueSet is an enum's values (or a const's one): its numbers by value,
// as reduced fractions, the others as they are.
type valueSet struct {
	values  []any
	numbers map[string]bool
	others  []any
}

func newValueSet(values []any) *valueSet {
	s := &valueSet{values: values, numbers: map[string]bool{}}
	for _, v := range values {
		if r := rat(v); r != nil {
			s.numbers[r.RatString()] = true
		} else {
			s.others = append(s.others, v)
		}
	}
	return s
}

// rat is v's value if v is a number.
func rat(v any) *big.Rat {
	if n, ok := v.(json.Number); ok {
		if r, ok := new(big.Rat).SetString(string(n)); ok {
			return r
		}
	}
	return nil
}

// has reports whether v equals one of the values, as JSON Schema compares
// them (numbers by value: 1 is 1.0), counting the work before doing it.
func (s *valueSet) has(v any, m *meter) bool {
	if n, ok := v.(json.Number); ok {
		m.spend(numberWeight * (1 + int64(len(n))/32))
		r := rat(v)
		return r != nil && s.numbers[r.RatString()]
	}
	m.spend(valueWeight * int64(len(s.others)))
	for _, want := range s.others {
		if equal(v, want, m) {
			return true
		}
	}
	return false
}

// equal is JSON equality, numbers by value, counting each value compared.
func equal(a, b any, m *meter) bool {
	m.spend(valueWeight)
	switch a := a.(type) {
	case json.Number:
		b, ok := b.(json.Number)
		if !ok {
			return false
		}
		if a == b {
			return true
		}
		m.spend(2 * numberWeight * (1 + int64(len(a)+len(b))/32))
		x, y := rat(a), rat(b)
		return x != nil && y != nil && x.Cmp(y) == 0
	case string:
		b, ok := b.(string)
		return ok && a == b
	case bool:
		b, ok := b.(bool)
		return ok && a == b
	case nil:
		return b == nil
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !equal(a[i], b[i], m) {
				return false
			}
		}
		return true
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, x := range a {
			y, ok := b[k]
			if !ok || !equal(x, y, m) {
				return false
			}
		}
		return true
	}
	return false
}
