package doctest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
)

// What changes from run to run is masked in both the shown and the real
// output: transaction ids, the data parameter of callback URLs, and
// timestamps (unless the command itself names the timestamp, as an
// expiration it asks for). "..." or "…" in the shown output stands for
// anything.
var (
	idRE   = regexp.MustCompile(`\b[0-9a-f]{32}\b`)
	dataRE = regexp.MustCompile(`data=[A-Za-z0-9_~%-]*((\.\.\.|…)[A-Za-z0-9_~%-]*)?`)
	timeRE = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})`)
)

// masker masks the run-to-run values of output, keeping what the command
// names.
type masker struct{ command string }

func (m masker) mask(s string) string {
	s = idRE.ReplaceAllString(s, "<id>")
	s = dataRE.ReplaceAllString(s, "data=<data>")
	return timeRE.ReplaceAllStringFunc(s, func(t string) string {
		if strings.Contains(m.command, t) {
			return t
		}
		return "<time>"
	})
}

// Match compares the output a document shows for command with what it
// printed. JSON output (one or more values, as jq prints them) is compared
// as JSON, so spacing and key order do not matter; anything else line by
// line, trailing spaces ignored.
func Match(command, want, got string) error {
	m := masker{command}
	want, got = strings.TrimSpace(want), strings.TrimSpace(got)
	if wantValues, ok := jsonValues(want); ok {
		gotValues, ok := jsonValues(got)
		if !ok {
			return fmt.Errorf("want JSON, got text")
		}
		if len(wantValues) != len(gotValues) {
			return fmt.Errorf("want %d JSON values, got %d", len(wantValues), len(gotValues))
		}
		for i := range wantValues {
			if err := m.matchJSON("", wantValues[i], gotValues[i]); err != nil {
				return err
			}
		}
		return nil
	}
	wantLines, gotLines := strings.Split(want, "\n"), strings.Split(got, "\n")
	if len(wantLines) != len(gotLines) {
		return fmt.Errorf("want %d lines, got %d", len(wantLines), len(gotLines))
	}
	for i := range wantLines {
		w, g := strings.TrimRight(wantLines[i], " \t\r"), strings.TrimRight(gotLines[i], " \t\r")
		if !m.matchText(w, g) {
			return fmt.Errorf("line %d: want %q, got %q", i+1, w, g)
		}
	}
	return nil
}

// jsonValues decodes s as a sequence of JSON values; ok is false unless
// all of s is JSON and s is an object or array (a bare number or word is
// text).
func jsonValues(s string) ([]any, bool) {
	if s == "" || (s[0] != '{' && s[0] != '[') {
		return nil, false
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var out []any
	for {
		var v any
		err := dec.Decode(&v)
		if err == io.EOF {
			return out, len(out) > 0
		}
		if err != nil {
			return nil, false
		}
		out = append(out, v)
	}
}

func (m masker) matchJSON(path string, want, got any) error {
	where := path
	if where == "" {
		where = "the value"
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want an object, got %s", where, brief(got))
		}
		wantKeys, gotKeys := keys(w), keys(g)
		if !slices.Equal(wantKeys, gotKeys) {
			return fmt.Errorf("%s: want members %v, got %v", where, wantKeys, gotKeys)
		}
		for _, k := range wantKeys {
			if err := m.matchJSON(path+"."+k, w[k], g[k]); err != nil {
				return err
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("%s: want an array of %d, got %s", where, len(w), brief(got))
		}
		for i := range w {
			if err := m.matchJSON(fmt.Sprintf("%s[%d]", path, i), w[i], g[i]); err != nil {
				return err
			}
		}
	case string:
		g, ok := got.(string)
		if !ok || !m.matchText(w, g) {
			return fmt.Errorf("%s: want %q, got %s", where, w, brief(got))
		}
	default: // numbers, booleans, null
		if fmt.Sprint(want) != fmt.Sprint(got) {
			return fmt.Errorf("%s: want %v, got %s", where, want, brief(got))
		}
	}
	return nil
}

// matchText compares one line or string, masked; an ellipsis in want
// matches anything.
func (m masker) matchText(want, got string) bool {
	want, got = m.mask(want), m.mask(got)
	want = strings.ReplaceAll(want, "…", "...")
	if !strings.Contains(want, "...") {
		return want == got
	}
	parts := strings.Split(want, "...")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".*") + "$").MatchString(got)
}

func keys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func brief(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	b := bytes.TrimSpace(buf.Bytes())
	if len(b) > 200 {
		b = append(b[:200:200], "..."...)
	}
	return string(b)
}
