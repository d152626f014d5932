package pages

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// TestTemplatesParse parses every page template, as the first render of
// each would: they are parsed lazily, so a broken one must fail here. Every
// page file has its Template, and no Template lacks its file.
func TestTemplatesParse(t *testing.T) {
	var names []string
	for _, tmpl := range Templates {
		names = append(names, tmpl.Name())
		if parsed := tmpl.parsed(); parsed == nil || parsed.Lookup("layout") == nil || parsed.Lookup("content") == nil {
			t.Errorf("%s: no layout or content template", tmpl.Name())
		}
	}
	files, err := fs.Glob(pageFiles, "*.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if name := strings.TrimSuffix(f, ".tmpl"); name != "layout" && !slices.Contains(names, name) {
			t.Errorf("%s has no Template", f)
		}
	}
}

// TestRenderWithoutTemplate: a page without its template is a 500 that
// says so, never another page.
func TestRenderWithoutTemplate(t *testing.T) {
	rec := httptest.NewRecorder()
	Render(rec, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, Page{Heading: "lost"})
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "without a template") || strings.Contains(rec.Body.String(), "lost") {
		t.Errorf("status %d, body %q", rec.Code, rec.Body)
	}
}

func TestSentence(t *testing.T) {
	for in, want := range map[string]string{
		"":                       "",
		"the link has expired":   "The link has expired.",
		"Already a sentence.":    "Already a sentence.",
		"no token: nothing sent": "No token: nothing sent.",
		"état inconnu":           "État inconnu.", // the first letter, not its first byte
		"\xffnot UTF-8":          "\xffnot UTF-8.",
	} {
		if got := Sentence(in); got != want {
			t.Errorf("Sentence(%q) = %q, want %q", in, got, want)
		}
	}
}
