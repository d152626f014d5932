package callbackurls

import (
	"bytes"
	"encoding/json"
	"html"
	"net/url"
	"strings"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/jsontext"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/text"
)

// queryParameters are the values output parameters may use: every query
// parameter but the payload (as the reference, action and type included).
func queryParameters(q url.Values) map[string]string {
	params := make(map[string]string, len(q))
	for k, v := range q {
		if k != QueryData && len(v) > 0 {
			params[k] = v[0]
		}
	}
	return params
}

// responseSpec decodes a payload's response spec and holds it to the checks
// CreateUrls applies, whatever the key mode: an unencrypted payload is
// anyone's to write, and its spec is served on this service's origin.
func responseSpec(raw json.RawMessage, params map[string]string) (*ResponseSpec, error) {
	var spec ResponseSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		return nil, Errorf(CodeInvalidPayload, "the payload's response spec is damaged")
	}
	if err := spec.validate("the payload"); err != nil {
		return nil, Errorf(CodeInvalidPayload, "%s", AsError(err).Message)
	}
	if params == nil {
		return &spec, nil
	}
	return fillResponse(spec, params)
}

// fillResponse fills a response spec's placeholders; nil params only
// checks their syntax (see fillStringWith).
func fillResponse(spec ResponseSpec, params map[string]string) (*ResponseSpec, error) {
	var err error
	if spec.Redirect != "" {
		scheme, rest, _ := strings.Cut(spec.Redirect, "://")
		authority := rest
		if i := strings.IndexAny(rest, "/?#"); i >= 0 {
			authority = rest[:i]
		}
		if strings.Contains(scheme+authority, "$") {
			return nil, Errorf(CodeOutputFormatting, "parameters cannot choose a redirect's scheme or host")
		}
		// Values are query-escaped so a parameter cannot move the redirect
		// to another host or add a path segment ("/", "\", "?", "#" and
		// "%" are escaped), and the result must still be an absolute URL.
		template := spec.Redirect
		if spec.Redirect, err = fillStringWith(template, params, url.QueryEscape); err != nil {
			return nil, err
		}
		if u, err := url.Parse(spec.Redirect); err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return nil, Errorf(CodeOutputFormatting, "the redirect with parameters is not an absolute http or https URL")
		}
		if params != nil && makesDotSegment(template, spec.Redirect) {
			return nil, Errorf(CodeOutputFormatting, "a parameter cannot make a redirect's path segment \".\" or \"..\" (which would move the redirect up its path)")
		}
	}
	if spec.JSON != nil {
		if spec.JSON, err = fillJSON(spec.JSON, params); err != nil {
			return nil, err
		}
	}
	// New strings rather than writes through the pointers, which the
	// caller's spec shares. Parameters are caller-controlled text: escape
	// them in HTML.
	if spec.HTML != nil {
		h, err := fillStringWith(*spec.HTML, params, html.EscapeString)
		if err != nil {
			return nil, err
		}
		spec.HTML = &h
	}
	if spec.Text != nil {
		t, err := fillString(*spec.Text, params)
		if err != nil {
			return nil, err
		}
		spec.Text = &t
	}
	return &spec, nil
}

// makesDotSegment reports whether filling template made a path segment of
// redirect a dot-segment it was not: "." or "..", or a form browsers read
// as one ("%2e", ".%2E", ...; the WHATWG URL standard), which a browser
// or a proxy removes with the segment before it, so that
// https://example.com/app/$v/done with v=.. lands at /done. Values cannot
// add segments (their separators are escaped), so the template's segments
// and the result's line up one to one.
func makesDotSegment(template, redirect string) bool {
	before, after := pathSegments(template), pathSegments(redirect)
	if len(before) != len(after) {
		return true
	}
	for i, seg := range after {
		if isDotSegment(seg) && !isDotSegment(before[i]) {
			return true
		}
	}
	return false
}

// pathSegments splits the path of an absolute URL string (scheme://
// authority/path?query#fragment) at "/" and, as browsers do in http(s)
// URLs, "\". Empty segments count.
func pathSegments(s string) []string {
	_, rest, _ := strings.Cut(s, "://")
	i := strings.IndexAny(rest, "/\\?#")
	if i < 0 || rest[i] == '?' || rest[i] == '#' {
		return nil
	}
	path := rest[i:]
	if j := strings.IndexAny(path, "?#"); j >= 0 {
		path = path[:j]
	}
	return strings.Split(strings.ReplaceAll(path, "\\", "/"), "/")
}

func isDotSegment(seg string) bool {
	switch strings.ToLower(seg) {
	case ".", "%2e", "..", ".%2e", "%2e.", "%2e%2e":
		return true
	}
	return false
}

