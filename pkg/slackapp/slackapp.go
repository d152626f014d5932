// Package slackapp is the Slack app's interactivity endpoint, POST
// /slack/interactions: a click on a button of a message the service made
// (or the submission of the modal such a click opened) decides in place.
//
// Every request is checked before anything else: Slack's signature, in
// constant time, with the 5-minute window (401 InvalidSignature and
// nothing done otherwise), its size and shape, and the response_url it
// names (only https://hooks.slack.com/, or loopback in tests). The
// button's value is one of the service's payloads: it is opened with the
// core's rules for a URL (its key, expiry, the deployment's switches, its
// target's kind), the Slack user is checked against the approvers (their
// id, or with a bot token their verified email in the deployment's own
// workspace), and the core acts with an Identity whose Via is "slack".
// The message then says what happened: replaced, without buttons, once
// the target accepted the decision; or a note only the person sees
// (someone else's decision, already answered, an error's code).
//
// Slack wants the answer within 3 seconds; the handler keeps to a budget
// below that, the target's call included.
package slackapp

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/messages"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/receipts"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/slack"
)

// Path is the endpoint's path, the app's Interactivity Request URL.
const Path = "/slack/interactions"

// DefaultBudget is how long a request may take in all: the target's call
// and the message's update, within Slack's 3 seconds with room for the
// network.
const DefaultBudget = 2500 * time.Millisecond

// followUpReserve is what the budget keeps for updating the message
// after the decision.
const followUpReserve = 700 * time.Millisecond

// modalCallbackID marks the modals this service opens.
const modalCallbackID = "sfn-callback-urls"

// Config is what the endpoint needs.
type Config struct {
	Service  *callbackurls.Service
	Verifier *slack.Verifier
	// Responder posts to response_urls; Bot calls the Web API with the
	// bot token (nil: none, so no emails are looked up and no modal
	// opens).
	Responder *slack.Responder
	Bot       *slack.Client
	Logger    *slog.Logger
	// Verbose logs the interaction's payload, which holds the button's
	// value (a payload).
	Verbose bool
	// Now is the clock of the decisions' times (nil: time.Now).
	Now func() time.Time
	// Budget bounds a request (DefaultBudget when zero).
	Budget time.Duration
}

type handler struct{ cfg Config }

// New returns the endpoint.
func New(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Budget <= 0 {
		cfg.Budget = DefaultBudget
	}
	return &handler{cfg: cfg}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		httpapi.MethodNotAllowed(w, r, http.MethodPost)
		return
	}
	start := time.Now()
	body, err := httpapi.ReadBody(w, r, slack.MaxInteractionBytes)
	if err != nil {
		httpapi.Fail(w, r, err, "")
		return
	}
	if err := h.cfg.Verifier.Verify(r.Context(), r.Header, body); err != nil {
		httpapi.Fail(w, r, signatureError(err), "")
		return
	}
	in, err := slack.ParseInteraction(body)
	if err != nil {
		httpapi.Fail(w, r, callbackurls.Errorf(callbackurls.CodeInvalidJSON, "the body is not a Slack interaction payload"), "")
		return
	}
	if h.cfg.Verbose {
		h.cfg.Logger.LogAttrs(r.Context(), slog.LevelDebug, "slack interaction", slog.String("body", string(body)))
	}
	l := httpapi.Entry(r)
	l.Outcome = "ignored"
	ctx, cancel := context.WithDeadline(r.Context(), start.Add(h.cfg.Budget))
	defer cancel()
	switch in.Type {
	case slack.BlockActions:
		h.click(ctx, r, in)
	case slack.ViewSubmission:
		h.submit(ctx, w, r, in)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// signatureError is the answer to a request that failed the check: 401,
// or 503 when the signing secret could not be read.
func signatureError(err error) *callbackurls.Error {
	switch {
	case errors.Is(err, slack.ErrUnsigned):
		return callbackurls.Errorf(callbackurls.CodeInvalidSignature, "the request is not signed by Slack")
	case errors.Is(err, slack.ErrStale):
		return callbackurls.Errorf(callbackurls.CodeInvalidSignature, "the request was signed more than 5 minutes from now")
	case errors.Is(err, slack.ErrBadSignature):
		return callbackurls.Errorf(callbackurls.CodeInvalidSignature, "the request's signature does not verify")
	}
	e := callbackurls.Unavailablef(callbackurls.CodeServiceError, "the Slack signing secret could not be read; try again")
	e.Err = errors.Join(callbackurls.ErrUnavailable, err)
	return e
}

// actContext is the budget less what the message's update keeps.
func actContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, dl.Add(-followUpReserve))
	}
	return context.WithCancel(ctx)
}

