package callbackurls

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/jsontext"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/text"
)

// Limits on a CreateUrls request. Step Functions' own limits are used where
// it has one, so that a URL never carries something it would refuse.
const (
	MaxTokenLength     = 2048   // characters, Step Functions' limit
	MaxActions         = 64     // URLs per call
	MaxActionName      = 128    // characters
	MaxOutputBytes     = 262144 // SendTaskSuccess output limit
	MaxErrorLength     = 256    // SendTaskFailure error limit
	MaxCauseLength     = 32768  // SendTaskFailure cause limit
	MaxCreateBodyBytes = 1 << 20
)

// CreateRequest is the body of POST /urls and of a direct CreateUrls invoke.
type CreateRequest struct {
	// Target is what the URLs' decisions are for. A request names it with
	// its kind's member: "token" for a task token (see TargetSpec.Field).
	Target                 TargetRef `json:"-"`
	Actions                []Action  `json:"actions"`
	Expiration             string    `json:"expiration,omitempty"`
	EnableOutputParameters bool      `json:"enable_output_parameters,omitempty"`
	BaseURL                *BaseURL  `json:"base_url,omitempty"`
	// Title and Description tell the person on the confirmation and
	// result pages what is being decided (plain text; an addition to the
	// reference's request).
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	// Messages asks for ready-made messages (email, teams, slack) in the
	// response; MessageActions names the actions they show (default: the
	// success and failure ones); Deliver sends the ask (see delivery.go).
	Messages       []string `json:"messages,omitempty"`
	MessageActions []string `json:"message_actions,omitempty"`
	Deliver        *Deliver `json:"deliver,omitempty"`
}

// requestFields are the members of a request besides the target's
// reference, in the order messages list them: the reference's schema
// allows only its five (additionalProperties: false), and this service
// adds title and description (for the pages), and messages,
// message_actions and deliver (docs/MESSAGES.md). Action objects stay open, as in the
// reference.
var requestFields = []string{"actions", "expiration", "enable_output_parameters", "base_url", "title", "description",
	"messages", "message_actions", "deliver"}

// createRequestJSON is a request's members but the reference, as encoding/json
// reads and writes them.
type createRequestJSON CreateRequest

// MarshalJSON writes the request with its reference under its kind's member.
func (r CreateRequest) MarshalJSON() ([]byte, error) {
	rest, err := jsontext.Marshal((*createRequestJSON)(&r))
	if err != nil {
		return nil, err
	}
	spec := r.Target.Kind.Spec()
	if spec == nil || r.Target.ID == "" {
		return rest, nil
	}
	ref, err := jsontext.Marshal(r.Target.ID)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(rest)+len(spec.Field)+len(ref)+4)
	out = append(out, '{', '"')
	out = append(out, spec.Field...)
	out = append(out, '"', ':')
	out = append(out, ref...)
	if len(rest) > 2 {
		out = append(out, ',')
	}
	return append(out, rest[1:]...), nil
}

// UnmarshalJSON reads a request: its members and its reference.
func (r *CreateRequest) UnmarshalJSON(data []byte) error {
	if err := json.Unmarshal(data, (*createRequestJSON)(r)); err != nil {
		return err
	}
	return eachMember(data, func(key, value []byte) error {
		spec := targetOfField(key)
		if spec == nil {
			return nil
		}
		var id *string
		if err := json.Unmarshal(value, &id); err != nil {
			return Errorf(CodeInvalidJSON, "%s: expected a string, got %s", spec.Field, jsonValueType(value))
		}
		if id != nil {
			r.Target = TargetRef{Kind: spec.Kind, ID: *id}
		}
		return nil
	})
}

// targetOfField is the kind of target whose request member key is, or nil.
func targetOfField(key []byte) *TargetSpec {
	for i := range targetSpecs {
		if string(key) == targetSpecs[i].Field {
			return &targetSpecs[i]
		}
	}
	return nil
}

// Action is one named outcome; each gets its own URL.
type Action struct {
	Name     string          `json:"name"`
	Type     ActionType      `json:"type"`
	Output   json.RawMessage `json:"output,omitempty"`
	Error    *string         `json:"error,omitempty"`
	Cause    *string         `json:"cause,omitempty"`
	Response *ResponseSpec   `json:"response,omitempty"`
	Outcomes json.RawMessage `json:"outcomes,omitempty"`
	// Label is the button's text (default: the name in words); Confirm
	// overrides whether a browser's GET asks for confirmation; Input is a
	// JSON Schema of values for a form on the confirmation page. All three
	// are additions to the reference's request.
	Label   string          `json:"label,omitempty"`
	Confirm *bool           `json:"confirm,omitempty"`
	Input   json.RawMessage `json:"input,omitempty"`
}

