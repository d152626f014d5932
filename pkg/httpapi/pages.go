package httpapi

import (
	"bytes"
	"html/template"
	"net/http"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// page is what the HTML layout shows.
type page struct {
	Title   string
	Heading string
	Message string
	Detail  string
	Tone    string // ok, warn, error
	Body    template.HTML
}

var layout = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>{{.Title}}</title>
<style>
:root{color-scheme:light dark;--bg:#f6f7f9;--fg:#1b1f24;--card:#fff;--muted:#57606a;--ok:#1a7f37;--warn:#9a6700;--error:#cf222e;--line:#d0d7de}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--card:#161b22;--muted:#9198a1;--ok:#3fb950;--warn:#d29922;--error:#f85149;--line:#30363d}}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--fg)}
main{max-width:40rem;margin:3rem auto;padding:0 1rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:1.5rem 1.75rem}
h1{font-size:1.5rem;margin:0 0 .5rem}
.ok h1{color:var(--ok)}.warn h1{color:var(--warn)}.error h1{color:var(--error)}
p{margin:.5rem 0}
.muted{color:var(--muted);font-size:.9rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85em;word-break:break-all}
</style>
</head>
<body>
<main>
<div class="card {{.Tone}}">
<h1>{{.Heading}}</h1>
{{if .Message}}<p>{{.Message}}</p>{{end}}
{{.Body}}
{{if .Detail}}<p class="muted">{{.Detail}}</p>{{end}}
</div>
</main>
</body>
</html>
`))

func resultPage(res *callbackurls.CallbackResult) page {
	p := page{Tone: "ok", Detail: "Reference: " + res.TransactionID}
	switch res.Type {
	case callbackurls.Success:
		p.Heading, p.Message = "Approved", "Your response ("+res.Action+") was recorded. You can close this page."
	case callbackurls.Failure:
		p.Heading, p.Message = "Rejected", "Your response ("+res.Action+") was recorded. You can close this page."
	case callbackurls.Heartbeat:
		p.Heading, p.Message = "Noted", "The task was told you are still working on it."
	default:
		p.Heading, p.Message = "Done", "Your response was recorded."
	}
	if !res.Sent {
		p.Heading, p.Message = "Link is valid", "This link is valid and has not been used by this check."
	}
	p.Title = p.Heading
	return p
}

func errorPage(e *callbackurls.Error) page {
	p := page{Tone: "error", Heading: "This link did not work", Message: e.Message, Detail: "Error code: " + e.Code}
	switch {
	case e.Code == callbackurls.CodeExpiredPayload:
		p.Heading, p.Tone = "This link has expired", "warn"
	case e.StepFunctionsCode == callbackurls.TaskTimedOut:
		p.Heading, p.Tone = "This request was already answered", "warn"
		p.Message = "A response was already recorded, or the request timed out. Nothing more is needed from you."
	case e.Code == callbackurls.CodeInvalidPayload || e.Code == callbackurls.CodeActionMismatched:
		p.Heading = "This link is damaged"
		p.Message = "The link may have been cut or changed when it was copied. Try opening it again from the original message."
	case e.Status == http.StatusServiceUnavailable:
		p.Heading, p.Tone = "Temporarily unavailable", "warn"
		p.Message = "Please try again in a minute."
	}
	p.Title = p.Heading
	return p
}

func writePage(w http.ResponseWriter, r *http.Request, status int, p page) {
	var buf bytes.Buffer
	if err := layout.Execute(&buf, p); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	privatePage(w)
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	writeRaw(w, r, TypeHTML, status, buf.String())
}

// privatePage marks a page served at a secret URL: keep it out of caches,
// referrers and indexes.
func privatePage(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Robots-Tag", "noindex, nofollow")
}
