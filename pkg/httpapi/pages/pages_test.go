package pages

import "testing"

// TestTemplatesParse parses every page template, as the first render of
// each would: they are parsed lazily, so a broken one must fail here.
func TestTemplatesParse(t *testing.T) {
	for name, parse := range pageTemplates {
		if tmpl := parse(); tmpl == nil || tmpl.Lookup("layout") == nil || tmpl.Lookup("content") == nil {
			t.Errorf("%s: no layout or content template", name)
		}
	}
}
