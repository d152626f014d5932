package callbackurls

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Intent is what the caller of a callback URL asks for.
type Intent uint8

const (
	// Act sends the outcome: a program's GET or POST, or a person's
	// confirmed form.
	Act Intent = iota
	// Confirm is a person opening the URL (or a robot that looks like one,
	// such as a mail link scanner): the outcome is sent only if the action
	// needs no confirmation, else the result only says that it does.
	Confirm
)

// Submission is what a callback brings besides its URL.
type Submission struct {
	Intent Intent
	// Preview checks everything and sends nothing (a HEAD).
	Preview bool
	// Body is a post action's JSON document, or an action's input values
	// as a JSON object when Form is nil.
	Body []byte
	// Form holds the fields of a person's form, nil for anything else. An
	// action's input values come from it, else from Body.
	Form url.Values
}

// Callback is an opened callback URL: its payload decoded and checked, its
// parameters filled in, ready to act on. Open returns one even when a check
// fails, so that the caller can say what the URL was for.
type Callback struct {
	TransactionID string
	Action        string
	Type          ActionType
	// Payload is the decoded payload (nil if decoding failed).
	Payload *Payload
	// Presentation is what pages show about the action (never nil once
	// the payload is decoded).
	Presentation *Presentation
	// Response is the action's response spec with parameters filled in, or
	// nil for the service's own bodies.
	Response *ResponseSpec
	// NeedsConfirmation reports that a person opening the URL is asked to
	// confirm before anything is sent (see Presentation.NeedsConfirmation).
	NeedsConfirmation bool

	decision Decision // what it sends, parameters filled (not a post action's)
}

// CallbackResult says what a callback did. It is returned, partly filled,
// with an error too, so that the transaction id reaches the caller.
type CallbackResult struct {
	*Callback // never nil
	// Outcome is the post action outcome the body selected.
	Outcome string
	// Sent reports whether the target was called and accepted the decision.
	Sent bool
	// Confirm reports that nothing was sent because a person must confirm
	// first: show the confirmation page.
	Confirm bool
	// Input is the form's values as delivered with the outcome, nil when
	// the action has no input form.
	Input map[string]any
	// InputErrors explains, with an InvalidInput error, what is wrong with
	// each submitted value.
	InputErrors InputErrors
	// Confirmation says what became of the confirmation the payload asks
	// for after a decision (deliver.confirm).
	Confirmation ConfirmationStatus
}

// Open decodes a callback URL's query and checks it against the clock and
// the deployment: the payload's integrity and limits, its expiry, the
// readable action and type, the switches it needs, and its output
// parameters, which it fills in. The returned Callback is never nil.
func (s *Service) Open(ctx context.Context, query url.Values) (*Callback, error) {
	cb := &Callback{}
	p, err := s.decode(ctx, query)
	if err != nil {
		return cb, err
	}
	cb.Payload = p
	cb.TransactionID, cb.Action, cb.Type = p.TransactionID, p.Action, p.Type
	// Parsed first, so that pages for the errors below can say what the
	// link was for.
	if cb.Presentation, err = ParsePresentation(p.Presentation); err != nil {
		return cb, err
	}
	cb.NeedsConfirmation = cb.Presentation.NeedsConfirmation(p.Type, s.cfg.BrowserGET)

	if !p.Expiration.IsZero() && !s.cfg.Now().Before(p.Expiration) {
		return cb, Errorf(CodeExpiredPayload, "this URL expired at %s", p.Expiration.UTC().Format(time.RFC3339))
	}
	if got := query.Get(QueryAction); got != "" && got != p.Action {
		return cb, Errorf(CodeActionMismatched, "the URL says action %q but its payload is for action %q", got, p.Action)
	}
	if got := query.Get(QueryType); got != "" && got != string(p.Type) {
		return cb, Errorf(CodeActionMismatched, "the URL says type %q but its payload is for type %q", got, p.Type)
	}
	if err := s.checkSwitches(!p.Type.Spec().Decides, p.Parameters); err != nil {
		return cb, err
	}
	if !p.Type.Spec().Decides {
		if err := s.cfg.PostActions.Check(p.Outcomes); err != nil {
			return cb, AsError(err)
		}
	}

	var params map[string]string
	if p.Parameters {
		params = queryParameters(query)
	}
	if p.Response != nil {
		if cb.Response, err = responseSpec(p.Response, params); err != nil {
			return cb, err
		}
	}
	cb.decision = Decision{Type: p.Type, Output: p.Output, Error: p.Error, Cause: p.Cause}
	if params != nil {
		if err := cb.decision.fill(params); err != nil {
			return cb, err
		}
	}
	return cb, nil
}