// checkResponseURL refuses, and logs, a response_url the service does not
// follow; nothing is acted on then.
func (h *handler) checkResponseURL(ctx context.Context, r *http.Request, raw string) bool {
	if err := h.cfg.Responder.Check(raw); err != nil {
		h.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "slack response_url refused", slog.String("host", hostOf(raw)))
		httpapi.Entry(r).Error = "ResponseUrlRefused"
		return false
	}
	return true
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(not a URL)"
	}
	return u.Scheme + "://" + u.Host
}

// click handles block_actions: a button of ours acts, or opens its modal.
func (h *handler) click(ctx context.Context, r *http.Request, in *slack.Interaction) {
	a := in.Actions[0]
	if a.Value == "" {
		// A link button: the browser opens its page; nothing to do here.
		return
	}
	if !h.checkResponseURL(ctx, r, in.ResponseURL) {
		return
	}
	actx, cancel := actContext(ctx)
	defer cancel()
	cb, res, err := h.open(actx, a.Value, a.ActionID)
	var id *callbackurls.Identity
	if err == nil {
		id, err = h.identify(actx, in, cb)
	}
	if err == nil && cb.Presentation.Input != nil && cb.Type.Spec().Input {
		// A form: the person fills it in a modal, whose submission acts.
		if err = h.openModal(actx, in, cb, id, a); err == nil {
			h.note(r, cb, "modal")
			return
		}
	} else if err == nil {
		res, err = h.cfg.Service.Act(actx, cb, callbackurls.Submission{Intent: callbackurls.Act, Identity: id})
	}
	h.after(ctx, r, in.ResponseURL, &in.User, res, err)
}

// open opens a button's value with the core's rules for a URL (the
// button's action_id is the URL's readable action). Only the actions a
// person answers have buttons.
func (h *handler) open(ctx context.Context, value, actionID string) (*callbackurls.Callback, callbackurls.CallbackResult, error) {
	q := url.Values{callbackurls.QueryData: {value}}
	if actionID != "" {
		q.Set(callbackurls.QueryAction, actionID)
	}
	cb, err := h.cfg.Service.Open(ctx, q)
	res := callbackurls.CallbackResult{Callback: cb}
	if err == nil && !cb.Type.Spec().ForPeople {
		err = callbackurls.Errorf(callbackurls.CodeInvalidPayload, "a %s action is for programs, not a Slack button", cb.Type)
	}
	return cb, res, err
}

// identify is who clicked: their Slack user id, workspace and name, and,
// when the decision may turn on an email and the deployment has a bot
// token, their verified email, looked up only for people of the
// deployment's own workspace.
func (h *handler) identify(ctx context.Context, in *slack.Interaction, cb *callbackurls.Callback) (*callbackurls.Identity, error) {
	team := in.User.TeamID
	if team == "" {
		team = in.Team.ID
	}
	id := &callbackurls.Identity{Via: callbackurls.ViaSlack, Issuer: team, Subject: in.User.ID, Name: in.User.DisplayName()}
	p := cb.Payload
	if h.cfg.Bot == nil || !p.NeedsEmail() || (p.Requester == "" && p.Authorize(id) == nil) {
		return id, nil
	}
	own, err := h.cfg.Bot.Team(ctx)
	if err != nil {
		return nil, h.lookupFailed(ctx, "auth.test", err)
	}
	if team != own || in.Team.ID != own {
		// A guest from another workspace: Slack vouches for no address.
		return id, nil
	}
	info, err := h.cfg.Bot.UsersInfo(ctx, in.User.ID)
	if err != nil {
		return nil, h.lookupFailed(ctx, "users.info", err)
	}
	if info.ID != in.User.ID || info.TeamID != own || info.Deleted || info.IsBot || !info.IsEmailConfirmed {
		return id, nil
	}
	if email, err := callbackurls.ParseEmail(info.Profile.Email); err == nil {
		id.Email = email
	}
	return id, nil
}

