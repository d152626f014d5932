// Package postaction evaluates post actions, the webhook form of a callback
// URL: the POSTed JSON body picks the first outcome whose JSON Schema
// accepts it, and JSONPath expressions may copy parts of the body into the
// output, error or cause sent to Step Functions.
//
// Schemas are compiled with github.com/santhosh-tekuri/jsonschema/v6
// ($schema honoured, draft-07 when absent, as the reference's Python
// jsonschema did; no $ref is ever loaded from the network or the file
// system). Paths are RFC 9535 JSONPath, compiled with
// github.com/theory/jsonpath. Both are checked when the URL is created, and
// compiled forms are cached so that a warm callback compiles nothing.
//
// The work of a callback is bounded (cost.go): what schemas and paths may
// cost is checked when they are compiled, and a callback's work is
// counted as it is done, within WorkBudget.
package postaction

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/theory/jsonpath"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/text"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// Limits. They bound what one URL can make a callback do: the outcome list
// travels in the URL and the body is untrusted.
const (
	MaxOutcomes       = 32       // outcomes per post action
	MaxOutcomesBytes  = 64 << 10 // the outcome list as sent to CreateUrls
	MaxSchemaBytes    = 32 << 10 // one schema, compacted
	MaxSchemaDepth    = 32       // the nesting of one schema's JSON (arrays and objects)
	MaxSchemaRefs     = 64       // references in one schema ($ref, $dynamicRef, $recursiveRef)
	MaxPathLength     = 512      // one JSONPath expression, in bytes
	MaxDescendants    = 2        // ".." segments in one expression
	MaxBodyDepth      = 64       // nesting of the POSTed body
	MaxBodyValues     = 10000    // values in a body (every element and member counts)
	MaxPathValues     = MaxBodyValues
	MaxNumberDigits   = 100 // digits of a number in a body
	MaxNumberExponent = 400 // the exponent of a number in a body, either sign (float64's is 308)
	CacheSize         = 256 // compiled outcome lists kept
	maxSelectedBytes  = callbackurls.MaxOutputBytes
	maxReasonLength   = 300 // of a library's error text in our messages
	schemaURL         = "https://outcome.invalid/schema.json"
)

// Evaluator implements callbackurls.PostActions. It is safe for concurrent
// use.
type Evaluator struct {
	cache *cache
}

var _ callbackurls.PostActions = (*Evaluator)(nil)

// New returns an Evaluator with an empty cache.
func New() *Evaluator {
	return &Evaluator{cache: newCache(CacheSize)}
}

// Compile checks an outcome list and returns its stored form: the same
// list, compacted, with only the fields that matter for each outcome's type.
func (e *Evaluator) Compile(outcomes json.RawMessage) (json.RawMessage, error) {
	list, err := parseOutcomes(outcomes)
	if err != nil {
		return nil, err
	}
	stored, err := list.outcomes.marshal()
	if err != nil {
		return nil, err
	}
	e.cache.put(sha256.Sum256(stored), list)
	return stored, nil
}

// Check holds a stored outcome list to Compile's limits (a URL's, when it
// is opened): from the cache when it was compiled before, else compiled
// now and cached.
func (e *Evaluator) Check(stored json.RawMessage) error {
	_, err := e.compiled(stored)
	return err
}

// Select picks the first outcome whose schema accepts body and computes what
// to send. The caller has checked that body is one JSON document within
// callbackurls.MaxPostBodyBytes.
func (e *Evaluator) Select(stored json.RawMessage, body []byte) (*callbackurls.PostOutcome, error) {
	c, err := e.compiled(stored)
	if err != nil {
		return nil, err
	}
	depth, values, digits, exponent := shape(body)
	switch {
	case digits > MaxNumberDigits || exponent > MaxNumberExponent:
		return nil, callbackurls.Errorf(callbackurls.CodeInvalidPostActionBody,
			"the body has a number with %d digits or an exponent of %d: a post action reads numbers of at most %d digits and exponents up to %d",
			digits, exponent, MaxNumberDigits, MaxNumberExponent)
	case depth > MaxBodyDepth:
		return nil, callbackurls.Errorf(callbackurls.CodeInvalidPostActionBody,
			"the body is nested deeper than %d levels", MaxBodyDepth)
	case values > MaxBodyValues:
		return nil, callbackurls.Errorf(callbackurls.CodeInvalidPostActionBody,
			"the body has about %d values, more than the %d a post action reads (every element and member counts)", values, MaxBodyValues)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return nil, callbackurls.Errorf(callbackurls.CodeInvalidPostActionBody, "the body is not valid JSON")
	}
	return c.selectOutcome(body, doc, values, depth)
}

