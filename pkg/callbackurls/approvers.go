package callbackurls

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/jsontext"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/text"
)

// Limits of approvers. Every entry travels in each URL of its request's
// success and failure actions.
const (
	MaxApprovers     = 50
	MaxEmailLength   = 254 // RFC 5321's path limit, less the brackets
	MaxLocalPart     = 64
	MaxDomainLength  = 253
	MaxSlackIDLength = 24
)

// approvalKey is where a decision's approval goes: a member of a success's
// output object, or of the JSON text a failure's cause becomes.
const approvalKey = "approval"

// slackPrefix marks a Slack user entry ("slack:U0123ABCD").
const slackPrefix = "slack:"

// ApproverKind is what an approver entry names.
type ApproverKind uint8

// The kinds of approver entry.
const (
	// ApproverEmail: one person by email address ("ana@example.com").
	ApproverEmail ApproverKind = iota + 1
	// ApproverDomain: everyone with an address at a domain ("@example.com").
	ApproverDomain
	// ApproverSlack: a Slack user by id ("slack:U0123ABCD").
	ApproverSlack
)

// ParseApprover checks an approver entry and returns its normal form: an
// email address or "@domain" in lower case, or "slack:" and a Slack user
// id in upper case. The error says what is wrong, without quoting more
// than the start of the entry.
func ParseApprover(entry string) (string, ApproverKind, error) {
	switch {
	case len(entry) > MaxEmailLength+1 || !utf8.ValidString(entry):
		return "", 0, fmt.Errorf("%q is longer than an email address can be", text.Truncate(entry, 32))
	case strings.HasPrefix(strings.ToLower(entry), slackPrefix):
		id := strings.ToUpper(entry[len(slackPrefix):])
		if !validSlackID(id) {
			return "", 0, fmt.Errorf("%q is not a Slack user id: slack: and then U or W, letters and digits (slack:U0123ABCD)", text.Truncate(entry, 32))
		}
		return slackPrefix + id, ApproverSlack, nil
	case strings.HasPrefix(entry, "@"):
		d := strings.ToLower(entry[1:])
		if !validApproverDomain(d) {
			return "", 0, fmt.Errorf("%q is not a domain entry: @ and a domain name with at least two labels (@example.com)", text.Truncate(entry, 32))
		}
		return "@" + d, ApproverDomain, nil
	}
	addr, err := ParseEmail(entry)
	if err != nil {
		return "", 0, err
	}
	return addr, ApproverEmail, nil
}

// ParseEmail checks an email address as approvers and requesters write
// it (a dot-atom local part, an ASCII domain name) and returns it in
// lower case: addresses are compared without regard to case.
func ParseEmail(addr string) (string, error) {
	bad := func(why string) error {
		return fmt.Errorf("%q is not an email address: %s", text.Truncate(addr, 32), why)
	}
	if len(addr) > MaxEmailLength {
		return "", bad(fmt.Sprintf("longer than %d characters", MaxEmailLength))
	}
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return "", bad("no @ (an approver is an address, @domain or slack:id)")
	}
	local, domain := addr[:at], strings.ToLower(addr[at+1:])
	if !validLocalPart(local) {
		return "", bad("the part before @ must be letters, digits and !#$%&'*+-/=?^_`{|}~, with single dots between them")
	}
	if !validApproverDomain(domain) {
		return "", bad("the part after @ must be a domain name with at least two labels")
	}
	return strings.ToLower(local) + "@" + domain, nil
}

