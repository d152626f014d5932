package callbackurls

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// ConfirmRoute is where the confirmation of a decision goes: the
// recipients of the request's "deliver" that asked for one. It travels in
// the payload of every URL that can decide (compact JSON, one-letter
// keys), so that the callback knows whom to tell without storing anything;
// it never comes from anything else a callback brings.
type ConfirmRoute struct {
	To      []string `json:"t,omitempty"`
	CC      []string `json:"c,omitempty"`
	ReplyTo string   `json:"r,omitempty"`
	// Topic is the SNS topic's ARN, or only its name when the deployment
	// allows one topic of that name (TopicNamer): every character is in
	// every deciding URL, and a link of plain-text mail has 998.
	Topic string `json:"s,omitempty"`
}

// TopicNamer is what a Deliverer may add: the shortest reference to an
// allowed topic that it can resolve again (its name when no other
// allowed topic has it), for the confirmation's route.
type TopicNamer interface {
	TopicRef(arn string) string
}

// validTopicRef: an ARN, or a topic's name.
func validTopicRef(s string) bool {
	if strings.HasPrefix(s, "arn:") {
		return ValidTopicARN(s)
	}
	return ValidTopicARN("arn:aws:sns:r:000000000000:" + s)
}

// confirmRouteFor is the payload's route for an action, or nil: only with
// deliver.confirm, and not for heartbeats, which decide nothing.
func (s *Service) confirmRouteFor(req *CreateRequest, a *Action) (json.RawMessage, error) {
	d := req.Deliver
	if d == nil || !d.Confirm || a.Type == Heartbeat || (d.Email == nil && d.SNS == nil) {
		// A Slack message's confirmation is the message, updated in place.
		return nil, nil
	}
	r := ConfirmRoute{}
	if d.Email != nil {
		r.To, r.CC, r.ReplyTo = d.Email.To, d.Email.CC, d.Email.ReplyTo
	}
	if d.SNS != nil {
		r.Topic = d.SNS.TopicARN
		if n, ok := s.cfg.Deliverer.(TopicNamer); ok {
			r.Topic = n.TopicRef(r.Topic)
		}
	}
	b, err := json.Marshal(&r)
	if err != nil {
		return nil, Errorf(CodeInvalidDelivery, "the confirmation's recipients cannot be encoded")
	}
	return b, nil
}

// ParseConfirmRoute decodes and checks a payload's route: a hand-made
// unencrypted payload must not make the service mail whom it likes, so
// the route is held to CreateUrls' limits. nil gives nil.
func ParseConfirmRoute(raw json.RawMessage) (*ConfirmRoute, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var r ConfirmRoute
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, Errorf(CodeInvalidPayload, "the payload's confirmation route is damaged")
	}
	d := Deliver{}
	if len(r.To) > 0 || len(r.CC) > 0 || r.ReplyTo != "" {
		d.Email = &EmailDelivery{To: r.To, CC: r.CC, ReplyTo: r.ReplyTo}
		if err := d.validate(); err != nil {
			return nil, Errorf(CodeInvalidPayload, "the payload's confirmation route is not valid")
		}
	}
	if (d.Email == nil && r.Topic == "") || (r.Topic != "" && !validTopicRef(r.Topic)) {
		return nil, Errorf(CodeInvalidPayload, "the payload's confirmation route is not valid")
	}
	return &r, nil
}

// Confirmation is what the confirmation after a decision says, and to whom.
type Confirmation struct {
	Route         ConfirmRoute
	TransactionID string
	// Title and Description are the request's.
	Title, Description string
	// Action is the URL's action, Label its label as pages show it; for a
	// post action, Outcome is the outcome its body selected.
	Action, Label, Outcome string
	// Type is the decision's: Success or Failure.
	Type ActionType
	// Input is the form's values, and Fields the form (for their titles).
	Input  map[string]any
	Fields []InputField
	// DecidedAt is when the target accepted the decision.
	DecidedAt time.Time
	// By is who decided, when the deployment knows (a signed-in
	// approver's address); Receipt is the decision's receipt, when there
	// is one. Empty: not known, not shown.
	By, Receipt string
}

// Notifier sends confirmations (package delivery, at the edge).
type Notifier interface {
	// Confirm sends c to its route. It retries what is worth retrying
	// within the call (bounded by ctx) and logs what fails: the decision
	// stands whatever it returns.
	Confirm(ctx context.Context, c *Confirmation) error
}

// ConfirmationStatus says what became of a decision's confirmation.
type ConfirmationStatus uint8

// The statuses.
const (
	// NoConfirmation: none was asked for (or the decision was a heartbeat).
	NoConfirmation ConfirmationStatus = iota
	ConfirmationSent
	ConfirmationFailed
	// ConfirmationRefused: the payload asks for one, but the deployment's
	// payloads are unencrypted, which anyone can write (or it sends no
	// confirmations).
	ConfirmationRefused
)

var confirmationStatusNames = [...]string{"", "sent", "failed", "refused"}

func (s ConfirmationStatus) String() string {
	if int(s) < len(confirmationStatusNames) {
		return confirmationStatusNames[s]
	}
	return "unknown"
}

// confirm sends the confirmation of a decision the target accepted, if the
// payload asks for one. Its failure is the Notifier's to log: the
// decision was made, and the person's page says so.
func (s *Service) confirm(ctx context.Context, res *CallbackResult, d Decision) {
	p := res.Payload
	if len(p.Confirm) == 0 || (d.Type != Success && d.Type != Failure) {
		return
	}
	if !authenticates(s.codec) || s.cfg.Notifier == nil {
		res.Confirmation = ConfirmationRefused
		return
	}
	route, err := ParseConfirmRoute(p.Confirm)
	if err != nil || route == nil {
		res.Confirmation = ConfirmationRefused
		return
	}
	pres := res.Presentation
	c := &Confirmation{
		Route: *route, TransactionID: p.TransactionID, Title: pres.Title, Description: pres.Description,
		Action: p.Action, Label: DisplayLabel(pres.Label, p.Action), Outcome: res.Outcome, Type: d.Type,
		Input: res.Input, DecidedAt: s.cfg.Now().UTC(),
	}
	if pres.Input != nil {
		c.Fields = pres.Input.Fields
	}
	if err := s.cfg.Notifier.Confirm(ctx, c); err != nil {
		res.Confirmation = ConfirmationFailed
		return
	}
	res.Confirmation = ConfirmationSent
}
