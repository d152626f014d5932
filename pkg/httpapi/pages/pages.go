// Package pages renders the HTML pages people see: the confirmation,
// result and error pages of callback URLs (package respond), the local
// store's dashboard (package localweb) and the local server's home page
// (package home). They share one layout and one
// inline style sheet, let nothing else in (Content-Security-Policy), load
// nothing from anywhere and work with JavaScript off.
package pages

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

//go:embed *.tmpl style.css
var pageFiles embed.FS

var (
	pageCSS = mustRead("style.css")
	// styleSource lets exactly our style sheet in (Content-Security-Policy
	// hash), and no other style or script.
	styleSource = styleSourceOf(pageCSS)
)

// Template is one of the page templates. Pages name theirs with the
// values below; there is no other (a Page without one fails to render).
type Template struct {
	name string
	// parsed parses the template when first rendered, not at package
	// init: ProcessCallback's programs never see a page, and its cold
	// start should not pay the ~1 ms of parsing (TestTemplatesParse
	// parses them all, so a broken one still fails the tests).
	parsed func() *template.Template
}

func newTemplate(name string) *Template {
	return &Template{name: name, parsed: sync.OnceValue(func() *template.Template { return parsePage(name) })}
}

// The templates, and the part of Page each reads besides the common
// fields.
var (
	ConfirmTemplate   = newTemplate("confirm")   // Page.Confirm: a confirmation with its form
	MessageTemplate   = newTemplate("message")   // a result or an error
	DashboardTemplate = newTemplate("dashboard") // Page.Dashboard
	HomeTemplate      = newTemplate("home")      // Page.Home
	SignInTemplate    = newTemplate("signin")    // Page.SignIn: the sign-in button, or the development sign-in's form
	// Templates lists them all.
	Templates = []*Template{ConfirmTemplate, MessageTemplate, DashboardTemplate, HomeTemplate, SignInTemplate}
)

// Name is the template's name (its file is Name + ".tmpl").
func (t *Template) Name() string { return t.name }