// selectOutcome is Select on a compiled list, its meter running.
func (c *compiledList) selectOutcome(body []byte, doc any, values, depth int) (out *callbackurls.PostOutcome, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.meter.start(WorkBudget)
	defer func() {
		c.meter.stop()
		if r := recover(); r != nil {
			if _, ok := r.(overBudget); !ok {
				panic(r)
			}
			out, err = nil, callbackurls.Errorf(callbackurls.CodeInvalidPostActionBody,
				"checking this body against the post action's outcomes takes more work than a callback may do "+
					"(%d units; see the limits in docs/SECURITY.md): send a smaller body", WorkBudget)
		}
	}()
	for i := range c.outcomes {
		o := &c.outcomes[i]
		if o.schema.Validate(doc) != nil {
			continue
		}
		if o.usesPaths() && values > MaxPathValues {
			return nil, callbackurls.Errorf(callbackurls.CodeInvalidPostActionBody,
				"the body has about %d values; outcome %s reads it with JSONPath, which is limited to %d", values, o.name, MaxPathValues)
		}
		return o.result(body, doc, &bodyShape{values: values, depth: depth, m: &c.meter})
	}
	return nil, callbackurls.Errorf(callbackurls.CodeInvalidPostActionBody,
		"the body matches none of the post action's outcomes (%d schemas tried)", len(c.outcomes))
}

// compiled returns the compiled form of a stored outcome list, from the
// cache when it can.
func (e *Evaluator) compiled(stored json.RawMessage) (*compiledList, error) {
	key := sha256.Sum256(stored)
	if list, ok := e.cache.get(key); ok {
		return list, nil
	}
	list, err := parseOutcomes(stored)
	if err != nil {
		// Compile accepted it, so a newer library or a changed limit
		// disagrees: the URL cannot be used any more.
		msg := "the URL's post action outcomes cannot be used"
		if ae, ok := err.(*callbackurls.Error); ok {
			msg += ": " + ae.Message
		}
		return nil, callbackurls.Errorf(callbackurls.CodeInvalidPayload, "%s", msg)
	}
	e.cache.put(key, list)
	return list, nil
}

// usesPaths reports whether the outcome evaluates JSONPath. Evaluation
// costs microseconds per value visited (match() and search() compile their
// regular expression at every node), so such bodies are bounded by their
// number of values, not only by their size.
func (o *outcome) usesPaths() bool {
	return o.outputPath != nil || o.errorPath != nil || o.causePath != nil
}

// result is what a selected outcome sends for body (doc is body decoded).
func (o *outcome) result(body []byte, doc any, b *bodyShape) (*callbackurls.PostOutcome, error) {
	r := &callbackurls.PostOutcome{Name: o.name, Type: o.typ, Error: o.errCode, Cause: o.cause}
	if o.response != nil {
		spec := *o.response // callers may change their copy
		r.Response = &spec
	}
	spec := o.typ.Spec()
	if spec.Output {
		switch {
		case o.outputBody:
			var buf bytes.Buffer
			if err := json.Compact(&buf, body); err != nil {
				return nil, callbackurls.Errorf(callbackurls.CodeInvalidPostActionBody, "the body is not valid JSON")
			}
			r.Output = buf.Bytes()
		case o.outputPath != nil:
			out, err := marshalNodes(b.selectPath(o.outputPath, o.stored.OutputPath, doc))
			if err != nil {
				return nil, err
			}
			r.Output = out
		default:
			r.Output = o.output
		}
		if len(r.Output) > maxSelectedBytes {
			return nil, tooLarge()
		}
	}
	if spec.ErrorCause {
		var err error
		if o.errorPath != nil {
			if r.Error, err = pathText(b.selectPath(o.errorPath, o.stored.ErrorPath, doc)); err != nil {
				return nil, err
			}
		}
		if o.causePath != nil {
			if r.Cause, err = pathText(b.selectPath(o.causePath, o.stored.CausePath, doc)); err != nil {
				return nil, err
			}
		}
	}
	return r, nil
}

