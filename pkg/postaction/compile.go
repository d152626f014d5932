package postaction

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/theory/jsonpath"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/text"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// compileSchema compiles one outcome's schema on its own, so that no
// schema can reach another URL's. Its $schema picks the draft (draft-07
// when absent, the reference's default); references resolve only within
// the schema and to the standard meta-schemas the library embeds.
func compileSchema(raw []byte) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.UseLoader(refuseLoader{})
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, err
	}
	return c.Compile(schemaURL)
}

// refuseLoader loads nothing: a schema comes from whoever creates URLs, and
// following its $ref to a URL or a file would let them make the service
// fetch from the network or read local files.
type refuseLoader struct{}

func (refuseLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("references outside the schema are not loaded (%s): put definitions in the schema itself", url)
}

// pathParser holds the RFC 9535 function extensions (length, count, value,
// match, search) and nothing else.
var pathParser = jsonpath.NewParser()

// compilePath parses an RFC 9535 JSONPath expression within bounds.
func compilePath(i int, name, field, expr string) (*jsonpath.Path, error) {
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
	if n := descendants(expr); n > MaxDescendants {
		// Each nested ".." multiplies the work by the body's size.
		return nil, bad("has %d descendant segments (..), more than the %d allowed", n, MaxDescendants)
	}
	return p, nil
}

// descendants counts the ".." segments of a parsed expression: outside
// string literals, ".." means nothing else in RFC 9535.
func descendants(expr string) int {
	n := 0
	var quote byte
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case quote != 0:
			switch c {
			case '\\':
				i++
			case quote:
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '.' && i+1 < len(expr) && expr[i+1] == '.':
			n++
			i++
		}
	}
	return n
}
