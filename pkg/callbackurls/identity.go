package callbackurls

import (
	"context"
	"time"
)

// The ways a person can show who they are (Identity.Via), also what an
// approval says the decision came through.
const (
	// ViaWeb: a person signed in on this service's pages (or, for an
	// approval without approvers, whoever used the URL).
	ViaWeb = "web"
	// ViaSlack: a Slack user, known by their Slack user id.
	ViaSlack = "slack"
)

// Identity is who a person showed they are, as an edge established it: a
// sign-in on the pages (Via "web") or a chat platform's user (Via
// "slack"). Only verified facts are set: Email is empty unless whoever
// vouched for the person confirmed the address.
type Identity struct {
	Via string
	// Issuer and Subject name the person at whoever vouched for them: an
	// identity provider's issuer URL and its stable id for the person, or
	// a Slack workspace and user id.
	Issuer  string
	Subject string
	// Email is a verified address, in lower case ("" if none).
	Email string
	// Name is a display name, for pages and approvals only: nothing is
	// decided on it.
	Name string
}

// Approval is what a decision made under approvers or with a receipt
// carries to the target: who decided (nil when nobody showed who they
// are: a link without approvers, used on the pages), how, when, and the
// signed receipt ("" when the deployment signs none).
type Approval struct {
	By      *Identity
	Via     string
	At      time.Time
	Receipt string
}

// approvalJSON is an Approval as the target receives it.
type approvalJSON struct {
	By      *identityJSON `json:"by,omitempty"`
	Via     string        `json:"via"`
	At      string        `json:"at"`
	Receipt string        `json:"receipt,omitempty"`
}

type identityJSON struct {
	Issuer  string `json:"iss"`
	Subject string `json:"sub"`
	Email   string `json:"email,omitempty"`
	Name    string `json:"name,omitempty"`
}

func (a *Approval) document() approvalJSON {
	doc := approvalJSON{Via: a.Via, At: a.At.UTC().Format(time.RFC3339), Receipt: a.Receipt}
	if a.By != nil {
		doc.By = &identityJSON{Issuer: a.By.Issuer, Subject: a.By.Subject, Email: a.By.Email, Name: a.By.Name}
	}
	return doc
}

// Receipt is what a signed receipt says about a decision. It names the
// target by a hash of its reference, never the reference itself: a
// receipt is meant to be kept and shown.
type Receipt struct {
	TransactionID string
	Action        string
	Type          ActionType
	// By is the person who decided, nil when nobody showed who they are.
	By  *Identity
	Via string
	// At is the time of the decision, in whole seconds.
	At time.Time
	// Target is the kind of reference RefSHA256 hashes; RefSHA256 is the
	// SHA-256 of the reference (the task token).
	Target    TargetKind
	RefSHA256 [32]byte
	// InputSHA256 is the SHA-256 of the input values' JSON text exactly
	// as the target receives it in the "input" member; nil without a form.
	InputSHA256 []byte
}

// Signer signs receipts of decisions (package receipts: Ed25519 keys of a
// static keyring, or a KMS signing key). It returns a compact JWS; a
// passing failure wraps ErrUnavailable, and then nothing is sent.
type Signer interface {
	SignReceipt(ctx context.Context, r *Receipt) (string, error)
}