// checkTemplates refuses at creation the placeholders no callback could
// fill (bad syntax, a parameter in a redirect's host): every click on such
// a URL would fail. A missing parameter is still the callback's business.
func checkTemplates(a *Action) error {
	var err error
	spec := a.Type.Spec()
	switch {
	case spec.Output && a.Output != nil:
		_, err = fillJSON(a.Output, nil)
	case spec.ErrorCause:
		for _, s := range []*string{a.Error, a.Cause} {
			if s != nil && err == nil {
				_, err = fillString(*s, nil)
			}
		}
	}
	if err == nil && a.Response != nil {
		_, err = fillResponse(*a.Response, nil)
	}
	if err != nil {
		e := AsError(err)
		return Errorf(e.Code, "action %s: %s", a.Name, e.Message)
	}
	return nil
}

// fillJSON substitutes parameters in every string value of a JSON
// document. Object keys take none (see fillKey).
func fillJSON(raw json.RawMessage, params map[string]string) (json.RawMessage, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, Errorf(CodeInvalidPayload, "the payload's output is damaged")
	}
	v, err := fillValue(v, params)
	if err != nil {
		return nil, err
	}
	out, err := jsontext.Marshal(v)
	if err != nil {
		return nil, Errorf(CodeOutputFormatting, "the output cannot be formatted")
	}
	return out, nil
}

func fillValue(v any, params map[string]string) (any, error) {
	switch v := v.(type) {
	case string:
		return fillString(v, params)
	case []any:
		for i := range v {
			var err error
			if v[i], err = fillValue(v[i], params); err != nil {
				return nil, err
			}
		}
		return v, nil
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, item := range v {
			key, err := fillKey(k)
			if err != nil {
				return nil, err
			}
			if out[key], err = fillValue(item, params); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return v, nil
}

// fillKey is an object key as delivered: "$$" is a literal "$", and a
// placeholder is refused. A value chosen by the URL's holder must not name
// a member: {"decision": "reject", "$k": "$v"} with k=decision would
// replace the fixed decision. Refused at creation (checkTemplates), and at
// callback for URLs made before the rule.
func fillKey(k string) (string, error) {
	for rest := k; ; {
		i := strings.IndexByte(rest, '$')
		if i < 0 {
			break
		}
		if !strings.HasPrefix(rest[i+1:], "$") {
			return "", Errorf(CodeOutputFormatting,
				"output parameters cannot stand in an object key (%q): put the placeholder in the member's value", text.Truncate(k, 40))
		}
		rest = rest[i+2:]
	}
	return fillString(k, nil)
}

// fillString implements Python's string.Template.substitute: $name and
// ${name} are replaced, $$ is a literal $, a missing name is an error.
func fillString(s string, params map[string]string) (string, error) {
	return fillStringWith(s, params, nil)
}

// fillStringWith is fillString with each value passed through escape.
// With nil params it only checks the placeholders' syntax: every name is
// taken as present (and empty).
func fillStringWith(s string, params map[string]string, escape func(string) string) (string, error) {
	i := strings.IndexByte(s, '$')
	if i < 0 {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i >= 0 {
		b.WriteString(s[:i])
		s = s[i+1:]
		switch {
		case strings.HasPrefix(s, "$"):
			b.WriteByte('$')
			s = s[1:]
		case strings.HasPrefix(s, "{"):
			end := strings.IndexByte(s, '}')
			if end < 0 || !isIdentifier(s[1:end]) {
				return "", Errorf(CodeOutputFormatting, "invalid placeholder in %q: use $name, ${name} or $$", text.Truncate(s, 40))
			}
			name := s[1:end]
			v, ok := params[name]
			if !ok && params != nil {
				return "", Errorf(CodeOutputFormatting, "the URL has no parameter %q", name)
			}
			if escape != nil {
				v = escape(v)
			}
			b.WriteString(v)
			s = s[end+1:]
		default:
			n := identifierPrefix(s)
			if n == 0 {
				return "", Errorf(CodeOutputFormatting, "invalid placeholder: a $ must be followed by a name, {name} or $")
			}
			v, ok := params[s[:n]]
			if !ok && params != nil {
				return "", Errorf(CodeOutputFormatting, "the URL has no parameter %q", s[:n])
			}
			if escape != nil {
				v = escape(v)
			}
			b.WriteString(v)
			s = s[n:]
		}
		i = strings.IndexByte(s, '$')
	}
	b.WriteString(s)
	return b.String(), nil
}

// identifierPrefix is the length of the Python identifier ([_a-zA-Z][_a-zA-Z0-9]*) at the start of s.
func identifierPrefix(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9') {
			continue
		}
		return i
	}
	return len(s)
}

func isIdentifier(s string) bool { return s != "" && identifierPrefix(s) == len(s) }