// styleSourceOf is the CSP source that allows a style element with css.
func styleSourceOf(css string) string {
	sum := sha256.Sum256([]byte(css))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

func mustRead(name string) string {
	b, err := pageFiles.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return strings.TrimSpace(string(b))
}

// parsePage parses the layout, with the style sheet written into it as
// static text (the template then copies it without escaping work), and one
// page's template.
func parsePage(name string) *template.Template {
	layout := strings.Replace(mustRead("layout.tmpl"), "{{.CSS}}", pageCSS, 1)
	t := template.Must(template.New(name).Parse(layout))
	return template.Must(t.ParseFS(pageFiles, name+".tmpl"))
}

// Page is what a template shows. Every string is plain text: the templates
// escape it.
type Page struct {
	Template *Template
	// Kind names the page for style sheets and tests: confirm, result,
	// error, dashboard or home.
	Kind     string
	DocTitle string
	Tone     string // ok, info, warn, error or plain: the accent colour
	Icon     string // check, info, clock, alert, or none
	Context  string // the request's title, above the heading
	Heading  string
	Lead     string
	// Description is the request's description (line breaks kept).
	Description string
	Sent        []SentValue // the form's values, on a result page
	Retry       bool        // a "Try again" link to the same URL
	Confirm     *ConfirmForm
	Details     []string // small print: reference, error code
	Wide        bool
	Dashboard   *Dashboard // the dashboard template's
	Home        *Home      // the home template's
	// FormAction is the extra origin the page's form may be redirected to
	// (a response spec's redirect), for the Content-Security-Policy.
	FormAction string
	// SignIn is the signin template's form.
	SignIn *SignInForm
	// SignedIn names the person signed in, with a sign-out button
	// (confirm and message templates).
	SignedIn *SignedIn
	// Approval is who decided and the signed receipt (a result page).
	Approval *ApprovalView
	// Back is a button-like link below a message ("Back to the request").
	Back *Link
}

// SignInForm asks a person to sign in: a link to the identity provider
// (URL), or the development sign-in's own form (Action, with Hidden fields
// and an email address to type).
type SignInForm struct {
	URL    string
	Action string
	Hidden []Hidden
	// AskEmail: the development sign-in's fields.
	AskEmail    bool
	Email, Name string
	Button      string
	Alert       string
	Note        string
	// Dev marks the development sign-in: not a real identity provider.
	Dev bool
}

// Hidden is a form's hidden field.
type Hidden struct{ Name, Value string }

// SignedIn is who is signed in, and the sign-out form: it posts Link (the
// callback URL's query) to Action, which signs out and comes back to it.
type SignedIn struct {
	Name, Email  string
	Action, Link string
	Button       string
	Dev          bool
}

// ApprovalView is a decision's approval on its result page.
type ApprovalView struct {
	// By is who decided ("Ana Lima (ana@example.com)"), "" without approvers.
	By      string
	Receipt string
}

// Dashboard is the local store's dashboard: its tasks, and the demo task
// just made.
type Dashboard struct {
	Tasks []TaskView
	// More says that older tasks are not shown.
	More bool
	// DemoAction is where the "New demo task" form posts ("": no button).
	DemoAction string
	Demo       *Demo
	// Notice is a line above the tasks (a demo task that is gone, say).
	Notice string
	// HasOutbox says that the server keeps an outbox; Outbox is its
	// newest letters.
	HasOutbox bool
	Outbox    []LetterView
}

// LetterView is one letter of the local outbox: what would have been sent.
type LetterView struct {
	ID          string
	Kind        string // ask or confirmation
	Channel     string // email, sns or chat
	ChannelText string
	Time        Time
	From, To    string
	CC, ReplyTo string
	Topic       string
	Subject     string
	Text        string
	// View is where the HTML letter shows as a mail client would ("": none).
	View string
	// Teams and Slack are the chat messages' JSON, indented.
	Teams, Slack string
}

// TaskView is one task as the dashboard shows it. Output and Cause are
// cut to a few hundred characters.
type TaskView struct {
	Name string
	// Kind says what the task stands in for ("Step Functions task",
	// "Lambda durable callback"); Durable is set for a durable callback,
	// whose Token is then its callback id.
	Kind       string
	Durable    bool
	Token      string // in full, for the title and the copyable element
	ShortToken string // its start and end, on one line
	Status     string // open, succeeded or failed: the badge's colour
	StatusText string // Open, Succeeded, Failed
	Output     string
	Error      string
	Cause      string
	Heartbeats int
	Created    Time
	Closed     Time // zero: still open
}

// Time is a time as text with its zone ("2026-03-01 10:00:05 UTC+01:00")
// and in RFC 3339 for the time element.
type Time struct{ Text, DateTime string }

// Demo is a demo task and its links.
type Demo struct {
	Task  TaskView
	Links []Link
}

// Link is a link drawn as a button.
type Link struct {
	Label, URL string
	Tone       string // approve, reject or neutral
	Note       string // what it does
}

// Home is the local server's home page.
type Home struct {
	Version    string
	Endpoints  []Endpoint
	Local      string // the dashboard's path, "" without a local store
	ProjectURL string
}

// Endpoint is one line of the home page's list.
type Endpoint struct{ Pattern, What string }

// SentValue is one of a form's values as a result page repeats it.
type SentValue struct{ Label, Value string }

// ConfirmForm is the confirmation form.
type ConfirmForm struct {
	Label    string
	Tone     string // approve, reject or neutral: the button's colour
	Fields   []Field
	Alert    string
	Problems []Problem
	Expires  string
}

// Problem links the summary above a form to a field that needs correcting.
type Problem struct{ ID, Label, Message string }

// Field is one form field as the template draws it.
type Field struct {
	ID, Name, Label, Help, Error string
	Kind                         string // text, textarea, select, radio, checkbox, number
	Required                     bool
	Value                        string
	Checked                      bool
	Options                      []Option
	MinLength, MaxLength         string
	Min, Max, Step               string
	DescribedBy                  string
}

// Option is one choice of a select or radio field.
type Option struct {
	Value    string
	Selected bool
}

// contentSecurityPolicy lets in our style sheet and nothing else, and lets
// forms go only to this service (and to the origin of a redirect that
// answers the form: browsers check redirects of a form against
// form-action too).
func contentSecurityPolicy(formAction string) string {
	actions := "'self'"
	if formAction != "" {
		actions += " " + formAction
	}
	return "default-src 'none'; style-src " + styleSource + "; form-action " + actions +
		"; base-uri 'none'; frame-ancestors 'none'"
}

// Render writes p as a page with its security headers (no body for a
// HEAD). A template error is a plain 500: nothing was written yet.
func Render(w http.ResponseWriter, r *http.Request, status int, p Page) {
	if p.Template == nil {
		// A page built without its template: a bug, said as one.
		http.Error(w, "internal error: a page without a template", http.StatusInternalServerError)
		return
	}
	t := p.Template.parsed()
	buf := pageBuffers.Get().(*bytes.Buffer)
	defer pageBuffers.Put(buf)
	buf.Reset()
	if err := t.ExecuteTemplate(buf, "layout", p); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	Private(w)
	w.Header().Set("Content-Security-Policy", contentSecurityPolicy(p.FormAction))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

// pageBuffers keeps page-sized buffers: a page is written into one before
// any header goes out, so that a template error can still be a 500.
var pageBuffers = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, 16<<10)) }}

// Private marks a page served at a secret URL: keep it out of caches,
// referrers and indexes.
func Private(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Robots-Tag", "noindex, nofollow")
}

// Sentence makes a message read as a sentence on a page: a capital first
// letter and a full stop.
func Sentence(s string) string {
	if s == "" {
		return s
	}
	if r, size := utf8.DecodeRuneInString(s); r != utf8.RuneError {
		s = string(unicode.ToUpper(r)) + s[size:]
	}
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}
