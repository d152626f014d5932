// Package callbackurls is the core of sfn-callback-urls: the request and
// payload model, validation, URL creation and callback processing. It knows
// nothing of HTTP, Lambda, KMS or the AWS SDK; those live at the edges and
// reach it through the PayloadCodec and StepFunctions interfaces.
package callbackurls

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// URL query parameter names, as in the reference.
const (
	QueryAction = "action"
	QueryType   = "type"
	QueryData   = "data"
	// CallbackPath is appended to the base URL.
	CallbackPath = "/respond"
)

// DefaultMaxURLLength is the longest URL handed out unless configured.
const DefaultMaxURLLength = 8192

// MaxPostBodyBytes bounds the JSON body of a post action's callback.
const MaxPostBodyBytes = 256 << 10

// MaxDataLength bounds the data parameter read at callback time, before
// any decoding: no URL we create is longer.
const MaxDataLength = 16384

// Config is the deployment's settings for the service.
type Config struct {
	// BaseURL is the default base URL of the callback endpoint; a request's
	// base_url overrides it.
	BaseURL string
	// Region is the default region for a base_url given as an API reference.
	Region string
	// MaxURLLength refuses to create longer URLs (0: DefaultMaxURLLength).
	MaxURLLength           int
	EnableOutputParameters bool
	EnablePostActions      bool
	// PostActions evaluates post actions (nil: they are unavailable).
	PostActions PostActions
	// OneClick makes a browser's GET on a success or failure URL act at
	// once, as in the reference, unless the action asks for confirmation.
	// Off (the zero value), such a GET shows a confirmation page and only
	// its POST acts, so that mail link scanners cannot answer for people.
	OneClick bool
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Service creates callback URLs and processes callbacks.
type Service struct {
	cfg   Config
	codec PayloadCodec
	sfn   StepFunctions
}

// New returns a Service.
func New(cfg Config, codec PayloadCodec, sfn StepFunctions) *Service {
	if cfg.MaxURLLength <= 0 {
		cfg.MaxURLLength = DefaultMaxURLLength
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg, codec: codec, sfn: sfn}
}

// Config returns the service's configuration.
func (s *Service) Config() Config { return s.cfg }

// CreateResponse is the body of a successful CreateUrls call.
type CreateResponse struct {
	TransactionID string            `json:"transaction_id"`
	URLs          map[string]string `json:"urls"`
	Expiration    string            `json:"expiration,omitempty"`
}

// NewTransactionID returns a random 128-bit id in hex, the shape of the
// reference's uuid4().hex.
func NewTransactionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// CreateURLs makes one URL per action. defaultBase is used when the request
// has no base_url and the deployment has none configured (the API Gateway
// stage a request came through). On error the returned transaction id, if
// not empty, is the one assigned to the attempt.
func (s *Service) CreateURLs(ctx context.Context, req *CreateRequest, defaultBase string) (*CreateResponse, string, error) {
	tid := NewTransactionID()
	resp, err := s.createURLs(ctx, req, defaultBase, tid)
	return resp, tid, err
}

func (s *Service) createURLs(ctx context.Context, req *CreateRequest, defaultBase, tid string) (*CreateResponse, error) {
	now := s.cfg.Now()
	base, err := s.baseURL(req, defaultBase)
	if err != nil {
		return nil, err
	}
	resp := &CreateResponse{TransactionID: tid, URLs: make(map[string]string, len(req.Actions))}

	var expiration time.Time
	if req.Expiration != "" {
		if expiration, err = ParseExpiration(req.Expiration); err != nil {
			return nil, err
		}
		// The payload holds whole seconds; report the instant enforced.
		expiration = expiration.Truncate(time.Second)
		if !expiration.After(now) {
			return nil, Errorf(CodeInvalidDate, "expiration %s is in the past", req.Expiration)
		}
		resp.Expiration = expiration.Format(time.RFC3339)
	}
	if req.EnableOutputParameters && !s.cfg.EnableOutputParameters {
		return nil, Errorf(CodeParametersDisabled, "output parameters are disabled in this deployment")
	}

	for i := range req.Actions {
		a := &req.Actions[i]
		p, err := s.payloadFor(req, a, tid, now, expiration)
		if err != nil {
			return nil, err
		}
		data, err := s.codec.Encode(ctx, p)
		if err != nil {
			return nil, err
		}
		if len(data) > MaxDataLength {
			// Respond refuses longer data whatever MaxURLLength allows.
			return nil, Errorf(CodeURLTooLong,
				"the payload for action %s would be %d characters, over the %d a callback accepts: shorten its output, error, cause or response",
				a.Name, len(data), MaxDataLength)
		}
		u := CallbackURL(base, a.Name, a.Type, data)
		if len(u) > s.cfg.MaxURLLength {
			return nil, Errorf(CodeURLTooLong,
				"the URL for action %s would be %d characters, over this deployment's limit of %d: shorten its output, error, cause or response",
				a.Name, len(u), s.cfg.MaxURLLength)
		}
		resp.URLs[a.Name] = u
	}
	return resp, nil
}

func (s *Service) baseURL(req *CreateRequest, defaultBase string) (string, error) {
	if req.BaseURL != nil {
		return req.BaseURL.Resolve(s.cfg.Region)
	}
	if s.cfg.BaseURL != "" {
		return s.cfg.BaseURL, nil
	}
	if defaultBase != "" {
		return defaultBase, nil
	}
	return "", &Error{Code: CodeServiceError, Status: http.StatusInternalServerError,
		Message: "this deployment has no base URL: set BASE_URL (or API_ID and STAGE), or pass base_url in the request"}
}

func (s *Service) payloadFor(req *CreateRequest, a *Action, tid string, now, expiration time.Time) (*Payload, error) {
	p := &Payload{
		Token:         req.Token,
		TransactionID: tid,
		IssuedAt:      now.Truncate(time.Second),
		Expiration:    expiration,
		Action:        a.Name,
		Type:          a.Type,
		Parameters:    req.EnableOutputParameters,
	}
	switch a.Type {
	case Success:
		out, err := compactJSON(a.Output)
		if err != nil {
			return nil, Errorf(CodeInvalidJSON, "action %s: output is not valid JSON", a.Name)
		}
		p.Output = out
	case Failure:
		if a.Error != nil {
			p.Error = *a.Error
		}
		if a.Cause != nil {
			p.Cause = *a.Cause
		}
	case Post:
		if !s.cfg.EnablePostActions || s.cfg.PostActions == nil {
			return nil, Errorf(CodePostActionsDisabled, "post actions are disabled in this deployment")
		}
		// Post actions are parameterised by their body, not the query.
		p.Parameters = false
		out, err := s.cfg.PostActions.Compile(a.Outcomes)
		if err != nil {
			return nil, err
		}
		p.Outcomes = out
	}
	if p.Parameters {
		if err := checkTemplates(a); err != nil {
			return nil, err
		}
	}
	pres, err := presentationFor(req, a)
	if err != nil {
		return nil, err
	}
	p.Presentation = pres
	if a.Response != nil {
		spec, err := marshalNoEscape(a.Response)
		if err != nil {
			return nil, Errorf(CodeInvalidJSON, "action %s: response is not valid JSON", a.Name)
		}
		if !bytes.Equal(spec, []byte("{}")) {
			p.Response = spec
		}
	}
	return p, nil
}

// marshalNoEscape is json.Marshal without HTML escaping: "<" would take six
// bytes in every URL, and these values are data, not HTML.
func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func compactJSON(raw json.RawMessage) (json.RawMessage, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// CallbackURL is the URL for one action.
func CallbackURL(base, action string, typ ActionType, data string) string {
	var b strings.Builder
	b.Grow(len(base) + len(CallbackPath) + len(action) + len(data) + 32)
	b.WriteString(base)
	b.WriteString(CallbackPath)
	b.WriteString("?action=")
	b.WriteString(url.QueryEscape(action))
	b.WriteString("&type=")
	b.WriteString(string(typ))
	b.WriteString("&data=")
	b.WriteString(data) // the codecs' alphabets need no escaping
	return b.String()
}

// CallbackRequest is a GET, POST or HEAD on a callback URL.
type CallbackRequest struct {
	Method string
	Query  url.Values
	// ContentType and Body are a POST's (post actions read them).
	ContentType string
	Body        []byte
	// Form holds the fields of a browser's form POST
	// (application/x-www-form-urlencoded), nil for any other request. An
	// action's input values come from it, else from a JSON Body.
	Form url.Values
	// DryRun checks the URL without acting on the task (HEAD).
	DryRun bool
	// Interactive marks a GET or HEAD from a browser, or from a robot that
	// looks like one (a mail link scanner): an action that needs
	// confirmation (Presentation.NeedsConfirmation) then only reports
	// Confirm instead of acting.
	Interactive bool
}

// CallbackResult says what a callback did. It is returned, partly filled,
// with an error too, so that the transaction id reaches the caller.
type CallbackResult struct {
	TransactionID string
	Action        string
	Type          ActionType
	// Payload is the decoded payload (nil if decoding failed).
	Payload *Payload
	// Response is the action's response spec with parameters filled in, or
	// nil for the service's own bodies.
	Response *ResponseSpec
	// Outcome is the post action outcome the body selected.
	Outcome string
	// Sent reports whether Step Functions was called and accepted the call.
	Sent bool
	// Presentation is what pages show about the action (never nil once
	// the payload is decoded).
	Presentation *Presentation
	// Confirm reports that nothing was sent because a person must confirm
	// first: show the confirmation page.
	Confirm bool
	// Input is the form's values as delivered with the outcome, nil when
	// the action has no input form.
	Input map[string]any
	// InputErrors explains, with an InvalidInput error, what is wrong with
	// each submitted value.
	InputErrors InputErrors
}

// Respond processes a callback: decode and check the payload, then send the
// outcome to Step Functions unless it is a dry run.
func (s *Service) Respond(ctx context.Context, req *CallbackRequest) (*CallbackResult, error) {
	res := &CallbackResult{}
	p, err := s.decode(ctx, req.Query)
	if err != nil {
		return res, err
	}
	res.Payload = p
	res.TransactionID, res.Action, res.Type = p.TransactionID, p.Action, p.Type
	// Parsed first, so that pages for the errors below can say what the
	// link was for.
	if res.Presentation, err = ParsePresentation(p.Presentation); err != nil {
		return res, err
	}

	if !p.Expiration.IsZero() && !s.cfg.Now().Before(p.Expiration) {
		return res, Errorf(CodeExpiredPayload, "this URL expired at %s", p.Expiration.UTC().Format(time.RFC3339))
	}
	if got := req.Query.Get(QueryAction); got != "" && got != p.Action {
		return res, Errorf(CodeActionMismatched, "the URL says action %q but its payload is for action %q", got, p.Action)
	}
	if got := req.Query.Get(QueryType); got != "" && got != string(p.Type) {
		return res, Errorf(CodeActionMismatched, "the URL says type %q but its payload is for type %q", got, p.Type)
	}

	var params map[string]string
	if p.Parameters {
		if !s.cfg.EnableOutputParameters {
			return res, Errorf(CodeParametersDisabled, "output parameters are disabled in this deployment")
		}
		params = queryParameters(req.Query)
	}
	if p.Response != nil {
		spec, err := responseSpec(p.Response, params)
		if err != nil {
			return res, err
		}
		res.Response = spec
	}

	out := outcome{typ: p.Type, output: p.Output, errCode: p.Error, cause: p.Cause}
	switch p.Type {
	case Success, Failure:
		if params != nil {
			if err := out.fill(params); err != nil {
				return res, err
			}
		}
	case Heartbeat:
	case Post:
		if out, err = s.postOutcome(req, p, res); err != nil {
			return res, err
		}
	default:
		return res, Errorf(CodeInvalidPayload, "unknown action type")
	}
	if req.Interactive && res.Presentation.NeedsConfirmation(p.Type, s.cfg.OneClick) {
		res.Confirm = true
		return res, nil
	}
	if req.DryRun {
		return res, nil
	}
	if schema := res.Presentation.Input; schema != nil && p.Type != Post {
		values, errs := schema.FromSubmission(req.Form, req.Body)
		if errs != nil {
			res.InputErrors = errs
			return res, Errorf(CodeInvalidInput, "%s", errs.Error())
		}
		// After the parameters are filled: a value is never a placeholder.
		if err := out.withInput(values); err != nil {
			return res, err
		}
		res.Input = values
	}
	switch out.typ {
	case Success:
		err = s.sfn.SendTaskSuccess(ctx, p.Token, string(out.output))
	case Failure:
		err = s.sfn.SendTaskFailure(ctx, p.Token, out.errCode, out.cause)
	case Heartbeat:
		err = s.sfn.SendTaskHeartbeat(ctx, p.Token)
	}
	if err != nil {
		e := AsError(err)
		// An adapter's detail must not hand the token to the URL holder.
		if strings.Contains(e.Message, p.Token) {
			c := *e
			c.Message = strings.ReplaceAll(c.Message, p.Token, "<task token>")
			e = &c
		}
		return res, e
	}
	res.Sent = true
	return res, nil
}

// outcome is what a callback sends to Step Functions.
type outcome struct {
	typ            ActionType // Success, Failure or Heartbeat
	output         json.RawMessage
	errCode, cause string
}

// fill substitutes output parameters, keeping Step Functions' limits.
func (o *outcome) fill(params map[string]string) error {
	var err error
	switch o.typ {
	case Success:
		if o.output, err = fillJSON(o.output, params); err != nil {
			return err
		}
		if len(o.output) > MaxOutputBytes {
			return Errorf(CodeOutputFormatting, "the output with parameters is larger than Step Functions' %d bytes", MaxOutputBytes)
		}
	case Failure:
		if o.errCode, err = fillString(o.errCode, params); err != nil {
			return err
		}
		if o.cause, err = fillString(o.cause, params); err != nil {
			return err
		}
		if utf8.RuneCountInString(o.errCode) > MaxErrorLength || utf8.RuneCountInString(o.cause) > MaxCauseLength {
			return Errorf(CodeOutputFormatting, "the error or cause with parameters is longer than Step Functions allows")
		}
	}
	return nil
}

// PostActions compiles and evaluates the outcomes of post actions (the
// JSON Schema and JSONPath machinery lives outside the core).
type PostActions interface {
	// Compile checks an action's outcome list when its URL is created and
	// returns the form to store in the payload. Problems are *Error values
	// (InvalidPostActionOutcome, InvalidJsonPath).
	Compile(outcomes json.RawMessage) (json.RawMessage, error)
	// Select picks the first outcome whose schema accepts body (a JSON
	// document) and says what to send. No match is InvalidPostActionBody.
	Select(outcomes json.RawMessage, body []byte) (*PostOutcome, error)
}

// PostOutcome is the outcome a post action's body selected.
type PostOutcome struct {
	Name     string
	Type     ActionType // Success, Failure or Heartbeat
	Output   json.RawMessage
	Error    string
	Cause    string
	Response *ResponseSpec
}

func (s *Service) postOutcome(req *CallbackRequest, p *Payload, res *CallbackResult) (outcome, error) {
	if !s.cfg.EnablePostActions || s.cfg.PostActions == nil {
		return outcome{}, Errorf(CodePostActionsDisabled, "post actions are disabled in this deployment")
	}
	if req.Method != http.MethodPost {
		return outcome{}, &Error{Code: CodeMethodNotAllowed, Status: http.StatusMethodNotAllowed,
			Message: "a post action URL only accepts POST with a JSON body"}
	}
	if !IsJSONContentType(req.ContentType) {
		return outcome{}, &Error{Code: CodeUnsupportedMedia, Status: http.StatusUnsupportedMediaType,
			Message: "a post action URL only accepts Content-Type: application/json"}
	}
	if len(req.Body) > MaxPostBodyBytes {
		return outcome{}, &Error{Code: CodeBodyTooLarge, Status: http.StatusRequestEntityTooLarge,
			Message: fmt.Sprintf("the body is larger than %d bytes", MaxPostBodyBytes)}
	}
	if !json.Valid(req.Body) {
		return outcome{}, Errorf(CodeInvalidPostActionBody, "the body is not valid JSON")
	}
	sel, err := s.cfg.PostActions.Select(p.Outcomes, req.Body)
	if err != nil {
		return outcome{}, err
	}
	res.Outcome = sel.Name
	if sel.Response != nil {
		res.Response = sel.Response
	}
	o := outcome{typ: sel.Type, output: sel.Output, errCode: sel.Error, cause: sel.Cause}
	switch {
	case o.typ == Success && len(o.output) > MaxOutputBytes:
		return outcome{}, Errorf(CodeOutputFormatting, "the selected output is larger than Step Functions' %d bytes", MaxOutputBytes)
	case o.typ == Failure && (utf8.RuneCountInString(o.errCode) > MaxErrorLength || utf8.RuneCountInString(o.cause) > MaxCauseLength):
		return outcome{}, Errorf(CodeOutputFormatting, "the selected error or cause is longer than Step Functions allows")
	case o.typ != Success && o.typ != Failure && o.typ != Heartbeat:
		return outcome{}, Errorf(CodeInvalidPayload, "the post action selected an unknown outcome type")
	}
	return o, nil
}

// IsJSONContentType reports whether a Content-Type names JSON
// (application/json or application/*+json, any parameters).
func IsJSONContentType(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")))
}

func (s *Service) decode(ctx context.Context, q url.Values) (*Payload, error) {
	values := q[QueryData]
	switch {
	case len(values) == 0 || values[0] == "":
		return nil, Errorf(CodeInvalidPayload, "the URL has no data parameter: it was cut or changed")
	case len(values) > 1:
		return nil, Errorf(CodeInvalidPayload, "the URL has more than one data parameter")
	case len(values[0]) > MaxDataLength:
		return nil, Errorf(CodeInvalidPayload, "the data parameter is longer than any this service creates")
	}
	p, err := s.codec.Decode(ctx, values[0])
	if err != nil {
		return nil, AsError(err)
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	return p, nil
}

// check holds a decoded payload to the limits CreateUrls enforces. An
// encrypted payload passed them when it was made; an unencrypted one can
// be written by anyone, and must not carry bad input to Step Functions.
func (p *Payload) check() error {
	bad := func(what string) error {
		return Errorf(CodeInvalidPayload, "the payload's %s is not valid", what)
	}
	switch {
	case p.Token == "" || !utf8.ValidString(p.Token) || utf8.RuneCountInString(p.Token) > MaxTokenLength:
		return bad("token")
	case !ValidActionName(p.Action):
		return bad("action name")
	case !p.Type.Valid():
		return bad("action type")
	case p.Type == Success && (len(p.Output) > MaxOutputBytes || !json.Valid(p.Output)):
		return bad("output")
	case utf8.RuneCountInString(p.Error) > MaxErrorLength || utf8.RuneCountInString(p.Cause) > MaxCauseLength:
		return bad("error or cause")
	}
	return nil
}

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

func responseSpec(raw json.RawMessage, params map[string]string) (*ResponseSpec, error) {
	var spec ResponseSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		return nil, Errorf(CodeInvalidPayload, "the payload's response spec is damaged")
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
		// to another host, and the result must still be an absolute URL.
		if spec.Redirect, err = fillStringWith(spec.Redirect, params, url.QueryEscape); err != nil {
			return nil, err
		}
		if u, err := url.Parse(spec.Redirect); err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return nil, Errorf(CodeOutputFormatting, "the redirect with parameters is not an absolute http or https URL")
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

// checkTemplates refuses at creation the placeholders no callback could
// fill (bad syntax, a parameter in a redirect's host): every click on such
// a URL would fail. A missing parameter is still the callback's business.
func checkTemplates(a *Action) error {
	var err error
	switch {
	case a.Type == Success && a.Output != nil:
		_, err = fillJSON(a.Output, nil)
	case a.Type == Failure:
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

// fillJSON substitutes parameters in every string (keys included) of a
// JSON document.
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
	out, err := marshalNoEscape(v)
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
			key, err := fillString(k, params)
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
				return "", Errorf(CodeOutputFormatting, "invalid placeholder in %q: use $name, ${name} or $$", truncate(s, 40))
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

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// String describes a result for logs without secrets.
func (r *CallbackResult) String() string {
	return fmt.Sprintf("tid=%s action=%s type=%s sent=%t", r.TransactionID, r.Action, r.Type, r.Sent)
}