// bodyShape is what a callback's paths are charged by.
type bodyShape struct {
	values, depth int
	m             *meter
}

// selectPath charges the meter with expr's estimate for this body, then
// runs it.
func (b *bodyShape) selectPath(p *jsonpath.Path, expr string, doc any) jsonpath.NodeList {
	a := pathCost(expr, b.values, b.depth)
	b.m.spend(pathStepWeight * int64(math.Min(a.work, math.MaxInt64/pathStepWeight)))
	return p.Select(doc)
}

// pathText is an error_path or cause_path result, as the reference computes
// it: the match itself when there is exactly one and it is a string, else
// the JSON text of all matches; nothing when nothing matches.
func pathText(nodes jsonpath.NodeList) (string, error) {
	switch {
	case len(nodes) == 0:
		return "", nil
	case len(nodes) == 1:
		if s, ok := nodes[0].(string); ok {
			return s, nil
		}
	}
	b, err := marshalNodes(nodes)
	return string(b), err
}

// marshalNodes writes nodes as a JSON array, stopping as soon as it is
// larger than Step Functions accepts: "$..*" over a deep body selects
// nested copies whose total size grows with the square of the depth.
func marshalNodes(nodes jsonpath.NodeList) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep the body's text as it was
	buf.WriteByte('[')
	for i, n := range nodes {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := enc.Encode(n); err != nil {
			return nil, callbackurls.Errorf(callbackurls.CodeOutputFormatting, "a JSONPath match cannot be written as JSON")
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
		if buf.Len() > maxSelectedBytes {
			return nil, tooLarge()
		}
	}
	buf.WriteByte(']')
	return buf.Bytes(), nil
}

func tooLarge() error {
	return callbackurls.Errorf(callbackurls.CodeOutputFormatting,
		"the selected output is larger than Step Functions' %d bytes", maxSelectedBytes)
}

// shape measures a JSON text: the deepest nesting of arrays and objects,
// about how many values it holds (every element and member counts), and
// the largest number: its digits and the size of its exponent. The schema
// library reads numbers with math/big, where 1e1000000 costs 30 ms.
func shape(b []byte) (depth, values, digits, exponent int) {
	d, inString := 0, false
	values = 1
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inString:
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			d++
			depth = max(depth, d)
			values++
		case c == ']' || c == '}':
			d--
		case c == ',':
			values++
		case c == '-' || c >= '0' && c <= '9':
			n, e := 0, 0
			inExp := false
			for ; i < len(b) && strings.IndexByte("0123456789+-.eE", b[i]) >= 0; i++ {
				switch c := b[i]; {
				case c == 'e' || c == 'E':
					inExp = true
				case c < '0' || c > '9':
				case inExp:
					e = min(e*10+int(c-'0'), 1<<30)
				default:
					n++
				}
			}
			i--
			digits, exponent = max(digits, n), max(exponent, e)
		}
	}
	return depth, values, digits, exponent
}

// reason shortens a library's error text for a message.
func reason(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	s = strings.ReplaceAll(s, `"`+schemaURL+`#"`, "the schema")
	s = strings.ReplaceAll(s, schemaURL, "schema")
	return text.Truncate(s, maxReasonLength)
}

func outcomeError(i int, name, format string, args ...any) error {
	where := fmt.Sprintf("outcomes[%d]", i)
	if name != "" {
		where += " (" + name + ")"
	}
	return callbackurls.Errorf(callbackurls.CodeInvalidPostActionOutcome, "%s: %s", where, fmt.Sprintf(format, args...))
}
