package client

import (
	"encoding/json"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/jsontext"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// Request is a CreateUrls request: a task token or a durable callback id,
// and the actions to make URLs for.
type Request struct {
	// Token is the task token ($$.Task.Token in the state machine, or the
	// activity task's token). It or CallbackID is required, not both.
	Token string
	// CallbackID is a Lambda durable function's callback id (its
	// waitForCallback submitter's or createCallback's): the URLs' actions
	// then send SendDurableExecutionCallbackSuccess, ...Failure (error as
	// ErrorType, cause as ErrorMessage) and ...Heartbeat.
	CallbackID string
	// Actions are the outcomes, one URL each. At least one; names unique.
	Actions []Action
	// Expiration is when the URLs stop working (zero: never). It is sent as
	// RFC 3339 in UTC with its sub-second digits; the service enforces it
	// to the second.
	Expiration time.Time
	// Title and Description tell the person on the confirmation and result
	// pages what is being decided (plain text). They are additions to the
	// Python sfn-callback-urls request, which refuses them.
	Title, Description string
	// EnableOutputParameters fills $name placeholders of outputs, errors,
	// causes and responses from the callback URL's query (the deployment
	// must allow it).
	EnableOutputParameters bool
	// BaseURL overrides the base of the URLs (an absolute http or https URL
	// without query); empty: the deployment's.
	BaseURL string
	// Approvers are who may make the success and failure decisions: email
	// addresses, "@example.com" for a whole domain, "slack:U0123ABCD" for
	// a Slack user. A person signs in (the deployment's OpenID Connect
	// provider) before deciding, and the target receives who decided in an
	// "approval" member with a signed receipt. Requester is an address
	// that may never decide (no self-approval). Receipt asks for a signed
	// receipt without approvers. Additions to the Python service.
	Approvers []string
	Requester string
	Receipt   bool
	// Messages asks for ready-made messages in the answer
	// (MessageEmail, MessageTeams, MessageSlack); MessageActions names the
	// actions they show (default: the success and failure ones). Deliver
	// has the service send the ask (email, SNS) and, with Confirm, a
	// confirmation after the decision. See docs/MESSAGES.md.
	Messages       []string
	MessageActions []string
	Deliver        *Deliver
}

// The kinds of ready-made message.
const (
	MessageEmail = callbackurls.MessageEmail
	MessageTeams = callbackurls.MessageTeams
	MessageSlack = callbackurls.MessageSlack
)

// Deliver, EmailDelivery and SNSDelivery say where the service sends the
// ask (Request.Deliver).
type (
	Deliver       = callbackurls.Deliver
	EmailDelivery = callbackurls.EmailDelivery
	SNSDelivery   = callbackurls.SNSDelivery
)

// The action and outcome types.
const (
	TypeSuccess   = "success"
	TypeFailure   = "failure"
	TypeHeartbeat = "heartbeat"
	TypePost      = "post"
)

// Action is one named outcome of a Request; each gets its own URL. Make
// one with Success, Failure, Heartbeat or Post and dress it with the With
// methods, which return a changed copy.
type Action struct {
	name, typ    string
	output       any
	errorCode    string
	cause        string
	outcomes     []Outcome
	label        string
	confirm      *bool
	input        any
	response     *Response
	hasOutput    bool
	hasErrorCode bool
	hasCause     bool
}

// Success is an action that sends SendTaskSuccess with output, any value
// encoding/json marshals (a json.RawMessage is sent as it is; nil is JSON
// null).
func Success(name string, output any) Action {
	return Action{name: name, typ: TypeSuccess, output: output, hasOutput: true}
}

// Failure is an action that sends SendTaskFailure with errorCode and cause;
// an empty string sends none.
func Failure(name, errorCode, cause string) Action {
	return Action{name: name, typ: TypeFailure, errorCode: errorCode, cause: cause,
		hasErrorCode: errorCode != "", hasCause: cause != ""}
}

// Heartbeat is an action that sends SendTaskHeartbeat; its URL can be used
// many times.
func Heartbeat(name string) Action {
	return Action{name: name, typ: TypeHeartbeat}
}

// Post is a webhook action: a URL for a machine to POST JSON to, the first
// outcome whose schema accepts the body being sent (the deployment must
// allow post actions).
func Post(name string, outcomes ...Outcome) Action {
	return Action{name: name, typ: TypePost, outcomes: outcomes}
}

// Name is the action's name.
func (a Action) Name() string { return a.name }

// Type is the action's type: TypeSuccess, TypeFailure, TypeHeartbeat or
// TypePost.
func (a Action) Type() string { return a.typ }

// WithLabel sets the text of the action's button on the pages (default:
// the name in words).
func (a Action) WithLabel(label string) Action {
	a.label = label
	return a
}

// WithConfirm sets whether a browser's GET shows a confirmation page before
// acting (default: success and failure confirm, heartbeats do not).
func (a Action) WithConfirm(confirm bool) Action {
	a.confirm = &confirm
	return a
}

// WithInput adds a form to the action's confirmation page: schema is a JSON
// Schema object (a map, a struct or a json.RawMessage) of the values asked
// for. A success action's output must then be a JSON object; the values
// arrive in its "input" member (a failure's in its cause).
func (a Action) WithInput(schema any) Action {
	a.input = schema
	return a
}

// WithResponse replaces the service's answer to a successful callback.
func (a Action) WithResponse(r Response) Action {
	a.response = &r
	return a
}

// Response replaces the body a callback is answered with: Redirect (303 to
// the URL) wins; otherwise JSON, HTML and Text replace the body of their
// content type.
type Response struct {
	Redirect string `json:"redirect,omitempty"`
	JSON     any    `json:"json,omitempty"` // a JSON object
	HTML     string `json:"html,omitempty"`
	Text     string `json:"text,omitempty"`
}

// Outcome is one outcome of a post action (see docs/WEBHOOKS.md): the first
// whose Schema accepts the POSTed body is sent. A success needs exactly one
// of Output, OutputBody and OutputPath; a failure may have an error and a
// cause, each fixed or a JSONPath.
type Outcome struct {
	Name   string `json:"name"`
	Type   string `json:"type"`   // TypeSuccess, TypeFailure or TypeHeartbeat
	Schema any    `json:"schema"` // a JSON Schema; true accepts any body
	// Output is a fixed output; OutputBody sends the body itself;
	// OutputPath sends the array of the body's matches of an RFC 9535
	// JSONPath.
	Output     any    `json:"output,omitempty"`
	OutputBody bool   `json:"output_body,omitempty"`
	OutputPath string `json:"output_path,omitempty"`
	Error      string `json:"error,omitempty"`
	ErrorPath  string `json:"error_path,omitempty"`
	Cause      string `json:"cause,omitempty"`
	CausePath  string `json:"cause_path,omitempty"`
	// Response replaces the action's response when this outcome is chosen.
	Response *Response `json:"response,omitempty"`
}

// encodeRequest is the request's JSON body. With check, it is also
// checked as the service checks it before looking at its deployment's
// settings (callbackurls.CreateRequest.Validate, the base URL's form, the
// body's size), so such mistakes are reported without a round trip and with
// the service's codes and messages.
func encodeRequest(r *Request, check bool) ([]byte, error) {
	target := callbackurls.TargetRef{Kind: callbackurls.TaskToken, ID: r.Token}
	if r.CallbackID != "" {
		if r.Token != "" {
			// One reference a request: the service refuses both.
			return nil, &Error{Code: string(ErrInvalidJSON), Message: "token and callback_id: give exactly one", Local: true}
		}
		target = callbackurls.TargetRef{Kind: callbackurls.DurableCallback, ID: r.CallbackID}
	}
	req := callbackurls.CreateRequest{
		Target:                 target,
		Actions:                make([]callbackurls.Action, len(r.Actions)),
		EnableOutputParameters: r.EnableOutputParameters,
		Title:                  r.Title,
		Description:            r.Description,
		Approvers:              r.Approvers,
		Requester:              r.Requester,
		Receipt:                r.Receipt,
		Messages:               r.Messages,
		MessageActions:         r.MessageActions,
		Deliver:                r.Deliver,
	}
	if !r.Expiration.IsZero() {
		req.Expiration = r.Expiration.UTC().Format(time.RFC3339Nano)
	}
	if r.BaseURL != "" {
		req.BaseURL = &callbackurls.BaseURL{URL: r.BaseURL}
	}
	for i := range r.Actions {
		if err := r.Actions[i].wire(&req.Actions[i]); err != nil {
			return nil, err
		}
	}
	if check {
		if err := req.Validate(); err != nil {
			return nil, localError(err)
		}
		if r.BaseURL != "" {
			if _, err := callbackurls.CheckBaseURL(r.BaseURL); err != nil {
				return nil, localError(err)
			}
		}
	}
	body, err := jsontext.Marshal(&req)
	if err != nil {
		return nil, &Error{Code: string(ErrInvalidJSON), Message: "the request cannot be encoded as JSON", Local: true, err: err}
	}
	if check && len(body) > callbackurls.MaxCreateBodyBytes {
		return nil, localError(callbackurls.ErrBodyTooLarge(callbackurls.MaxCreateBodyBytes))
	}
	return body, nil
}

// wire fills the service's form of the action.
func (a *Action) wire(w *callbackurls.Action) error {
	w.Name, w.Type, w.Label, w.Confirm = a.name, callbackurls.ActionType(a.typ), a.label, a.confirm
	var err error
	if a.hasOutput {
		if w.Output, err = marshalField(a.name, "output", a.output); err != nil {
			return err
		}
	}
	if a.hasErrorCode {
		w.Error = &a.errorCode
	}
	if a.hasCause {
		w.Cause = &a.cause
	}
	if a.outcomes != nil {
		if w.Outcomes, err = marshalField(a.name, "outcomes", a.outcomes); err != nil {
			return err
		}
	}
	if a.input != nil {
		if w.Input, err = marshalField(a.name, "input", a.input); err != nil {
			return err
		}
	}
	if a.response != nil {
		spec := &callbackurls.ResponseSpec{Redirect: a.response.Redirect}
		if a.response.JSON != nil {
			if spec.JSON, err = marshalField(a.name, "response.json", a.response.JSON); err != nil {
				return err
			}
		}
		if a.response.HTML != "" {
			spec.HTML = &a.response.HTML
		}
		if a.response.Text != "" {
			spec.Text = &a.response.Text
		}
		w.Response = spec
	}
	return nil
}

func marshalField(action, field string, v any) (json.RawMessage, error) {
	b, err := jsontext.Marshal(v)
	if err != nil {
		return nil, &Error{Code: string(ErrInvalidJSON), Local: true, err: err,
			Message: "action " + action + ": " + field + " cannot be encoded as JSON: " + err.Error()}
	}
	return b, nil
}
