package awstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/standin"
)

// Email is a message SES accepted.
type Email struct {
	From    string
	To      []string
	Subject string
	Text    string // the plain-text part ("" if none)
	HTML    string // the HTML part ("" if none)
}

// SES is a running SES v2 stand-in (SendEmail with simple content). As SES
// does, it refuses a sender that is not a verified identity, itself or by
// its domain, and, in the sandbox, a recipient that is not either
// (MessageRejected); a message without recipients, subject or body is a
// BadRequestException. Its methods are safe for concurrent use.
//
//	srv := awstest.NewSES(t)
//	srv.Verify("example.com")
//	_, err := srv.Client().SendEmail(ctx, &sesv2.SendEmailInput{...})
//	srv.Emails()
type SES struct {
	*standin.Server

	mu         sync.Mutex
	identities map[string]bool
	sandbox    bool
	emails     []Email
}

// NewSES starts an SES v2 stand-in out of the sandbox, closed when the test
// ends.
func NewSES(t testing.TB) *SES {
	t.Helper()
	s := &SES{identities: map[string]bool{}, Server: standin.New(t, standin.Service{
		Name: "sestest", Protocol: standin.RESTJSON, SigningName: "ses", MaxRequestBytes: maxSESRequestBytes})}
	standin.HandleREST(s.Server, "SendEmail", "POST /v2/email/outbound-emails", s.sendEmail)
	return s
}

// Verify makes identities (addresses or domains) verified.
func (s *SES) Verify(identities ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range identities {
		s.identities[strings.ToLower(id)] = true
	}
}

// SetSandbox puts the account in or out of the SES sandbox, where mail goes
// to verified identities only.
func (s *SES) SetSandbox(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sandbox = on
}

// Emails returns the accepted messages, in order.
func (s *SES) Emails() []Email {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Email(nil), s.emails...)
}

// Client returns an SDK client for the server (Config's settings).
func (s *SES) Client(optFns ...func(*sesv2.Options)) *sesv2.Client {
	return sesv2.NewFromConfig(s.Config(), optFns...)
}

// maxSESRequestBytes is SES's limit on a message (40 MB) rounded down to
// what a test needs.
const maxSESRequestBytes = 10 << 20

type sesContent struct {
	Data    *string
	Charset string
}

type sendEmailRequest struct {
	FromEmailAddress string
	Destination      *struct {
		ToAddresses, CcAddresses, BccAddresses []string
	}
	Content *struct {
		Simple *struct {
			Subject *sesContent
			Body    *struct {
				Text, Html *sesContent
			}
		}
		Raw      json.RawMessage
		Template json.RawMessage
	}
}

func (s *SES) sendEmail(_ *standin.Request, req *sendEmailRequest) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := req.Content
	if c == nil || c.Simple == nil || len(c.Raw) > 0 || len(c.Template) > 0 {
		return nil, standin.Errorf(http.StatusBadRequest, "BadRequestException", "this stand-in sends Simple content only")
	}
	var to, all []string
	if d := req.Destination; d != nil {
		to = d.ToAddresses
		all = append(append(append(all, d.ToAddresses...), d.CcAddresses...), d.BccAddresses...)
	}
	if len(all) == 0 || len(all) > 50 {
		return nil, standin.Errorf(http.StatusBadRequest, "BadRequestException", "Missing final '@domain' or too many recipients")
	}
	simple := c.Simple
	if simple.Subject == nil || simple.Subject.Data == nil {
		return nil, standin.Errorf(http.StatusBadRequest, "BadRequestException", "Subject is required")
	}
	if simple.Body == nil || (simple.Body.Text == nil && simple.Body.Html == nil) {
		return nil, standin.Errorf(http.StatusBadRequest, "BadRequestException", "Body must have Text or Html")
	}
	check := []string{req.FromEmailAddress}
	if s.sandbox {
		check = append(check, all...)
	}
	var failed []string
	for _, addr := range check {
		if !s.verified(addr) {
			failed = append(failed, addr)
		}
	}
	if len(failed) > 0 {
		return nil, standin.Errorf(http.StatusBadRequest, "MessageRejected",
			"Email address is not verified. The following identities failed the check in region %s: %s",
			strings.ToUpper(Region), strings.Join(failed, ", "))
	}
	e := Email{From: req.FromEmailAddress, To: to, Subject: *simple.Subject.Data}
	if t := simple.Body.Text; t != nil && t.Data != nil {
		e.Text = *t.Data
	}
	if h := simple.Body.Html; h != nil && h.Data != nil {
		e.HTML = *h.Data
	}
	s.emails = append(s.emails, e)
	return map[string]string{"MessageId": fmt.Sprintf("0100018f-%08d", len(s.emails))}, nil
}

// verified reports whether addr, or its domain, is a verified identity.
func (s *SES) verified(addr string) bool {
	addr = strings.ToLower(strings.TrimSpace(addr))
	if i := strings.LastIndexByte(addr, '<'); i >= 0 { // "Name <a@b>"
		addr = strings.TrimSuffix(addr[i+1:], ">")
	}
	_, domain, ok := strings.Cut(addr, "@")
	return ok && (s.identities[addr] || s.identities[domain])
}
