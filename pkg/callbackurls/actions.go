package callbackurls

import "strings"

// ActionType is what a URL does when used.
type ActionType string

// The action types of the API.
const (
	Success   ActionType = "success"
	Failure   ActionType = "failure"
	Heartbeat ActionType = "heartbeat"
	Post      ActionType = "post"
)

// ActionSpec describes an action type: what a request gives it, how its
// URL behaves and how pages word it. Validation, the payload codecs, the
// pages, the Go client and inspect read it, so that adding a type is
// adding a row to actionSpecs and teaching the targets its decision.
type ActionSpec struct {
	Type ActionType
	// Code is the type's number in the binary payload's flags (1 to 7,
	// docs/FORMAT.md): never reused.
	Code byte
	// Decides: the URL sends a decision of this type. A post action does
	// not: the body it receives selects one (PostOutcome types).
	Decides bool
	// Output: a success's output is required and sent.
	Output bool
	// ErrorCause: a failure's error and cause are taken and sent.
	ErrorCause bool
	// Repeatable: the URL may be used again once it has acted.
	Repeatable bool
	// ForPeople: a person may open the URL, so the action may have a
	// label, a confirm setting and pages; a GET may act.
	ForPeople bool
	// Input: the action may have an input form (values sent with the
	// decision).
	Input bool
	// AsksFirst: a browser's GET shows a confirmation page unless the
	// deployment or the action says otherwise.
	AsksFirst bool
	// PostOutcome: a post action's outcome may be of this type.
	PostOutcome bool
	// Approvable: a person's decision, which approvers restrict and an
	// approval (who decided, a receipt) accompanies.
	Approvable bool
	// Tone is the confirmation button's look (approve, reject, neutral);
	// ResultTone, Heading and Lead word the result page ("%s" in Lead is
	// the action's label).
	Tone, ResultTone, Heading, Lead string
}

var actionSpecs = []ActionSpec{
	{Type: Success, Code: 1, Decides: true, Output: true, ForPeople: true, Input: true, AsksFirst: true, PostOutcome: true, Approvable: true,
		Tone: "approve", ResultTone: "ok", Heading: "Approved", Lead: "Your answer “%s” was sent. You can close this page."},
	// Blue, not red, on the result page: the rejection went through,
	// nothing failed.
	{Type: Failure, Code: 2, Decides: true, ErrorCause: true, ForPeople: true, Input: true, AsksFirst: true, PostOutcome: true, Approvable: true,
		Tone: "reject", ResultTone: "info", Heading: "Rejected", Lead: "Your answer “%s” was sent. You can close this page."},
	{Type: Heartbeat, Code: 3, Decides: true, Repeatable: true, ForPeople: true, PostOutcome: true,
		Tone: "neutral", ResultTone: "info", Heading: "Noted", Lead: "The request was told that it is still being worked on. You can close this page."},
	{Type: Post, Code: 4, Repeatable: true},
}

// Spec describes the type; nil for a type that does not exist.
func (t ActionType) Spec() *ActionSpec {
	for i := range actionSpecs {
		if actionSpecs[i].Type == t {
			return &actionSpecs[i]
		}
	}
	return nil
}

// Valid reports whether t is an action type.
func (t ActionType) Valid() bool { return t.Spec() != nil }

// ActionSpecs lists the action types in the order the API documents them.
func ActionSpecs() []ActionSpec { return actionSpecs }

// ActionTypeOfCode is the type with a binary payload code ("" if none).
func ActionTypeOfCode(code byte) ActionType {
	for i := range actionSpecs {
		if actionSpecs[i].Code == code {
			return actionSpecs[i].Type
		}
	}
	return ""
}

// TypeList names the types for messages ("success, failure, heartbeat or
// post"): those for which keep returns true.
func TypeList(keep func(*ActionSpec) bool) string {
	var names []string
	for i := range actionSpecs {
		if keep(&actionSpecs[i]) {
			names = append(names, string(actionSpecs[i].Type))
		}
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
