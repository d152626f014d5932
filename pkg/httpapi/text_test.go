package httpapi_test

import (
	"net/url"
	"strings"
	"testing"
)

// TestTextAnswersNotEscaped: the text/plain answers are JSON as the JSON
// answers are, without HTML escaping ("&" stays "&", not "\u0026").
func TestTextAnswersNotEscaped(t *testing.T) {
	e := newEnv(t, backendLocal)
	token := e.newTask(t)
	urls := e.createURLs(t, token, approveAction)
	target := pathQuery(t, urls["approve"])
	u, _ := url.Parse(target)
	q := u.Query()
	q.Set("action", "a&b")
	u.RawQuery = q.Encode()
	for _, accept := range []string{"text/plain", "application/json"} {
		resp := e.serve("GET", u.RequestURI(), map[string]string{"Accept": accept}, "")
		if resp.Status != 400 || !strings.Contains(resp.Body, `a&b`) || strings.Contains(resp.Body, `\u0026`) {
			t.Errorf("Accept %s: %d %s", accept, resp.Status, resp.Body)
		}
	}
}
