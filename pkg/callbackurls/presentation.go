package callbackurls

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/jsontext"
)

// Limits on the fields pages show. Each is copied into every URL of the
// request, so they stay short.
const (
	MaxTitleLength       = 200  // characters
	MaxDescriptionLength = 1000 // characters
	MaxLabelLength       = 100  // characters
)

// Presentation is what the pages show a person about an action: the
// request's title and description, the action's label, whether a browser
// must confirm, and its input form. It travels in the payload as compact
// JSON (one-letter keys, empty ones omitted): it is in every URL.
type Presentation struct {
	Title       string       `json:"t,omitempty"`
	Description string       `json:"d,omitempty"`
	Label       string       `json:"l,omitempty"`
	Confirm     *bool        `json:"c,omitempty"`
	Input       *InputSchema `json:"i,omitempty"`
}

// ParsePresentation decodes a payload's presentation; nil gives an empty
// one. A damaged one is InvalidPayload.
func ParsePresentation(raw json.RawMessage) (*Presentation, error) {
	p := &Presentation{}
	if len(raw) == 0 {
		return p, nil
	}
	if err := json.Unmarshal(raw, p); err != nil {
		return nil, Errorf(CodeInvalidPayload, "the payload's presentation is damaged")
	}
	return p, nil
}

// presentationFor is the payload's presentation for an action, or nil when
// there is nothing to show beyond the defaults.
func presentationFor(req *CreateRequest, a *Action) (json.RawMessage, error) {
	if !a.Type.Spec().ForPeople {
		return nil, nil
	}
	p := Presentation{Title: req.Title, Description: req.Description, Label: a.Label, Confirm: a.Confirm}
	if hasInput(a) {
		s, err := ParseInputSchema(a.Input)
		if err != nil {
			return nil, Errorf(CodeInvalidAction, "action %s: %s", a.Name, err)
		}
		p.Input = s
	}
	if p == (Presentation{}) {
		return nil, nil
	}
	b, err := jsontext.Marshal(&p)
	if err != nil {
		return nil, Errorf(CodeInvalidAction, "action %s: the presentation cannot be encoded", a.Name)
	}
	return b, nil
}

func hasInput(a *Action) bool {
	return a.Input != nil && !bytes.Equal(bytes.TrimSpace(a.Input), []byte("null"))
}

// validatePresentation checks an action's label, confirm and input.
func (a *Action) validatePresentation(where string) error {
	if utf8.RuneCountInString(a.Label) > MaxLabelLength {
		return Errorf(CodeInvalidAction, "%s: label is longer than %d characters", where, MaxLabelLength)
	}
	spec := a.Type.Spec()
	if !spec.ForPeople {
		if a.Label != "" || a.Confirm != nil || hasInput(a) {
			return Errorf(CodeInvalidAction, "%s: label, confirm and input are for pages, and a %s action (for machines) has none", where, a.Type)
		}
		return nil
	}
	if !hasInput(a) {
		return nil
	}
	if !spec.Input {
		return Errorf(CodeInvalidAction, "%s: a %s sends no values, so it cannot have input", where, a.Type)
	}
	if _, err := ParseInputSchema(a.Input); err != nil {
		return Errorf(CodeInvalidAction, "%s: %s", where, err)
	}
	if a.Confirm != nil && !*a.Confirm {
		return Errorf(CodeInvalidAction, "%s: confirm: false contradicts input: the form is shown on the confirmation page", where)
	}
	if spec.Output {
		var members map[string]json.RawMessage
		if json.Unmarshal(a.Output, &members) != nil {
			return Errorf(CodeInvalidAction, `%s: with input, output must be a JSON object: the values are delivered in its "input" member`, where)
		}
		if _, ok := members[inputKey]; ok {
			return Errorf(CodeInvalidAction, `%s: output already has an "input" member, which is where the form's values are delivered`, where)
		}
	}
	return nil
}

// NeedsConfirmation reports whether a browser's GET on this action shows a
// confirmation page instead of acting. An action's own "confirm" wins; an
// input form needs the page; otherwise types that ask first (success and
// failure) confirm unless the deployment's switch says browsers' GETs
// act, and others (heartbeats) act.
func (p *Presentation) NeedsConfirmation(typ ActionType, get BrowserGET) bool {
	spec := typ.Spec()
	switch {
	case spec == nil || !spec.ForPeople:
		return false
	case p.Confirm != nil:
		return *p.Confirm
	case p.Input != nil:
		return true
	}
	return spec.AsksFirst && get == ConfirmBrowserGET
}

// DisplayLabel is the label a page shows for an action: its own, else its
// name in words ("needs_changes" is "Needs changes").
func DisplayLabel(label, action string) string {
	if label != "" {
		return label
	}
	s := strings.TrimSpace(strings.ReplaceAll(action, "_", " "))
	if s == "" {
		return action
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}