// Act does what the submission asks of an opened URL: for a post action,
// select the outcome its body picks; for a person, stop at the
// confirmation where one is needed; check the input form's values; then,
// unless it is a preview, send the decision to the URL's target.
func (s *Service) Act(ctx context.Context, cb *Callback, sub Submission) (CallbackResult, error) {
	// A value, not a pointer: a callback then allocates what it decodes and
	// little else (BenchmarkCallback).
	res := CallbackResult{Callback: cb}
	d := cb.decision
	if !cb.Type.Spec().Decides {
		sel, err := s.selectPostOutcome(cb, sub.Body)
		if err != nil {
			return res, err
		}
		res.Outcome = sel.Name
		if sel.Response != nil {
			c := *cb
			c.Response = sel.Response
			res.Callback = &c
		}
		d = Decision{Type: sel.Type, Output: sel.Output, Error: sel.Error, Cause: sel.Cause}
	}
	if sub.Intent == Confirm && cb.NeedsConfirmation {
		res.Confirm = true
		return res, nil
	}
	if sub.Preview {
		return res, nil
	}
	if schema := cb.Presentation.Input; schema != nil && cb.Type.Spec().Input {
		values, errs := schema.FromSubmission(sub.Form, sub.Body)
		if errs != nil {
			res.InputErrors = errs
			return res, Errorf(CodeInvalidInput, "%s", errs.Error())
		}
		// After the parameters are filled: a value is never a placeholder.
		if err := d.withInput(values); err != nil {
			return res, err
		}
		res.Input = values
	}
	// The edge's deadline may have passed while the outcome was chosen:
	// say so rather than send late.
	if err := ctx.Err(); err != nil {
		return res, errOutOfTime(err)
	}
	if err := s.send(ctx, cb.Payload.Target, d); err != nil {
		return res, err
	}
	res.Sent = true
	s.confirm(ctx, &res, d)
	return res, nil
}

// errOutOfTime is the error of a callback whose deadline passed before its
// decision was sent: nothing was, and it may be tried again.
func errOutOfTime(err error) *Error {
	e := Unavailablef(CodeServiceError, "the callback took longer than this service allows; nothing was sent: try again")
	e.Err = errors.Join(ErrUnavailable, err)
	return e
}

// send hands the decision to the target of ref's kind. A refusal becomes
// the kind's contract error; no message quotes the reference.
func (s *Service) send(ctx context.Context, ref TargetRef, d Decision) error {
	spec := ref.Kind.Spec()
	target := s.targets[ref.Kind]
	if spec == nil || target == nil {
		return Errorf(CodeServiceError, "this deployment sends no decisions for a %s", ref.Kind)
	}
	err := target.Send(ctx, ref.ID, d)
	if err == nil {
		return nil
	}
	var e *Error
	var te *TargetError
	if errors.As(err, &te) && !errors.As(err, &e) {
		e = te.apiError(ref.Kind)
	} else {
		e = AsError(err)
	}
	// An adapter's detail must not hand the reference to the URL holder.
	if strings.Contains(e.Message, ref.ID) {
		c := *e
		c.Message = strings.ReplaceAll(c.Message, ref.ID, spec.placeholder())
		e = &c
	}
	return e
}

