package respond

import (
	"net/http"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/pages"
)

// SignIn is how the callback endpoint learns who is signed in, and where
// people sign in and out (package signin). Without one, URLs that name
// approvers are refused by the core (SignInDisabled).
type SignIn interface {
	// Identity is the person signed in on r, or nil. An error is a
	// sign-in that does not count (expired, another deployment's, a form
	// from another site: SignInRequired, with a message for the page) or
	// an outage (Unavailable).
	Identity(r *http.Request) (*callbackurls.Identity, error)
	// SignInURL is where a person signs in to come back to the callback
	// URL whose query is link.
	SignInURL(link string) string
	// SignOutURL is where the sign-out form posts its "link" field.
	SignOutURL() string
	// Dev reports the development sign-in, which pages mark.
	Dev() bool
}

// person is what the pages know of the sign-in, for a URL that names who
// may decide: who is signed in (nil: nobody), and why a sign-in did not
// count.
type person struct {
	signIn SignIn
	link   string // the callback URL's query, to come back to
	id     *callbackurls.Identity
	alert  string
}

// identify reads the sign-in for an opened URL that asks who decides. A
// sign-in that does not count is an error for a POST (nothing is sent);
// on a GET the person is asked to sign in again.
func (h *handler) identify(r *http.Request, cb *callbackurls.Callback, sub *callbackurls.Submission) (*person, error) {
	if h.opts.SignIn == nil || cb.Payload == nil || !cb.Payload.NeedsIdentity() {
		return nil, nil
	}
	who := &person{signIn: h.opts.SignIn, link: r.URL.RawQuery}
	id, err := h.opts.SignIn.Identity(r)
	if err != nil {
		e := callbackurls.AsError(err)
		if e.Kind == callbackurls.Unavailable || r.Method == http.MethodPost {
			return who, e
		}
		who.alert = e.Message
	}
	who.id, sub.Identity = id, id
	return who, nil
}

// signedIn is the page's "signed in as" line with its sign-out button.
func (who *person) signedIn(button string) *pages.SignedIn {
	if who == nil || who.id == nil {
		return nil
	}
	return &pages.SignedIn{Name: who.id.Name, Email: who.id.Email, Action: who.signIn.SignOutURL(), Link: who.link,
		Button: button, Dev: who.signIn.Dev()}
}

// signInPage asks a person to sign in before the confirmation: the URL
// names who may answer.
func signInPage(res *callbackurls.CallbackResult, who *person, alert string) pages.Page {
	pres := presentationOf(res)
	p := pages.Page{Template: pages.SignInTemplate, Kind: "signin", Tone: "plain", Context: pres.Title,
		Heading: "Sign in to answer", Description: pres.Description,
		Lead:    "Only the people this request names may answer it. Sign in with your organisation's account: you come back here to confirm.",
		Details: []string{"Reference: " + res.TransactionID + " (" + res.Action + ")"}}
	f := &pages.SignInForm{URL: who.signIn.SignInURL(who.link), Button: "Sign in to continue", Alert: alert, Dev: who.signIn.Dev(),
		Note: "Signing in only shows who you are; nothing is sent until you confirm."}
	if f.Alert == "" && who.alert != "" {
		f.Alert = pages.Sentence(who.alert)
	}
	if f.Dev {
		f.Button = "Sign in (development)"
	}
	p.SignIn = f
	p.DocTitle = p.Heading
	if pres.Title != "" {
		p.DocTitle += " – " + pres.Title
	}
	return p
}

// approvalView is a decision's approval as its result page shows it.
func approvalView(a *callbackurls.Approval) *pages.ApprovalView {
	if a == nil {
		return nil
	}
	v := &pages.ApprovalView{Receipt: a.Receipt}
	if a.By != nil {
		v.By = a.By.Email
		if a.By.Name != "" && a.By.Email != "" {
			v.By = a.By.Name + " (" + a.By.Email + ")"
		} else if a.By.Name != "" {
			v.By = a.By.Name
		}
	}
	if v.By == "" && v.Receipt == "" {
		return nil
	}
	return v
}

// forbiddenPage says why a signed-in person cannot answer, naming neither
// the list of who can nor the token.
func forbiddenPage(e *callbackurls.Error, res *callbackurls.CallbackResult, who *person) (pages.Page, bool) {
	pres := presentationOf(res)
	p := pages.Page{Template: pages.MessageTemplate, Kind: "error", Tone: "info", Icon: "info", Context: pres.Title,
		Details: []string{"Reference: " + res.TransactionID + " (" + res.Action + ")", "Error code: " + e.Code}}
	switch e.Code {
	case callbackurls.CodeNotAnApprover:
		p.Heading = "This request is for someone else"
		p.Lead = "It can only be answered by the people it names, and you are not one of them. Nothing was sent. " +
			"If you have another account, sign out and sign in with it."
	case callbackurls.CodeSelfApproval:
		p.Heading = "You asked for this, so someone else must decide"
		p.Lead = "The person who made a request cannot answer it. Nothing was sent: someone else it names will decide."
	default:
		return p, false
	}
	p.SignedIn = who.signedIn("Sign out")
	p.DocTitle = p.Heading
	return p, true
}
