package respond

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/pages"
)

// maxRadioOptions is the most options shown as radio buttons; longer
// lists are a select.
const maxRadioOptions = 5

func presentationOf(res *callbackurls.CallbackResult) *callbackurls.Presentation {
	if res == nil || res.Presentation == nil {
		return &callbackurls.Presentation{}
	}
	return res.Presentation
}

// confirmPage asks a person to confirm an action, with its form. form is
// what was submitted (nil: show the defaults), errs what was wrong with it,
// and alert a message above the form.
func confirmPage(res *callbackurls.CallbackResult, form url.Values, errs callbackurls.InputErrors, alert string) pages.Page {
	pres := presentationOf(res)
	label := callbackurls.DisplayLabel(pres.Label, res.Action)
	p := pages.Page{Template: pages.ConfirmTemplate, Kind: "confirm", Tone: "plain", Heading: pres.Title, Description: pres.Description,
		Details: []string{"Reference: " + res.TransactionID + " (" + res.Action + ")"}}
	if p.Heading == "" {
		p.Heading = "Confirm your answer"
	}
	p.DocTitle = label + " – " + p.Heading
	c := &pages.ConfirmForm{Label: label, Tone: "neutral", Alert: alert}
	if spec := res.Type.Spec(); spec != nil && spec.Tone != "" {
		c.Tone = spec.Tone
	}
	if res.Payload != nil && !res.Payload.Expiration.IsZero() {
		c.Expires = formatTime(res.Payload.Expiration)
	}
	if pres.Input != nil {
		for i := range pres.Input.Fields {
			f := fieldViewOf(&pres.Input.Fields[i], form, errs)
			if f.Error != "" {
				c.Problems = append(c.Problems, pages.Problem{ID: f.ID, Label: f.Label, Message: f.Error})
			}
			c.Fields = append(c.Fields, f)
		}
	}
	if msg := errs[""]; msg != "" {
		c.Alert = "Nothing was sent: " + msg + "."
	} else if len(c.Problems) > 0 {
		c.Alert = "Nothing was sent yet: please correct the answers below."
	}
	if c.Alert != "" {
		p.DocTitle = "Error: " + p.DocTitle
	}
	p.Confirm = c
	if res.Response != nil && res.Response.Redirect != "" {
		p.FormAction = redirectOrigin(res.Response.Redirect)
	}
	return p
}

func fieldViewOf(f *callbackurls.InputField, form url.Values, errs callbackurls.InputErrors) pages.Field {
	v := pages.Field{ID: "f-" + f.Name, Name: f.Name, Label: f.Title, Help: f.Help, Required: f.Required, Error: errs[f.Name]}
	if v.Label == "" {
		v.Label = callbackurls.DisplayLabel("", f.Name)
	}
	var ids []string
	if v.Help != "" {
		ids = append(ids, v.ID+"-help")
	}
	if v.Error != "" {
		ids = append(ids, v.ID+"-error")
	}
	v.DescribedBy = strings.Join(ids, " ")

	// The value shown: what was submitted, else the default.
	value, submitted := "", form != nil
	if submitted {
		value = form.Get(f.Name)
	} else if f.Default != nil {
		value = fmt.Sprint(f.Default)
		if n, ok := f.Default.(float64); ok {
			value = strconv.FormatFloat(n, 'f', -1, 64)
		}
	}
	switch f.Kind {
	case callbackurls.FieldBoolean:
		v.Kind = "checkbox"
		v.Checked = value == "true" || value == "on" || value == "1" || value == "yes"
	case callbackurls.FieldEnum:
		v.Kind = "select"
		if len(f.Enum) <= maxRadioOptions {
			v.Kind = "radio"
		}
		for _, o := range f.Enum {
			v.Options = append(v.Options, pages.Option{Value: o, Selected: o == value})
		}
	case callbackurls.FieldNumber, callbackurls.FieldInteger:
		v.Kind, v.Value, v.Step = "number", value, "any"
		if f.Kind == callbackurls.FieldInteger {
			v.Step = "1"
		}
		if f.Min != nil {
			v.Min = strconv.FormatFloat(*f.Min, 'f', -1, 64)
		}
		if f.Max != nil {
			v.Max = strconv.FormatFloat(*f.Max, 'f', -1, 64)
		}
	default:
		v.Kind, v.Value = "text", value
		if f.Kind == callbackurls.FieldMultiline {
			v.Kind = "textarea"
		}
		v.MaxLength = strconv.Itoa(f.MaxLength())
		if f.Min != nil {
			v.MinLength = strconv.Itoa(int(*f.Min))
		}
	}
	return v
}

// resultPage says what a callback did.
func resultPage(res *callbackurls.CallbackResult) pages.Page {
	pres := presentationOf(res)
	label := callbackurls.DisplayLabel(pres.Label, res.Action)
	p := pages.Page{Template: pages.MessageTemplate, Kind: "result", Tone: "ok", Icon: "check", Context: pres.Title,
		Details: []string{"Reference: " + res.TransactionID + " (" + res.Action + ")"}}
	p.Heading, p.Lead = "Done", "Your answer was sent. You can close this page."
	if spec := res.Type.Spec(); spec != nil && spec.Heading != "" {
		p.Tone, p.Heading, p.Lead = spec.ResultTone, spec.Heading, spec.Lead
		if strings.Contains(p.Lead, "%s") {
			p.Lead = fmt.Sprintf(p.Lead, label)
		}
	}
	if !res.Sent {
		p.Tone, p.Icon = "info", "info"
		p.Heading, p.Lead = "This link works", "Nothing has been sent. Open the link in a browser to answer."
	}
	p.Approval = approvalView(res.Approval)
	if pres.Input != nil && res.Input != nil {
		for _, f := range pres.Input.Fields {
			v, ok := res.Input[f.Name]
			if !ok {
				continue
			}
			label := f.Title
			if label == "" {
				label = callbackurls.DisplayLabel("", f.Name)
			}
			text := fmt.Sprint(v)
			if b, isBool := v.(bool); isBool {
				text = map[bool]string{true: "Yes", false: "No"}[b]
			}
			p.Sent = append(p.Sent, pages.SentValue{Label: label, Value: text})
		}
	}
	p.DocTitle = p.Heading
	return p
}

