package slack

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
)

// MaxInteractionBytes bounds an interaction's body. A block_actions
// payload carries the whole message clicked, every button's value (up to
// 2,000 characters each) included.
const MaxInteractionBytes = 256 << 10

// The kinds of interaction the service reads.
const (
	BlockActions   = "block_actions"
	ViewSubmission = "view_submission"
	ViewClosed     = "view_closed"
)

// Interaction is what the service reads of an interaction payload; the
// rest (the message's blocks, the channel's details) is skipped.
type Interaction struct {
	Type        string `json:"type"`
	User        User   `json:"user"`
	Team        Team   `json:"team"`
	APIAppID    string `json:"api_app_id"`
	ResponseURL string `json:"response_url"`
	TriggerID   string `json:"trigger_id"`
	// Actions are a block_actions' clicked elements (Slack sends one).
	Actions []Action `json:"actions"`
	// Container says where the click was (a message: its ts and channel).
	Container Container `json:"container"`
	// View is a view_submission's modal.
	View *View `json:"view,omitempty"`
}

// User is the person who interacted. TeamID is their own workspace, which
// differs from Team.ID for a guest of a shared channel.
type User struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Name     string `json:"name"`
	TeamID   string `json:"team_id"`
}

// Team is the workspace the interaction happened in.
type Team struct {
	ID     string `json:"id"`
	Domain string `json:"domain"`
}

// Action is one clicked element.
type Action struct {
	Type     string `json:"type"`
	ActionID string `json:"action_id"`
	BlockID  string `json:"block_id"`
	Value    string `json:"value"`
	ActionTS string `json:"action_ts"`
}

// Container is where an interaction happened.
type Container struct {
	Type        string `json:"type"`
	MessageTS   string `json:"message_ts"`
	ChannelID   string `json:"channel_id"`
	IsEphemeral bool   `json:"is_ephemeral"`
}

// View is a modal as a view_submission brings it back.
type View struct {
	ID              string `json:"id"`
	Type            string `json:"type"`
	CallbackID      string `json:"callback_id"`
	PrivateMetadata string `json:"private_metadata"`
	State           struct {
		// Values are the inputs by block id, then action id.
		Values map[string]map[string]InputValue `json:"values"`
	} `json:"state"`
}

// InputValue is one input's state: a text or number input's value, a
// select's option, a checkbox group's options.
type InputValue struct {
	Type            string   `json:"type"`
	Value           *string  `json:"value"`
	SelectedOption  *Option  `json:"selected_option"`
	SelectedOptions []Option `json:"selected_options"`
}

// Option is a select's or a checkbox's option (its value is what counts).
type Option struct {
	Value string `json:"value"`
}

// ErrNotInteraction is ParseInteraction's error for a body that is not a
// form with one JSON payload of a known shape.
var ErrNotInteraction = errors.New("slack: the body is not an interaction payload")

// ParseInteraction reads an interaction's body: a form whose one
// "payload" field is JSON. Bounds: the body's size, one payload, ids of
// Slack's alphabet and length, at most one clicked action, values and
// metadata within Slack's limits. Anything else is ErrNotInteraction.
func ParseInteraction(body []byte) (*Interaction, error) {
	if len(body) > MaxInteractionBytes {
		return nil, ErrNotInteraction
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || len(form["payload"]) != 1 {
		return nil, ErrNotInteraction
	}
	var in Interaction
	if err := json.Unmarshal([]byte(form["payload"][0]), &in); err != nil {
		return nil, ErrNotInteraction
	}
	if !validID(in.User.ID, "UW") || !validID(in.Team.ID, "TE") || (in.User.TeamID != "" && !validID(in.User.TeamID, "TE")) ||
		len(in.User.Name) > 200 || len(in.User.Username) > 200 || len(in.ResponseURL) > 2048 || len(in.TriggerID) > 200 {
		return nil, ErrNotInteraction
	}
	switch in.Type {
	case BlockActions:
		if len(in.Actions) != 1 {
			return nil, ErrNotInteraction
		}
		a := in.Actions[0]
		if len(a.Value) > MaxValueLength || len(a.ActionID) > 255 || len(a.BlockID) > 255 {
			return nil, ErrNotInteraction
		}
	case ViewSubmission, ViewClosed:
		if in.View == nil || len(in.View.PrivateMetadata) > MaxPrivateMetadata || len(in.View.CallbackID) > 255 {
			return nil, ErrNotInteraction
		}
	default:
		// Read, so that the endpoint can answer 200 and do nothing.
	}
	return &in, nil
}

// validID accepts a Slack id: its first letter one of first, then
// upper-case letters and digits, 3 to 24 characters.
func validID(id, first string) bool {
	if len(id) < 3 || len(id) > 24 || !strings.ContainsRune(first, rune(id[0])) {
		return false
	}
	for i := 1; i < len(id); i++ {
		if c := id[i]; !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// DisplayName is how a person is named in messages and approvals: their
// name, else their username, else their id.
func (u *User) DisplayName() string {
	for _, s := range []string{u.Name, u.Username} {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return u.ID
}