// lookupFailed: a Slack outage or rate limit is a passing failure; a
// missing scope, a bad token or an expired trigger is not (logged).
func (h *handler) lookupFailed(ctx context.Context, method string, err error) error {
	var ae *slack.APIError
	code := "request_failed"
	if errors.As(err, &ae) {
		code = ae.Code
	}
	h.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "slack call failed", slog.String("method", method), slog.String("slack_error", code))
	what, fix := "say who you are", "the deployment's Slack app needs the users:read and users:read.email scopes"
	if method == "views.open" {
		what, fix = "open the form", "use the request's link"
	}
	if ae != nil && !ae.Transient() {
		e := callbackurls.Errorf(callbackurls.CodeServiceError, "Slack did not %s (%s): %s", what, code, fix)
		e.Err = err
		return e
	}
	e := callbackurls.Unavailablef(callbackurls.CodeServiceError, "Slack did not %s in time (%s)", what, code)
	e.Err = errors.Join(callbackurls.ErrUnavailable, err)
	return e
}

// note puts the callback in the request's log line.
func (h *handler) note(r *http.Request, cb *callbackurls.Callback, outcome string) {
	l := httpapi.Entry(r)
	if cb != nil {
		l.TransactionID, l.Action, l.Type = cb.TransactionID, cb.Action, string(cb.Type)
	}
	l.Outcome = outcome
}

// after tells Slack what happened: the message replaced once the target
// accepted a decision, or a note for the person alone.
func (h *handler) after(ctx context.Context, r *http.Request, responseURL string, user *slack.User, res callbackurls.CallbackResult, err error) {
	var msg *messages.SlackUpdate
	switch {
	case err != nil:
		e := callbackurls.AsError(err)
		httpapi.NoteError(r, e, res.TransactionID)
		h.note(r, res.Callback, "rejected")
		msg = messages.SlackNote(refusalText(e))
	case res.Sent && res.Type == callbackurls.Heartbeat:
		h.note(r, res.Callback, "sent")
		msg = messages.SlackNote("Sent: the request was told that it is still being worked on.")
	case res.Sent:
		h.note(r, res.Callback, "sent")
		msg = messages.SlackDecided(h.decided(&res, user), user.ID)
	default:
		h.note(r, res.Callback, "checked")
		return
	}
	if err := h.cfg.Responder.Respond(ctx, responseURL, msg); err != nil {
		var ae *slack.APIError
		code := "request_failed"
		if errors.As(err, &ae) {
			code = ae.Code
		}
		h.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "slack message not updated", slog.String("transaction_id", res.TransactionID),
			slog.String("slack_error", code))
		httpapi.Entry(r).Delivery = "slack update failed"
		return
	}
	if msg.ReplaceOriginal {
		httpapi.Entry(r).Delivery = "slack message updated"
	}
}

// decided is what the message says once decided.
func (h *handler) decided(res *callbackurls.CallbackResult, user *slack.User) *callbackurls.Confirmation {
	p, pres := res.Payload, res.Presentation
	c := &callbackurls.Confirmation{
		TransactionID: p.TransactionID, Title: pres.Title, Description: pres.Description, Action: p.Action,
		Label: callbackurls.DisplayLabel(pres.Label, p.Action), Outcome: res.Outcome, Type: res.Type, Input: res.Input,
		DecidedAt: h.cfg.Now().UTC(), By: user.DisplayName(),
	}
	if pres.Input != nil {
		c.Fields = pres.Input.Fields
	}
	if a := res.Approval; a != nil {
		c.DecidedAt = a.At
		if a.Receipt != "" {
			c.Receipt = receipts.Fingerprint(a.Receipt) + " (the full receipt is in the decision)"
		}
	}
	return c
}