// errorPage explains an error to a person: kindly, and without blaming
// them for the common cases (a second click, an old link).
func errorPage(e *callbackurls.Error, res *callbackurls.CallbackResult) pages.Page {
	pres := presentationOf(res)
	code := "Error code: " + e.Code
	if e.TargetCode != "" {
		code += " (" + e.TargetCode + ")"
	}
	p := pages.Page{Template: pages.MessageTemplate, Kind: "error", Tone: "error", Icon: "alert", Context: pres.Title,
		Heading: "This link did not work", Lead: pages.Sentence(e.Message), Details: []string{code}}
	if res != nil && res.TransactionID != "" {
		p.Details = append([]string{"Reference: " + res.TransactionID + " (" + res.Action + ")"}, p.Details...)
	}
	switch {
	case e.Code == callbackurls.CodeExpiredPayload:
		p.Tone, p.Icon, p.Heading = "warn", "clock", "This link has expired"
		p.Lead = "Nothing was sent. If an answer is still needed, ask whoever sent you the link for a new one."
		if res != nil && res.Payload != nil && !res.Payload.Expiration.IsZero() {
			p.Lead = "It stopped working on " + formatTime(res.Payload.Expiration) + ". " + p.Lead
		}
	case e.TargetCode != "" && e.Refusal == callbackurls.Closed:
		p.Tone, p.Icon, p.Heading = "info", "info", "This request was already answered"
		p.Lead = "An answer was already recorded, perhaps by you a moment ago or by someone else who got the same message, " +
			"or the request stopped waiting for one. There is nothing more to do: you can close this page."
	case e.TargetCode != "" && e.Refusal == callbackurls.Unknown:
		p.Tone, p.Icon, p.Heading = "info", "info", "This request is closed"
		p.Lead = "The request this link belongs to has ended. There is nothing more to do: you can close this page."
	case e.Code == callbackurls.CodeInvalidPayload || e.Code == callbackurls.CodeActionMismatched ||
		e.Code == callbackurls.CodeOutputFormatting || (e.TargetCode != "" && e.Refusal == callbackurls.InvalidRef):
		p.Heading = "This link is damaged"
		p.Lead = "Part of it may have been lost or changed when it was copied or forwarded. Nothing was sent. " +
			"Open it again from the original message, or copy the whole link into the address bar."
	case (e.Code == callbackurls.CodeMethodNotAllowed || e.Code == callbackurls.CodePostActionsDisabled) &&
		res != nil && res.Type.Spec() != nil && !res.Type.Spec().ForPeople:
		p.Tone, p.Icon, p.Heading = "info", "info", "This link is for another system"
		p.Lead = "It receives data sent by another program, and there is nothing to do here in a browser."
	case e.Code == callbackurls.CodeParametersDisabled || e.Code == callbackurls.CodeEncryptionRequired ||
		e.Code == callbackurls.CodeDecryptionUnsupported || e.Code == callbackurls.CodeSignInDisabled ||
		e.Code == callbackurls.CodeReceiptsDisabled:
		// The service's settings changed since the link was made: nothing
		// the person can fix, but the sender can make a link that works.
		p.Tone, p.Icon, p.Heading = "warn", "alert", "This link no longer works"
		p.Lead = "It was made for a setting of this service that has changed since, so nothing was sent. " +
			"If an answer is still needed, ask the sender for a new link."
	case httpapi.Status(e) == http.StatusServiceUnavailable:
		p.Tone, p.Heading, p.Retry = "warn", "Temporarily unavailable", true
		p.Lead = "The service could not be reached just now, so nothing was sent. Please try again in a minute."
	case httpapi.Status(e) >= 500:
		p.Heading = "Something went wrong"
		p.Lead = "Nothing was sent. Please try again later, and if it keeps happening, tell whoever sent you the link."
	}
	p.DocTitle = p.Heading
	return p
}

// formatTime says when in UTC and, when the link was made with another
// UTC offset (the expiration's zone), also in that offset: "31 December
// 2029 at 22:00 UTC (1 January 2030 at 00:00, UTC+02:00)".
func formatTime(t time.Time) string {
	s := t.UTC().Format("2 January 2006 at 15:04 UTC")
	if _, offset := t.Zone(); offset != 0 {
		s += " (" + t.Format("2 January 2006 at 15:04") + ", UTC" + t.Format("-07:00") + ")"
	}
	return s
}

// redirectOrigin is the scheme and host of a redirect, as a CSP source,
// or "" if it is not a plain http(s) origin.
func redirectOrigin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	for _, c := range u.Host {
		if !(c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')) {
			return ""
		}
	}
	return u.Scheme + "://" + u.Host
}