// ResponseSpec replaces the success response of a callback: a redirect, or
// a body per content type.
type ResponseSpec struct {
	Redirect string          `json:"redirect,omitempty"`
	JSON     json.RawMessage `json:"json,omitempty"`
	HTML     *string         `json:"html,omitempty"`
	Text     *string         `json:"text,omitempty"`
}

// BaseURL is either a URL string or an API Gateway API reference.
type BaseURL struct {
	URL    string
	APIID  string
	Stage  string
	Region string
}

// UnmarshalJSON accepts "https://..." or {"api_id", "stage", "region"}.
func (b *BaseURL) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		return json.Unmarshal(data, &b.URL)
	}
	var obj struct {
		APIID  *string `json:"api_id"`
		Stage  *string `json:"stage"`
		Region *string `json:"region"`
	}
	if len(data) == 0 || data[0] != '{' {
		return Errorf(CodeInvalidJSON, "base_url: must be a URL string or an object with api_id, stage and region")
	}
	if err := json.Unmarshal(data, &obj); err != nil {
		return Errorf(CodeInvalidJSON, "base_url: api_id, stage and region must be strings")
	}
	if obj.APIID == nil || obj.Stage == nil {
		return Errorf(CodeInvalidJSON, "base_url: api_id and stage are required")
	}
	b.APIID, b.Stage = *obj.APIID, *obj.Stage
	if obj.Region != nil {
		b.Region = *obj.Region
	}
	return nil
}

// MarshalJSON writes the form UnmarshalJSON reads.
func (b BaseURL) MarshalJSON() ([]byte, error) {
	if b.URL != "" {
		return json.Marshal(b.URL)
	}
	return json.Marshal(map[string]string{"api_id": b.APIID, "stage": b.Stage, "region": b.Region})
}

// APIGatewayURL is the invoke URL of a REST API stage.
func APIGatewayURL(apiID, stage, region string) string {
	return "https://" + apiID + ".execute-api." + region + ".amazonaws.com/" + stage
}

// Resolve returns the base URL as a string, checked, without a trailing slash.
func (b *BaseURL) Resolve(defaultRegion string) (string, error) {
	if b.URL == "" {
		region := b.Region
		if region == "" {
			region = defaultRegion
		}
		switch {
		case !validAPIID(b.APIID):
			return "", Errorf(CodeInvalidBaseURL, "base_url.api_id must be an API Gateway API id (lower-case letters and digits)")
		case !validStage(b.Stage):
			return "", Errorf(CodeInvalidBaseURL, "base_url.stage must be a stage name (letters, digits, '-' and '_')")
		case region == "":
			return "", Errorf(CodeInvalidBaseURL, "base_url.region is required: this deployment has no default region")
		case !validRegion(region):
			return "", Errorf(CodeInvalidBaseURL, "base_url.region %q is not an AWS region name", region)
		}
		return APIGatewayURL(b.APIID, b.Stage, region), nil
	}
	return CheckBaseURL(b.URL)
}

// CheckBaseURL validates a base URL string: absolute http(s), a host, a
// port (if any) from 1 to 65535, no query or fragment (the callback path
// and query are appended to it).
func CheckBaseURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return "", Errorf(CodeInvalidBaseURL, "base_url must be an absolute http or https URL")
	}
	// url.Parse takes any digits as a port; no client can reach port 0 or
	// 99999, and "host:" is a typo.
	if port := u.Port(); port != "" || strings.HasSuffix(u.Host, ":") {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", Errorf(CodeInvalidBaseURL, "base_url port %q must be a number from 1 to 65535", text.Truncate(port, 16))
		}
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(s, "?#") {
		return "", Errorf(CodeInvalidBaseURL, "base_url must not have a query or a fragment")
	}
	// It is copied into every URL as it is: it must already be in URL form
	// (no spaces or other characters that need escaping).
	if u.String() != s {
		return "", Errorf(CodeInvalidBaseURL, "base_url must be a URL in its escaped form (for example %%20 for a space)")
	}
	return strings.TrimRight(s, "/"), nil
}

// ParseCreateRequest decodes and validates a CreateUrls body. Every problem
// is an *Error with a 4xx status: InvalidJSON for anything that does not have
// the request's shape (as the reference's schema validation), InvalidAction
// for values beyond Step Functions' limits, InvalidDate for expirations.
func ParseCreateRequest(body []byte) (*CreateRequest, error) {
	if len(body) > MaxCreateBodyBytes {
		return nil, ErrBodyTooLarge(MaxCreateBodyBytes)
	}
	var req CreateRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, jsonError(err)
	}
	if err := checkRequestFields(body); err != nil {
		return nil, err
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	return &req, nil
}