// fill substitutes output parameters, keeping the targets' limits.
func (d *Decision) fill(params map[string]string) error {
	var err error
	spec := d.Type.Spec()
	if spec.Output {
		if d.Output, err = fillJSON(d.Output, params); err != nil {
			return err
		}
		if len(d.Output) > MaxOutputBytes {
			return Errorf(CodeOutputFormatting, "the output with parameters is larger than Step Functions' %d bytes", MaxOutputBytes)
		}
	}
	if spec.ErrorCause {
		if d.Error, err = fillString(d.Error, params); err != nil {
			return err
		}
		if d.Cause, err = fillString(d.Cause, params); err != nil {
			return err
		}
		if utf8.RuneCountInString(d.Error) > MaxErrorLength || utf8.RuneCountInString(d.Cause) > MaxCauseLength {
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
	// Check holds a payload's stored outcome list to Compile's limits when
	// its URL is opened, whatever the key mode (a forged 1- payload can
	// carry anything): a list Compile would refuse is InvalidPayload.
	Check(outcomes json.RawMessage) error
	// Select picks the first outcome whose schema accepts body (a JSON
	// document) and says what to send. No match is InvalidPostActionBody.
	Select(outcomes json.RawMessage, body []byte) (*PostOutcome, error)
}

// PostOutcome is the outcome a post action's body selected.
type PostOutcome struct {
	Name     string
	Type     ActionType // a type whose ActionSpec.PostOutcome is set
	Output   json.RawMessage
	Error    string
	Cause    string
	Response *ResponseSpec
}

// checkSwitches refuses what the deployment's switches turn off: post
// actions, and output parameters (at creation and at every callback, so
// that turning one off also stops the URLs already out).
func (s *Service) checkSwitches(post, params bool) error {
	if post && (!s.cfg.EnablePostActions || s.cfg.PostActions == nil) {
		return Errorf(CodePostActionsDisabled, "post actions are disabled in this deployment")
	}
	if params && !s.cfg.EnableOutputParameters {
		return Errorf(CodeParametersDisabled, "output parameters are disabled in this deployment")
	}
	return nil
}

// selectPostOutcome picks a post action's outcome for a JSON body (the
// edge has checked that it is a POST of JSON).
func (s *Service) selectPostOutcome(cb *Callback, body []byte) (*PostOutcome, error) {
	if err := s.checkSwitches(true, false); err != nil {
		return nil, err
	}
	if len(body) > MaxPostBodyBytes {
		return nil, ErrBodyTooLarge(MaxPostBodyBytes)
	}
	if !json.Valid(body) {
		return nil, Errorf(CodeInvalidPostActionBody, "the body is not valid JSON")
	}
	sel, err := s.cfg.PostActions.Select(cb.Payload.Outcomes, body)
	if err != nil {
		return nil, err
	}
	spec := sel.Type.Spec()
	switch {
	case spec == nil || !spec.PostOutcome:
		return nil, Errorf(CodeInvalidPayload, "the post action selected an unknown outcome type")
	case spec.Output && len(sel.Output) > MaxOutputBytes:
		return nil, Errorf(CodeOutputFormatting, "the selected output is larger than Step Functions' %d bytes", MaxOutputBytes)
	case spec.ErrorCause && (utf8.RuneCountInString(sel.Error) > MaxErrorLength || utf8.RuneCountInString(sel.Cause) > MaxCauseLength):
		return nil, Errorf(CodeOutputFormatting, "the selected error or cause is longer than Step Functions allows")
	}
	return sel, nil
}

// ErrBodyTooLarge is the RequestTooLarge error for a body over limit bytes.
func ErrBodyTooLarge(limit int) *Error {
	return Errorf(CodeBodyTooLarge, "the request body is larger than %s", byteSize(limit))
}

// byteSize writes a limit as people and programs read it: "256 KiB
// (262144 bytes)".
func byteSize(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + " MiB (" + strconv.Itoa(n) + " bytes)"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + " KiB (" + strconv.Itoa(n) + " bytes)"
	}
	return strconv.Itoa(n) + " bytes"
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
// be written by anyone, and must not carry bad input to a target.
func (p *Payload) check() error {
	bad := func(what string) error {
		return Errorf(CodeInvalidPayload, "the payload's %s is not valid", what)
	}
	target := p.Target.Kind.Spec()
	spec := p.Type.Spec()
	switch {
	case target == nil:
		return bad("target kind")
	case !target.Valid(p.Target.ID):
		return bad(target.Name)
	case !ValidActionName(p.Action):
		return bad("action name")
	case spec == nil:
		return bad("action type")
	case spec.Output && (len(p.Output) > MaxOutputBytes || !json.Valid(p.Output)):
		return bad("output")
	case utf8.RuneCountInString(p.Error) > MaxErrorLength || utf8.RuneCountInString(p.Cause) > MaxCauseLength:
		return bad("error or cause")
	}
	if _, err := ParseConfirmRoute(p.Confirm); err != nil {
		return err
	}
	return nil
}
