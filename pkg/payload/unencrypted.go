package payload

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// jsonPayload is the reference's payload document (its "1-" format).
type jsonPayload struct {
	Token string `json:"token"`
	IAT   int64  `json:"iat,omitempty"`
	TID   string `json:"tid,omitempty"`
	Exp   int64  `json:"exp,omitempty"`
	// ExpOffset is ours: exp's UTC offset in minutes, absent for UTC.
	ExpOffset int             `json:"exp_offset,omitempty"`
	Name      string          `json:"name"`
	Act       string          `json:"act"`
	Data      jsonData        `json:"data"`
	Par       bool            `json:"par,omitempty"`
	Resp      json.RawMessage `json:"resp,omitempty"`
	Pres      json.RawMessage `json:"pres,omitempty"` // ours: presentation fields
	Issuer    string          `json:"iss,omitempty"`
	// Kind is ours: the request member of the target kind token names
	// (TargetSpec.Field), absent for a task token.
	Kind string `json:"kind,omitempty"`
	// Conf is ours: where the confirmation after a decision goes. A
	// deployment that reads this form never sends one (anyone can write
	// it), but the member keeps the two forms alike.
	Conf json.RawMessage `json:"conf,omitempty"`
}

type jsonData struct {
	Output   json.RawMessage `json:"output,omitempty"`
	Error    *string         `json:"error,omitempty"`
	Cause    *string         `json:"cause,omitempty"`
	Outcomes json.RawMessage `json:"outcomes,omitempty"`
}

func encodeUnencrypted(p *callbackurls.Payload) (string, error) {
	jp := jsonPayload{
		Token: p.Target.ID, TID: p.TransactionID, Name: p.Action, Act: string(p.Type),
		Par: p.Parameters, Resp: p.Response, Pres: p.Presentation, Conf: p.Confirm,
		Data: jsonData{Output: p.Output, Outcomes: p.Outcomes},
	}
	if p.Target.Kind != callbackurls.TaskToken {
		spec := p.Target.Kind.Spec()
		if spec == nil {
			return "", callbackurls.Errorf(callbackurls.CodeInvalidAction, "unknown target kind")
		}
		jp.Kind = spec.Field
	}
	if !p.IssuedAt.IsZero() {
		jp.IAT = p.IssuedAt.Unix()
	}
	if !p.Expiration.IsZero() {
		jp.Exp = p.Expiration.Unix()
		jp.ExpOffset, _ = offsetMinutes(p.Expiration)
	}
	if p.Error != "" {
		jp.Data.Error = &p.Error
	}
	if p.Cause != "" {
		jp.Data.Cause = &p.Cause
	}
	b, err := json.Marshal(&jp)
	if err != nil {
		return "", callbackurls.Errorf(callbackurls.CodeInvalidJSON, "the payload cannot be encoded as JSON")
	}
	// Padded base64url, as Python's urlsafe_b64encode writes it.
	return PrefixUnencrypted + base64.URLEncoding.EncodeToString(b), nil
}

func decodeUnencrypted(b64 string) (*callbackurls.Payload, error) {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(b64, "="))
	if err != nil {
		return nil, invalid("the data parameter is damaged (not base64url)")
	}
	var jp jsonPayload
	if err := json.Unmarshal(raw, &jp); err != nil {
		return nil, invalid("the payload is not valid JSON")
	}
	typ := callbackurls.ActionType(jp.Act)
	kind, kindOK := targetKindOfField(jp.Kind)
	switch {
	case jp.Token == "" || jp.Name == "":
		return nil, invalid("the payload has no token or action name")
	case !kindOK:
		return nil, invalid("the payload has an unknown target kind")
	case !typ.Valid():
		return nil, invalid("the payload has an unknown action type")
	case typ.Spec().Output && jp.Data.Output == nil:
		return nil, invalid("the payload of a " + jp.Act + " action has no output")
	case jp.ExpOffset != 0 && (jp.Exp <= 0 || jp.ExpOffset < -maxOffsetMinutes || jp.ExpOffset > maxOffsetMinutes):
		return nil, invalid("the payload's expiration offset is not valid")
	}
	p := &callbackurls.Payload{
		Target: callbackurls.TargetRef{Kind: kind, ID: jp.Token}, TransactionID: jp.TID, Action: jp.Name, Type: typ,
		Output: jp.Data.Output, Outcomes: jp.Data.Outcomes,
		Parameters: jp.Par, Response: jp.Resp, Presentation: jp.Pres, Confirm: jp.Conf,
	}
	if jp.IAT > 0 {
		p.IssuedAt = time.Unix(jp.IAT, 0).UTC()
	}
	if jp.Exp > 0 {
		p.Expiration = time.Unix(jp.Exp, 0).UTC()
		if jp.ExpOffset != 0 {
			p.Expiration = p.Expiration.In(offsetZone(int64(jp.ExpOffset)))
		}
	}
	if jp.Data.Error != nil {
		p.Error = *jp.Data.Error
	}
	if jp.Data.Cause != nil {
		p.Cause = *jp.Data.Cause
	}
	return p, nil
}

// targetKindOfField is the kind a "kind" member names; absent is a task
// token, and so is nothing else (one spelling per payload).
func targetKindOfField(field string) (callbackurls.TargetKind, bool) {
	if field == "" {
		return callbackurls.TaskToken, true
	}
	for _, spec := range callbackurls.TargetSpecs() {
		if spec.Field == field && spec.Kind != callbackurls.TaskToken {
			return spec.Kind, true
		}
	}
	return 0, false
}
