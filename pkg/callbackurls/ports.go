package callbackurls

import (
	"context"
	"encoding/json"
	"time"
)

// Payload is everything a callback URL carries. It is created by CreateURLs,
// sealed by a PayloadCodec into the URL's data parameter, and is the only
// source of truth at callback time.
type Payload struct {
	// Target is what the URL's decisions are for: a kind of target and its
	// reference (a task token).
	Target        TargetRef
	TransactionID string
	IssuedAt      time.Time
	Expiration    time.Time // zero: never expires
	Action        string
	Type          ActionType
	// Output is the JSON text a success sends.
	Output json.RawMessage
	// Error and Cause are what a failure sends; empty means not sent.
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
	// Confirm is where the confirmation after a decision goes, as JSON
	// (ConfirmRoute), or nil for none.
	Confirm json.RawMessage
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

// authenticates reports whether the codec's payloads are sealed, so that
// nobody without the deployment's keys can write one. A codec says so
// with an Authenticates method; one without it is taken to seal.
func authenticates(c PayloadCodec) bool {
	a, ok := c.(interface{ Authenticates() bool })
	return !ok || a.Authenticates()
}