func validLocalPart(s string) bool {
	if s == "" || len(s) > MaxLocalPart || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.':
		case strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validApproverDomain accepts a lower-case ASCII domain name of two labels or more
// (an internationalised one in its xn-- form), whose last label is not a
// number: "@com" would let half the world decide.
func validApproverDomain(d string) bool {
	if len(d) > MaxDomainLength || strings.ToLower(d) != d || !validDomain(d) {
		return false
	}
	tld := d[strings.LastIndexByte(d, '.')+1:]
	return strings.IndexFunc(tld, func(r rune) bool { return r < '0' || r > '9' }) >= 0
}

// validSlackID accepts a Slack user id: U or W, then upper-case letters
// and digits.
func validSlackID(id string) bool {
	if len(id) < 3 || len(id) > MaxSlackIDLength || (id[0] != 'U' && id[0] != 'W') {
		return false
	}
	for i := 1; i < len(id); i++ {
		if c := id[i]; !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// approverVia is the Identity.Via an entry of kind k needs: a Slack entry
// is matched by a Slack user; an address or domain by a verified email,
// which the web sign-in gives.
func approverVia(k ApproverKind) string {
	if k == ApproverSlack {
		return ViaSlack
	}
	return ViaWeb
}

// NormalApprovers is the approvers in normal form, sorted and without
// duplicates (the order of a list of who may decide means nothing, and a
// sorted list groups the addresses of a domain, which the URL format
// stores once).
func NormalApprovers(entries []string) ([]string, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		n, _, err := ParseApprover(e)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// validateApprovers checks the request's approvers, requester and receipt
// against its actions (what does not depend on the deployment).
func (r *CreateRequest) validateApprovers() error {
	if r.Approvers != nil && len(r.Approvers) == 0 {
		return Errorf(CodeInvalidJSON, "approvers: list at least one who may decide, or leave it out")
	}
	if len(r.Approvers) > MaxApprovers {
		return Errorf(CodeInvalidJSON, "approvers: at most %d entries (got %d): a domain entry (@example.com) covers many people", MaxApprovers, len(r.Approvers))
	}
	for i, e := range r.Approvers {
		if _, _, err := ParseApprover(e); err != nil {
			return Errorf(CodeInvalidJSON, "approvers[%d]: %s", i, err)
		}
	}
	if r.Requester != "" {
		if _, err := ParseEmail(r.Requester); err != nil {
			return Errorf(CodeInvalidJSON, "requester: %s", err)
		}
	}
	if !r.wantsApproval() {
		return nil
	}
	for i := range r.Actions {
		a := &r.Actions[i]
		spec := a.Type.Spec()
		switch {
		case !spec.Decides:
			return Errorf(CodeInvalidAction,
				"action %s: a %s action is for programs, which cannot sign in or be named as approvers; approvers, requester and receipt are for success and failure actions", a.Name, a.Type)
		case !spec.Approvable:
			// A heartbeat sends nothing to approve: its URL stays open to
			// whoever holds it.
		case r.needsIdentity() && a.Confirm != nil && !*a.Confirm:
			return Errorf(CodeInvalidAction, "action %s: confirm: false contradicts approvers: the person signs in and confirms on the page", a.Name)
		case spec.Output:
			var members map[string]json.RawMessage
			if json.Unmarshal(a.Output, &members) != nil {
				return Errorf(CodeInvalidAction, `action %s: with approvers or a receipt, output must be a JSON object: the approval is delivered in its "approval" member`, a.Name)
			}
			if _, ok := members[approvalKey]; ok {
				return Errorf(CodeInvalidAction, `action %s: output already has an "approval" member, which is where the approval is delivered`, a.Name)
			}
		}
	}
	return nil
}

// needsIdentity: the request's decisions need a person who shows who they
// are.
func (r *CreateRequest) needsIdentity() bool { return len(r.Approvers) > 0 || r.Requester != "" }

// wantsApproval: the request's decisions carry an approval.
func (r *CreateRequest) wantsApproval() bool { return r.needsIdentity() || r.Receipt }

// checkApprovals refuses what the deployment cannot do for a request (at
// creation) or a payload (at every callback): sign people in the way its
// entries need, or sign receipts.
func (s *Service) checkApprovals(approvers []string, requester string, receipt bool) error {
	needs := map[string]bool{}
	if requester != "" {
		needs[ViaWeb] = true
	}
	for _, e := range approvers {
		_, k, err := ParseApprover(e)
		if err != nil {
			return err
		}
		needs[approverVia(k)] = true
	}
	for _, via := range []string{ViaWeb, ViaSlack} {
		if via == ViaWeb && s.slackEmails() {
			// A Slack user's verified email, looked up with the bot
			// token, matches address and domain entries too.
			continue
		}
		if needs[via] && !slices.Contains(s.cfg.SignIn, via) {
			what := "people to sign in"
			if via == ViaSlack {
				what = "Slack"
			}
			return Errorf(CodeSignInDisabled, "approvers and requester need %s, which this deployment does not offer", what)
		}
	}
	if receipt && !s.cfg.Receipts {
		return Errorf(CodeReceiptsDisabled, "this deployment has no signing key, so it cannot sign receipts")
	}
	return nil
}

// slackEmails: Slack users decide here and their emails can be looked up.
func (s *Service) slackEmails() bool {
	return s.cfg.SlackBot && slices.Contains(s.cfg.SignIn, ViaSlack)
}

// NeedsEmail reports whether the payload's decision may turn on the
// person's email: it names an address or domain approver, or a requester.
func (p *Payload) NeedsEmail() bool {
	return p.Requester != "" || slices.ContainsFunc(p.Approvers, func(e string) bool { return !strings.HasPrefix(e, slackPrefix) })
}

// NeedsIdentity reports whether the payload's decision needs a person who
// shows who they are: it names approvers or a requester.
func (p *Payload) NeedsIdentity() bool { return len(p.Approvers) > 0 || p.Requester != "" }

// WantsApproval reports whether the payload's decision carries an approval.
func (p *Payload) WantsApproval() bool { return p.NeedsIdentity() || p.Receipt }

// checkApprovers holds a decoded payload's approvers to CreateUrls' rules.
func (p *Payload) checkApprovers() bool {
	if !p.WantsApproval() {
		return true
	}
	if !p.Type.Spec().Approvable || len(p.Approvers) > MaxApprovers {
		return false
	}
	for _, e := range p.Approvers {
		if n, _, err := ParseApprover(e); err != nil || n != e {
			return false
		}
	}
	if p.Requester != "" {
		if n, err := ParseEmail(p.Requester); err != nil || n != p.Requester {
			return false
		}
	}
	return true
}

// Authorize says whether id may make the payload's decision: nil, or a
// SignInRequired, NotAnApprover or SelfApproval error. Its messages name
// neither the approvers nor the reference.
func (p *Payload) Authorize(id *Identity) error {
	if !p.NeedsIdentity() {
		return nil
	}
	if id == nil {
		return Errorf(CodeSignInRequired, "only the people this request names may answer it: sign in first")
	}
	if id.Email != "" {
		c := *id
		c.Email = strings.ToLower(id.Email)
		id = &c
	}
	if p.Requester != "" {
		if id.Email == "" {
			return Errorf(CodeNotAnApprover, "the sign-in did not show a verified email address, which this request needs")
		}
		if id.Email == p.Requester {
			return Errorf(CodeSelfApproval, "the person who asked for this may not answer it: someone else must")
		}
	}
	if len(p.Approvers) == 0 {
		return nil
	}
	for _, e := range p.Approvers {
		if approverMatches(e, id) {
			return nil
		}
	}
	return Errorf(CodeNotAnApprover, "this request is for someone else: the person signed in may not answer it")
}

// approverMatches reports whether a normal entry names id.
func approverMatches(entry string, id *Identity) bool {
	switch {
	case strings.HasPrefix(entry, slackPrefix):
		return id.Via == ViaSlack && id.Subject != "" && entry[len(slackPrefix):] == id.Subject
	case id.Email == "":
		return false
	case entry[0] == '@':
		return strings.HasSuffix(id.Email, entry) && strings.IndexByte(id.Email, '@') == len(id.Email)-len(entry)
	}
	return id.Email == entry
}

// approve builds the approval of a decision the payload wants one for,
// signs its receipt, and adds it to the decision: a success's output
// object gains an "approval" member; a failure's cause becomes (or, with
// input values, stays) the JSON text {"cause", "input", "approval"}.
func (s *Service) approve(ctx context.Context, cb *Callback, sub *Submission, res *CallbackResult, d *Decision) error {
	p := cb.Payload
	if !p.WantsApproval() || !d.Type.Spec().Approvable {
		return nil
	}
	a := &Approval{Via: ViaWeb, At: s.cfg.Now().UTC().Truncate(time.Second)}
	if id := sub.Identity; id != nil && (p.NeedsIdentity() || id.Via != ViaWeb) {
		// Who decided: a person the URL names, signed in; or, without
		// approvers, a Slack user, whose click is who they are. Someone
		// signed in on the pages stays anonymous where the link does
		// not ask who.
		a.By = sub.Identity
		a.Via = sub.Identity.Via
	}
	if s.cfg.Signer != nil {
		r := &Receipt{TransactionID: p.TransactionID, Action: p.Action, Type: d.Type, By: a.By, Via: a.Via, At: a.At,
			Target: p.Target.Kind, RefSHA256: sha256.Sum256([]byte(p.Target.ID))}
		if res.Input != nil {
			vals, err := jsontext.Marshal(res.Input)
			if err != nil {
				return Errorf(CodeInvalidInput, "the values cannot be sent")
			}
			sum := sha256.Sum256(vals)
			r.InputSHA256 = sum[:]
		}
		signed, err := s.cfg.Signer.SignReceipt(ctx, r)
		if err != nil {
			return AsError(err)
		}
		a.Receipt = signed
	} else if p.Receipt {
		return Errorf(CodeReceiptsDisabled, "this deployment has no signing key, so it cannot sign receipts")
	}
	doc, err := jsontext.Marshal(a.document())
	if err != nil {
		return Errorf(CodeServiceError, "the approval cannot be encoded")
	}
	if err := d.withMember(approvalKey, doc, res.Input != nil); err != nil {
		return err
	}
	res.Approval = a
	return nil
}

// withMember adds a member to what the decision sends: to a success's
// output object, or to the JSON object text of a failure's cause (made
// one, {"cause": <the cause>}, unless causeIsJSON says an earlier member
// made it one already).
func (d *Decision) withMember(key string, value []byte, causeIsJSON bool) error {
	spec := d.Type.Spec()
	switch {
	case spec.Output:
		out, err := addMember(d.Output, key, value)
		if err != nil {
			return Errorf(CodeOutputFormatting, "the output is not a JSON object without an %q member, so the %s has nowhere to go", key, key)
		}
		if len(out) > MaxOutputBytes {
			return Errorf(CodeOutputFormatting, "the output with the %s is larger than Step Functions' %d bytes", key, MaxOutputBytes)
		}
		d.Output = out
	case spec.ErrorCause:
		var cause []byte
		if causeIsJSON {
			var err error
			if cause, err = addMember([]byte(d.Cause), key, value); err != nil {
				return Errorf(CodeServiceError, "the cause cannot take the %s", key)
			}
		} else {
			m := map[string]json.RawMessage{key: value}
			if d.Cause != "" {
				c, err := jsontext.Marshal(d.Cause)
				if err != nil {
					return Errorf(CodeServiceError, "the cause cannot be encoded")
				}
				m["cause"] = c
			}
			var err error
			if cause, err = jsontext.Marshal(m); err != nil {
				return Errorf(CodeServiceError, "the cause cannot be encoded")
			}
		}
		if utf8.RuneCount(cause) > MaxCauseLength {
			return Errorf(CodeOutputFormatting, "the cause with the %s is longer than Step Functions' %d characters: shorten the text", key, MaxCauseLength)
		}
		d.Cause = string(cause)
	}
	return nil
}

// addMember appends "key": value to a JSON object's text, which must not
// have that member.
func addMember(obj []byte, key string, value []byte) ([]byte, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(obj, &members); err != nil || members == nil {
		return nil, fmt.Errorf("not a JSON object")
	}
	if _, ok := members[key]; ok {
		return nil, fmt.Errorf("already has %q", key)
	}
	o := bytes.TrimSpace(obj)
	var b bytes.Buffer
	b.Grow(len(o) + len(key) + len(value) + 4)
	b.Write(o[:len(o)-1])
	if len(members) > 0 {
		b.WriteByte(',')
	}
	b.WriteString(`"` + key + `":`)
	b.Write(value)
	b.WriteByte('}')
	return b.Bytes(), nil
}

// approversFor checks a request's approvers and requester against the
// deployment and returns them in normal form.
func (s *Service) approversFor(req *CreateRequest) (approvers []string, requester string, err error) {
	if !req.wantsApproval() {
		return nil, "", nil
	}
	if approvers, err = NormalApprovers(req.Approvers); err != nil {
		return nil, "", Errorf(CodeInvalidJSON, "approvers: %s", err)
	}
	if req.Requester != "" {
		if requester, err = ParseEmail(req.Requester); err != nil {
			return nil, "", Errorf(CodeInvalidJSON, "requester: %s", err)
		}
	}
	if err := s.checkApprovals(approvers, requester, req.Receipt); err != nil {
		return nil, "", err
	}
	return approvers, requester, nil
}
