package callbackurls

import (
	"context"
	"encoding/json"
	"time"
)

// ActionType is what a URL does when used.
type ActionType string

// The action types of the API.
const (
	Success   ActionType = "success"
	Failure   ActionType = "failure"
	Heartbeat ActionType = "heartbeat"
	Post      ActionType = "post"
)

// Valid reports whether t is one of the four action types.
func (t ActionType) Valid() bool {
	switch t {
	case Success, Failure, Heartbeat, Post:
		return true
	}
	return false
}

// Payload is everything a callback URL carries. It is created by CreateURLs,
// sealed by a PayloadCodec into the URL's data parameter, and is the only
// source of truth at callback time.
type Payload struct {
	Token         string
	TransactionID string
	IssuedAt      time.Time
	Expiration    time.Time // zero: never expires
	Action        string
	Type          ActionType
	// Output is the JSON text sent with SendTaskSuccess (success actions).
	Output json.RawMessage
	// Error and Cause are sent with SendTaskFailure (failure actions); empty
	// means not sent.
	Error string
	Cause string
	// Parameters enables output parameters for this URL.
	Parameters bool
	// Response is the action's response spec as JSON, or nil.
	Response json.RawMessage
	// Outcomes is a post action's outcome list as JSON, or nil.
	Outcomes json.RawMessage
	// Presentation holds fields for people (title, description, label,
	// confirm, input form) as a JSON object, or nil.
	Presentation json.RawMessage
}

// PayloadCodec turns a Payload into the URL's data parameter and back.
// Decode must check every size limit before doing any expensive work and
// return *Error values with the contract's codes (InvalidPayload,
// EncryptionRequired, DecryptionUnsupported, EncryptionFailed) or an error
// wrapping ErrUnavailable.
type PayloadCodec interface {
	Encode(ctx context.Context, p *Payload) (string, error)
	Decode(ctx context.Context, data string) (*Payload, error)
}

// StepFunctions is the part of the Step Functions API a callback uses.
// Implementations report refusals as *TaskError and retryable failures as
// errors wrapping ErrUnavailable.
type StepFunctions interface {
	SendTaskSuccess(ctx context.Context, token string, output string) error
	SendTaskFailure(ctx context.Context, token, errorCode, cause string) error
	SendTaskHeartbeat(ctx context.Context, token string) error
}