// jsonError explains a decoding failure without echoing the input.
func jsonError(err error) *Error {
	var apiErr *Error
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &apiErr):
		return apiErr
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return Errorf(CodeInvalidJSON, "the request must be a JSON object")
		}
		return Errorf(CodeInvalidJSON, "%s: expected %s, got %s", field, jsonTypeName(typeErr.Type.Kind().String()), typeErr.Value)
	case errors.As(err, &syntaxErr):
		return Errorf(CodeInvalidJSON, "the body is not valid JSON (at byte %d)", syntaxErr.Offset)
	default:
		return Errorf(CodeInvalidJSON, "the body is not valid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
}

// jsonValueType names a JSON value's type as encoding/json's errors do.
func jsonValueType(v []byte) string {
	switch {
	case len(v) == 0:
		return "nothing"
	case v[0] == '"':
		return "string"
	case v[0] == '{':
		return "object"
	case v[0] == '[':
		return "array"
	case v[0] == 't' || v[0] == 'f':
		return "bool"
	}
	return "number"
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	case "bool":
		return "a boolean"
	}
	return kind
}

// Validate checks everything that does not depend on the deployment.
func (r *CreateRequest) Validate() error {
	spec := r.Target.Kind.Spec()
	if spec == nil || r.Target.ID == "" {
		if len(targetSpecs) == 1 {
			return Errorf(CodeInvalidJSON, "%s is required", targetSpecs[0].Field)
		}
		return Errorf(CodeInvalidJSON, "%s is required: give exactly one", targetFieldList("or"))
	}
	if !spec.Valid(r.Target.ID) {
		return Errorf(CodeInvalidJSON, "%s", spec.invalidText(r.Target.ID))
	}
	if utf8.RuneCountInString(r.Title) > MaxTitleLength {
		return Errorf(CodeInvalidJSON, "title is longer than %d characters", MaxTitleLength)
	}
	if utf8.RuneCountInString(r.Description) > MaxDescriptionLength {
		return Errorf(CodeInvalidJSON, "description is longer than %d characters", MaxDescriptionLength)
	}
	if len(r.Actions) == 0 {
		return Errorf(CodeInvalidJSON, "actions is required: a list of at least one action")
	}
	if len(r.Actions) > MaxActions {
		return Errorf(CodeInvalidJSON, "actions: at most %d actions per call (got %d)", MaxActions, len(r.Actions))
	}
	seen := make(map[string]bool, len(r.Actions))
	for i := range r.Actions {
		a := &r.Actions[i]
		if err := a.validate(i); err != nil {
			return err
		}
		if seen[a.Name] {
			return Errorf(CodeDuplicateActionName, "action %s provided more than once", a.Name)
		}
		seen[a.Name] = true
	}
	return r.validateMessages()
}

// ValidActionName reports whether name matches the reference's ^\w+$, with
// \w taken as Unicode letters, digits and underscore as Python's re does.
func ValidActionName(name string) bool {
	if name == "" || utf8.RuneCountInString(name) > MaxActionName {
		return false
	}
	for _, r := range name {
		if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r) {
			return false
		}
	}
	return true
}

func (a *Action) validate(i int) error {
	where := fmt.Sprintf("actions[%d]", i)
	if a.Name == "" {
		return Errorf(CodeInvalidJSON, "%s.name is required", where)
	}
	if !ValidActionName(a.Name) {
		return Errorf(CodeInvalidJSON, "%s.name must be 1 to %d letters, digits or underscores", where, MaxActionName)
	}
	where = "action " + a.Name
	if a.Type == "" {
		return Errorf(CodeInvalidJSON, "%s: type is required", where)
	}
	if !a.Type.Valid() {
		return Errorf(CodeInvalidJSON, "%s: type must be %s", where, TypeList(func(*ActionSpec) bool { return true }))
	}
	spec := a.Type.Spec()
	if spec.Output {
		if a.Output == nil {
			return Errorf(CodeInvalidJSON, "%s: output is required for a %s action", where, a.Type)
		}
		if len(a.Output) > MaxOutputBytes {
			return Errorf(CodeInvalidAction, "%s: output is larger than Step Functions' %d bytes", where, MaxOutputBytes)
		}
	}
	if spec.ErrorCause {
		if a.Error != nil && utf8.RuneCountInString(*a.Error) > MaxErrorLength {
			return Errorf(CodeInvalidAction, "%s: error is longer than Step Functions' %d characters", where, MaxErrorLength)
		}
		if a.Cause != nil && utf8.RuneCountInString(*a.Cause) > MaxCauseLength {
			return Errorf(CodeInvalidAction, "%s: cause is longer than Step Functions' %d characters", where, MaxCauseLength)
		}
	}
	if !spec.Decides && (a.Outcomes == nil || bytes.Equal(a.Outcomes, []byte("null"))) {
		return Errorf(CodeInvalidJSON, "%s: outcomes is required for a %s action", where, a.Type)
	}
	if a.Response != nil {
		if err := a.Response.validate(where); err != nil {
			return err
		}
	}
	return a.validatePresentation(where)
}

