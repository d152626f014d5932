package awstest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"
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
	srv *httptest.Server

	mu         sync.Mutex
	identities map[string]bool
	sandbox    bool
	emails     []Email
	failures   []failure
}

// NewSES starts an SES v2 stand-in out of the sandbox, closed when the test
// ends.
func NewSES(t testing.TB) *SES {
	t.Helper()
	s := &SES{identities: map[string]bool{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the server's base URL.
func (s *SES) URL() string { return s.srv.URL }

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

// FailNext makes the next n requests fail with the HTTP status and error
// code, such as 429 "TooManyRequestsException" (the SDK retries it) or
// 400 "AccountSuspendedException".
func (s *SES) FailNext(n, status int, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, failure{status, code})
	}
}

// Client returns an SDK client for the server (Config's settings).
func (s *SES) Client(optFns ...func(*sesv2.Options)) *sesv2.Client {
	return sesv2.NewFromConfig(Config(s.srv.URL), append([]func(*sesv2.Options){func(o *sesv2.Options) {
		o.HTTPClient = s.srv.Client()
	}}, optFns...)...)
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

func (s *SES) serveHTTP(w http.ResponseWriter, r *http.Request) {
	status, code, msg, id := s.sendEmail(r)
	w.Header().Set("X-Amzn-Requestid", "sestest-"+id)
	w.Header().Set("Content-Type", "application/json")
	if code != "" {
		w.Header().Set("X-Amzn-Errortype", code+":http://internal.amazon.com/coral/com.amazonaws.sesv2/")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"MessageId": id})
}

func (s *SES) sendEmail(r *http.Request) (status int, code, message, id string) {
	if r.URL.Path != "/v2/email/outbound-emails" {
		return http.StatusNotFound, "NotFoundException", "no such resource " + r.URL.Path, ""
	}
	if r.Method != http.MethodPost {
		return http.StatusMethodNotAllowed, "BadRequestException", "method not allowed", ""
	}
	if p := sigV4Problem(r, "ses"); p != "" {
		return http.StatusForbidden, "IncompleteSignatureException", p, ""
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSESRequestBytes+1))
	if err != nil || len(body) > maxSESRequestBytes {
		return http.StatusRequestEntityTooLarge, "BadRequestException", "Request is too large", ""
	}
	var req sendEmailRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return http.StatusBadRequest, "BadRequestException", "could not parse the request", ""
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failures) > 0 {
		f := s.failures[0]
		s.failures = s.failures[1:]
		return f.status, f.code, "injected by awstest.SES.FailNext", ""
	}
	c := req.Content
	if c == nil || c.Simple == nil || len(c.Raw) > 0 || len(c.Template) > 0 {
		return http.StatusBadRequest, "BadRequestException", "this stand-in sends Simple content only", ""
	}
	var to, all []string
	if d := req.Destination; d != nil {
		to = d.ToAddresses
		all = append(append(append(all, d.ToAddresses...), d.CcAddresses...), d.BccAddresses...)
	}
	if len(all) == 0 || len(all) > 50 {
		return http.StatusBadRequest, "BadRequestException", "Missing final '@domain' or too many recipients", ""
	}
	simple := c.Simple
	if simple.Subject == nil || simple.Subject.Data == nil {
		return http.StatusBadRequest, "BadRequestException", "Subject is required", ""
	}
	if simple.Body == nil || (simple.Body.Text == nil && simple.Body.Html == nil) {
		return http.StatusBadRequest, "BadRequestException", "Body must have Text or Html", ""
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
		return http.StatusBadRequest, "MessageRejected", fmt.Sprintf(
			"Email address is not verified. The following identities failed the check in region %s: %s",
			strings.ToUpper(Region), strings.Join(failed, ", ")), ""
	}
	e := Email{From: req.FromEmailAddress, To: to, Subject: *simple.Subject.Data}
	if t := simple.Body.Text; t != nil && t.Data != nil {
		e.Text = *t.Data
	}
	if h := simple.Body.Html; h != nil && h.Data != nil {
		e.HTML = *h.Data
	}
	s.emails = append(s.emails, e)
	return http.StatusOK, "", "", fmt.Sprintf("0100018f-%08d", len(s.emails))
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
