package slackapp

import (
	"net/url"
	"strconv"
	"unicode/utf8"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/messages"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/slack"
)

// Slack's limits for modals (Block Kit reference).
const (
	modalTitleMax  = 24
	labelMax       = 2000
	textInputMax   = 3000
	optionTextMax  = 75
	modalBlocksMax = 100
)

type text struct {
	Type string `json:"type"` // plain_text
	Text string `json:"text"`
}

func plainText(s string, limit int) text {
	if utf8.RuneCountInString(s) > limit {
		r := []rune(s)
		s = string(r[:limit-1]) + "…"
	}
	return text{Type: "plain_text", Text: s}
}

type option struct {
	Text  text   `json:"text"`
	Value string `json:"value"`
}

// modalView is an action's form as a Slack modal: the request's title and
// description, then one input block per field (block_id and action_id
// are the field's name). An enum's options are sent by index: Slack takes
// 150 characters of an option's value, a form's option 200.
func modalView(cb *callbackurls.Callback, meta string) map[string]any {
	pres := cb.Presentation
	label := callbackurls.DisplayLabel(pres.Label, cb.Action)
	var blocks []any
	if pres.Title != "" {
		blocks = append(blocks, map[string]any{"type": "section", "text": plainText(messages.Inert(pres.Title), labelMax)})
	}
	if pres.Description != "" {
		blocks = append(blocks, map[string]any{"type": "section", "text": plainText(messages.Inert(pres.Description), textInputMax)})
	}
	for _, f := range pres.Input.Fields {
		if len(blocks) >= modalBlocksMax {
			break
		}
		blocks = append(blocks, inputBlock(&f))
	}
	return map[string]any{
		"type": "modal", "callback_id": modalCallbackID, "private_metadata": meta,
		"title":  plainText(label, modalTitleMax),
		"submit": plainText(label, modalTitleMax),
		"close":  plainText("Cancel", modalTitleMax),
		"blocks": blocks,
	}
}

func inputBlock(f *callbackurls.InputField) map[string]any {
	title := f.Title
	if title == "" {
		title = callbackurls.DisplayLabel("", f.Name)
	}
	el := map[string]any{"action_id": f.Name}
	block := map[string]any{"type": "input", "block_id": f.Name, "label": plainText(messages.Inert(title), labelMax),
		"optional": !f.Required || f.Kind == callbackurls.FieldBoolean}
	if f.Help != "" {
		block["hint"] = plainText(messages.Inert(f.Help), labelMax)
	}
	switch f.Kind {
	case callbackurls.FieldString, callbackurls.FieldMultiline:
		el["type"] = "plain_text_input"
		el["multiline"] = f.Kind == callbackurls.FieldMultiline
		el["max_length"] = min(f.MaxLength(), textInputMax)
		if f.Min != nil && *f.Min > 0 {
			el["min_length"] = min(int(*f.Min), textInputMax)
		}
		if s, ok := f.Default.(string); ok && s != "" {
			el["initial_value"] = s
		}
	case callbackurls.FieldEnum:
		el["type"] = "static_select"
		var opts []option
		for i, v := range f.Enum {
			o := option{Text: plainText(v, optionTextMax), Value: strconv.Itoa(i)}
			opts = append(opts, o)
			if f.Default == v {
				el["initial_option"] = o
			}
		}
		el["options"] = opts
	case callbackurls.FieldBoolean:
		el["type"] = "checkboxes"
		o := option{Text: plainText(title, optionTextMax), Value: "true"}
		el["options"] = []option{o}
		if f.Default == true {
			el["initial_options"] = []option{o}
		}
	case callbackurls.FieldNumber, callbackurls.FieldInteger:
		el["type"] = "number_input"
		el["is_decimal_allowed"] = f.Kind == callbackurls.FieldNumber
		if f.Min != nil {
			el["min_value"] = strconv.FormatFloat(*f.Min, 'f', -1, 64)
		}
		if f.Max != nil {
			el["max_value"] = strconv.FormatFloat(*f.Max, 'f', -1, 64)
		}
		if n, ok := f.Default.(float64); ok {
			el["initial_value"] = strconv.FormatFloat(n, 'f', -1, 64)
		}
	}
	block["element"] = el
	return block
}

// formValues turns a submitted modal's state into the fields a page's
// form would POST, so that the core checks them by the same rules: a
// text or number as typed, an option by its index, a ticked box "true"
// (an unticked one absent, as browsers send it). State for names the
// form does not have is passed on, and refused there.
func formValues(schema *callbackurls.InputSchema, state map[string]map[string]slack.InputValue) url.Values {
	form := url.Values{}
	for block, inputs := range state {
		for action, v := range inputs {
			if action != block {
				form.Add(action, "")
				continue
			}
			var f *callbackurls.InputField
			for i := range schema.Fields {
				if schema.Fields[i].Name == block {
					f = &schema.Fields[i]
				}
			}
			switch {
			case f == nil:
				form.Add(action, "")
			case f.Kind == callbackurls.FieldEnum:
				if v.SelectedOption != nil {
					if i, err := strconv.Atoi(v.SelectedOption.Value); err == nil && i >= 0 && i < len(f.Enum) {
						form.Set(action, f.Enum[i])
					} else {
						form.Set(action, "\x00") // not an option: refused
					}
				}
			case f.Kind == callbackurls.FieldBoolean:
				for _, o := range v.SelectedOptions {
					if o.Value == "true" {
						form.Set(action, "true")
					}
				}
			case v.Value != nil:
				form.Set(action, *v.Value)
			}
		}
	}
	return form
}

// inputErrors are the core's messages by block id, as a modal shows them
// (a message for the whole form goes to the first field).
func inputErrors(schema *callbackurls.InputSchema, errs callbackurls.InputErrors) map[string]string {
	out := map[string]string{}
	for name, msg := range errs {
		if name == "" || !hasField(schema, name) {
			name = schema.Fields[0].Name
		}
		out[name] = msg
	}
	return out
}

func hasField(schema *callbackurls.InputSchema, name string) bool {
	for _, f := range schema.Fields {
		if f.Name == name {
			return true
		}
	}
	return false
}