func (s *ResponseSpec) validate(where string) error {
	if s.Redirect != "" {
		u, err := url.Parse(s.Redirect)
		if err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return Errorf(CodeInvalidJSON, "%s: response.redirect must be an absolute http or https URL", where)
		}
	}
	if s.JSON != nil && !bytes.HasPrefix(bytes.TrimSpace(s.JSON), []byte("{")) {
		return Errorf(CodeInvalidJSON, "%s: response.json must be an object", where)
	}
	return nil
}

// expirationLayouts are the RFC 3339 / ISO 8601 date-time forms accepted.
// All of them carry an offset: a local time would mean something different
// on every machine.
var expirationLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04Z07:00",
}

// ParseExpiration parses an expiration date-time with an offset. The
// time keeps the offset it was written with.
func ParseExpiration(s string) (time.Time, error) {
	for _, layout := range expirationLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			if !validOffset(s) {
				return time.Time{}, Errorf(CodeInvalidDate, "expiration %q has a UTC offset beyond RFC 3339's: hours 00 to 23, minutes 00 to 59", text.Truncate(s, 64))
			}
			return t, nil
		}
	}
	if _, err := time.Parse("2006-01-02T15:04:05.999999999", s); err == nil {
		return time.Time{}, Errorf(CodeInvalidDate, "expiration %q has no UTC offset: add Z or an offset such as +02:00", s)
	}
	return time.Time{}, Errorf(CodeInvalidDate, "expiration %q is not an RFC 3339 date-time (example: 2026-01-02T15:04:05Z)", s)
}

// validOffset checks the offset at the end of a date-time that parsed:
// time.Parse takes hours up to 24 and minutes up to 60, which RFC 3339
// does not.
func validOffset(s string) bool {
	if strings.HasSuffix(s, "Z") {
		return true
	}
	var hh, mm string
	switch {
	case len(s) > 6 && (s[len(s)-6] == '+' || s[len(s)-6] == '-') && s[len(s)-3] == ':':
		hh, mm = s[len(s)-5:len(s)-3], s[len(s)-2:]
	case len(s) > 5 && (s[len(s)-5] == '+' || s[len(s)-5] == '-'):
		hh, mm = s[len(s)-4:len(s)-2], s[len(s)-2:]
	default:
		return false
	}
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	return err1 == nil && err2 == nil && h <= 23 && m <= 59
}

// checkRequestFields refuses a top-level member that is not a request
// field, exactly as spelt (encoding/json would match "Token" to token and
// silently drop "expiraton"), and more than one reference. body is valid
// JSON: it has been decoded.
func checkRequestFields(body []byte) error {
	var unknown []string
	var kinds, refs int
	err := eachMember(body, func(key, _ []byte) error {
		spec := targetOfField(key)
		switch {
		case spec != nil:
			if kinds&(1<<spec.Kind) == 0 {
				kinds |= 1 << spec.Kind
				refs++
			}
		case !isRequestField(key):
			unknown = append(unknown, string(key))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if refs > 1 {
		return Errorf(CodeInvalidJSON, "%s: give exactly one", targetFieldList("and"))
	}
	if len(unknown) == 0 {
		return nil
	}
	key := unknown[0]
	known := append(targetFields(), requestFields...)
	msg := fmt.Sprintf("unknown field %q", text.Truncate(key, 64))
	if near := text.Nearest(key, known); near != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", near)
	} else {
		msg += ": a request has " + strings.Join(known[:len(known)-1], ", ") + " and " + known[len(known)-1]
	}
	if len(unknown) > 1 {
		msg += fmt.Sprintf("; and %d more unknown field(s)", len(unknown)-1)
	}
	return Errorf(CodeInvalidJSON, "%s", msg)
}

func isRequestField(key []byte) bool {
	for _, f := range requestFields {
		if string(key) == f {
			return true
		}
	}
	return false
}

// targetFields are the request members that name a target's reference.
func targetFields() []string {
	out := make([]string, len(targetSpecs))
	for i := range targetSpecs {
		out[i] = targetSpecs[i].Field
	}
	return out
}

// targetFieldList names the reference members for messages: "token", or
// "token or callback_id" (conj "or").
func targetFieldList(conj string) string {
	f := targetFields()
	if len(f) == 1 {
		return f[0]
	}
	return strings.Join(f[:len(f)-1], ", ") + " " + conj + " " + f[len(f)-1]
}