// refusalText is what the person is told when nothing was sent: never a
// stack, never the approvers.
func refusalText(e *callbackurls.Error) string {
	switch {
	case e.Code == callbackurls.CodeNotAnApprover || e.Code == callbackurls.CodeSignInRequired:
		return "This decision is for someone else: you are not one of the people this request names. Nothing was sent."
	case e.Code == callbackurls.CodeSelfApproval:
		return "You asked for this, so someone else must decide. Nothing was sent."
	case e.TargetCode != "" && e.Refusal == callbackurls.Closed:
		return "Already answered: this request was decided, or it timed out. Nothing was sent."
	case e.Code == callbackurls.CodeExpiredPayload:
		return "This request's buttons have expired. Nothing was sent."
	case e.Kind == callbackurls.Unavailable:
		return "Nothing was sent: " + e.Code + ": " + strings.TrimSuffix(e.Message, ".") + ". Please try again in a minute."
	}
	return "Nothing was sent: " + e.Code + ": " + strings.TrimSuffix(e.Message, ".") + "."
}

// modalState is a modal's private_metadata: the button's value, the
// message's response_url and the button's action_id (compact keys:
// Slack takes 3,000 characters).
type modalState struct {
	Data        string `json:"d"`
	ResponseURL string `json:"r"`
	ActionID    string `json:"a,omitempty"`
}

// openModal checks that the person may decide, then opens the action's
// form as a modal.
func (h *handler) openModal(ctx context.Context, in *slack.Interaction, cb *callbackurls.Callback, id *callbackurls.Identity, a slack.Action) error {
	if _, err := h.cfg.Service.Act(ctx, cb, callbackurls.Submission{Intent: callbackurls.Act, Preview: true, Identity: id}); err != nil {
		return err
	}
	if h.cfg.Bot == nil {
		return callbackurls.Errorf(callbackurls.CodeInvalidAction, "this answer asks for details, and this deployment has no Slack bot token to open a form with: use the request's link")
	}
	meta, err := json.Marshal(modalState{Data: a.Value, ResponseURL: in.ResponseURL, ActionID: a.ActionID})
	if err != nil || len(meta) > slack.MaxPrivateMetadata {
		return callbackurls.Errorf(callbackurls.CodeURLTooLong, "this answer's form does not fit in a Slack modal; use the request's link")
	}
	view, err := json.Marshal(modalView(cb, string(meta)))
	if err != nil {
		return callbackurls.Errorf(callbackurls.CodeServiceError, "the form cannot be shown")
	}
	if err := h.cfg.Bot.OpenView(ctx, in.TriggerID, view); err != nil {
		return h.lookupFailed(ctx, "views.open", err)
	}
	return nil
}

// submit handles a modal's submission: its values are the form's, and the
// answer to Slack either closes the modal (then the message is updated)
// or shows what is wrong with the values.
func (h *handler) submit(ctx context.Context, w http.ResponseWriter, r *http.Request, in *slack.Interaction) {
	var st modalState
	if in.View.CallbackID != modalCallbackID || json.Unmarshal([]byte(in.View.PrivateMetadata), &st) != nil || st.Data == "" {
		w.WriteHeader(http.StatusOK)
		return
	}
	if !h.checkResponseURL(ctx, r, st.ResponseURL) {
		w.WriteHeader(http.StatusOK)
		return
	}
	actx, cancel := actContext(ctx)
	defer cancel()
	cb, res, err := h.open(actx, st.Data, st.ActionID)
	var id *callbackurls.Identity
	if err == nil {
		id, err = h.identify(actx, in, cb)
	}
	if err == nil {
		form := url.Values{}
		if cb.Presentation.Input != nil {
			form = formValues(cb.Presentation.Input, in.View.State.Values)
		}
		res, err = h.cfg.Service.Act(actx, cb, callbackurls.Submission{Intent: callbackurls.Act, Identity: id, Form: form})
	}
	if err != nil && len(res.InputErrors) > 0 && cb != nil && cb.Presentation.Input != nil {
		h.note(r, cb, "rejected")
		httpapi.Entry(r).Error = callbackurls.CodeInvalidInput
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"response_action": "errors", "errors": inputErrors(cb.Presentation.Input, res.InputErrors)})
		return
	}
	h.after(ctx, r, st.ResponseURL, &in.User, res, err)
	w.WriteHeader(http.StatusOK)
}
