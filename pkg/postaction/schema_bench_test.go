package postaction

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// benchSchemas are representative outcome schemas and bodies: what a
// webhook's outcomes look like, in the drafts people write.
var benchSchemas = []struct {
	name, schema, body string
	match              bool
}{
	{
		name:   "status and nested object (draft-07)",
		schema: `{"type": "object", "required": ["status", "build"], "properties": {"status": {"const": "passed"}, "build": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "pattern": "^b-[0-9]+$"}}}}}`,
		body:   `{"status": "passed", "build": {"id": "b-4242", "url": "https://ci.example.com/b/4242", "duration": 312.5}}`,
		match:  true,
	},
	{
		name:   "no match (draft-07)",
		schema: `{"type": "object", "required": ["status", "build"], "properties": {"status": {"const": "passed"}, "build": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "pattern": "^b-[0-9]+$"}}}}}`,
		body:   `{"status": "failed", "build": {"id": "x"}}`,
	},
	{
		name:   "enum and formats (draft-07)",
		schema: `{"type": "object", "required": ["decision", "by", "at"], "properties": {"decision": {"enum": ["approve", "reject", "defer"]}, "by": {"type": "string", "format": "email"}, "at": {"type": "string", "format": "date-time"}, "note": {"type": "string", "maxLength": 500}}}`,
		body:   `{"decision": "approve", "by": "jane.doe@example.com", "at": "2026-03-01T12:34:56Z", "note": "fine by me"}`,
		match:  true,
	},
	{
		name:   "oneOf and exclusiveMinimum (draft-04)",
		schema: `{"$schema": "http://json-schema.org/draft-04/schema#", "oneOf": [{"type": "object", "required": ["approved"]}, {"type": "object", "required": ["rejected"]}], "properties": {"amount": {"type": "number", "minimum": 0, "exclusiveMinimum": true}}}`,
		body:   `{"approved": true, "amount": 125.5}`,
		match:  true,
	},
	{
		name:   "$defs, $ref and 50 items (2020-12)",
		schema: `{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "required": ["items"], "properties": {"items": {"type": "array", "maxItems": 100, "items": {"$ref": "#/$defs/item"}}}, "$defs": {"item": {"type": "object", "required": ["sku", "qty"], "properties": {"sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"}, "qty": {"type": "integer", "minimum": 1}}, "additionalProperties": false}}}`,
		body:   `{"items": [` + strings.TrimSuffix(strings.Repeat(`{"sku": "ABC-1234", "qty": 3},`, 50), ",") + `]}`,
		match:  true,
	},
}

// BenchmarkSchemas: a callback's validation of a body (Select with one
// outcome and no JSONPath: decoding the body and validating it), and the
// compilation of the schema a process does on its first use of a URL.
func BenchmarkSchemas(b *testing.B) {
	for _, s := range benchSchemas {
		outcomes := json.RawMessage(fmt.Sprintf(`[{"name": "a", "type": "heartbeat", "schema": %s}]`, s.schema))
		body := []byte(s.body)
		b.Run("select/"+s.name, func(b *testing.B) {
			e := New()
			stored := mustCompile(b, e, string(outcomes))
			if _, err := e.Select(stored, body); (err == nil) != s.match {
				b.Fatalf("Select = %v, want a match %t", err, s.match)
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				_, _ = e.Select(stored, body)
			}
		})
		b.Run("compile/"+s.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := New().Compile(outcomes); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
