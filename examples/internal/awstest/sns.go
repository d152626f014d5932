package awstest

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// MaxSNSMessageBytes is SNS's limit on a message.
const MaxSNSMessageBytes = 256 << 10

// SNSMessage is a message published to a topic.
type SNSMessage struct {
	Subject string
	Message string
}

// SNS is a running SNS stand-in (Publish only; topics are made with
// AddTopic). As SNS does, Publish refuses a topic that does not exist
// (NotFound), an empty or too large message, and a subject that is not
// printable ASCII on one line shorter than 100 characters
// (InvalidParameter). Its methods are safe for concurrent use.
//
//	srv := awstest.NewSNS(t)
//	topic := srv.AddTopic("approvals")
//	_, err := srv.Client().Publish(ctx, &sns.PublishInput{TopicArn: &topic, Message: aws.String("hi")})
//	srv.Messages(topic) // [{Message: "hi"}]
type SNS struct {
	srv *httptest.Server

	mu       sync.Mutex
	topics   map[string][]SNSMessage
	failures []failure
	requests int
}

// NewSNS starts an SNS stand-in, closed when the test ends.
func NewSNS(t testing.TB) *SNS {
	t.Helper()
	s := &SNS{topics: map[string][]SNSMessage{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the server's base URL, for BaseEndpoint or AWS_ENDPOINT_URL_SNS.
func (s *SNS) URL() string { return s.srv.URL }

// AddTopic creates a topic and returns its ARN.
func (s *SNS) AddTopic(name string) string {
	arn := fmt.Sprintf("arn:aws:sns:%s:%s:%s", Region, Account, name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.topics[arn]; !ok {
		s.topics[arn] = []SNSMessage{}
	}
	return arn
}

// Messages returns what was published to the topic, in order.
func (s *SNS) Messages(topicARN string) []SNSMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SNSMessage(nil), s.topics[topicARN]...)
}

// Requests is how many requests arrived, retries and refused ones included.
func (s *SNS) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// FailNext makes the next n requests fail with the HTTP status and SNS
// error code: 400 "Throttling" or 500 "InternalError" (the SDK retries
// both), 403 "AuthorizationError", 404 "NotFound", ...
func (s *SNS) FailNext(n, status int, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, failure{status, code})
	}
}

// Client returns an SDK client for the server (Config's settings).
func (s *SNS) Client(optFns ...func(*sns.Options)) *sns.Client {
	return sns.NewFromConfig(Config(s.srv.URL), append([]func(*sns.Options){func(o *sns.Options) {
		o.HTTPClient = s.srv.Client()
	}}, optFns...)...)
}

const snsNamespace = "http://sns.amazonaws.com/doc/2010-03-31/"

func (s *SNS) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	reqID := fmt.Sprintf("00000000-0000-4000-8000-%012d", s.requests)
	s.mu.Unlock()

	status, code, msg, messageID := s.publish(r)
	w.Header().Set("X-Amzn-Requestid", reqID)
	w.Header().Set("Content-Type", "text/xml")
	if code != "" {
		typ := "Sender"
		if status >= 500 {
			typ = "Receiver"
		}
		w.WriteHeader(status)
		_ = xml.NewEncoder(w).Encode(snsErrorResponse{
			NS: snsNamespace, Type: typ, Code: code, Message: msg, RequestID: reqID,
		})
		return
	}
	_ = xml.NewEncoder(w).Encode(publishResponse{NS: snsNamespace, MessageID: messageID, RequestID: reqID})
}

type publishResponse struct {
	XMLName   xml.Name `xml:"PublishResponse"`
	NS        string   `xml:"xmlns,attr"`
	MessageID string   `xml:"PublishResult>MessageId"`
	RequestID string   `xml:"ResponseMetadata>RequestId"`
}

type snsErrorResponse struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	NS        string   `xml:"xmlns,attr"`
	Type      string   `xml:"Error>Type"`
	Code      string   `xml:"Error>Code"`
	Message   string   `xml:"Error>Message"`
	RequestID string   `xml:"RequestId"`
}

func (s *SNS) publish(r *http.Request) (status int, code, message, messageID string) {
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		return http.StatusBadRequest, "InvalidAction", "Only POST / is served", ""
	}
	if p := sigV4Problem(r, "sns"); p != "" {
		return http.StatusForbidden, "IncompleteSignature", p, ""
	}
	ct := r.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return http.StatusBadRequest, "InvalidParameter", "Content-Type must be application/x-www-form-urlencoded", ""
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSNSRequestBytes+1))
	if err != nil || len(body) > maxSNSRequestBytes {
		return http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "Request is too large", ""
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return http.StatusBadRequest, "MalformedQueryString", "The query string is malformed", ""
	}
	if form.Get("Action") != "Publish" {
		return http.StatusBadRequest, "InvalidAction", fmt.Sprintf("Could not find operation %s for version %s", form.Get("Action"), form.Get("Version")), ""
	}
	if form.Get("Version") != "2010-03-31" {
		return http.StatusBadRequest, "InvalidParameter", "Invalid API version", ""
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failures) > 0 {
		f := s.failures[0]
		s.failures = s.failures[1:]
		return f.status, f.code, "injected by awstest.SNS.FailNext", ""
	}
	topic := form.Get("TopicArn")
	if topic == "" {
		return http.StatusBadRequest, "InvalidParameter", "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter", ""
	}
	msgs, ok := s.topics[topic]
	if !ok {
		return http.StatusNotFound, "NotFound", "Topic does not exist", ""
	}
	msg := form.Get("Message")
	switch {
	case msg == "":
		return http.StatusBadRequest, "InvalidParameter", "Invalid parameter: Message", ""
	case len(msg) > MaxSNSMessageBytes:
		return http.StatusBadRequest, "InvalidParameter", "Invalid parameter: Message too long", ""
	case !utf8.ValidString(msg):
		return http.StatusBadRequest, "InvalidParameter", "Invalid parameter: Message must be UTF-8", ""
	}
	subject, hasSubject := form["Subject"]
	if hasSubject && !validSubject(subject[0]) {
		return http.StatusBadRequest, "InvalidParameter", "Invalid parameter: Subject", ""
	}
	m := SNSMessage{Message: msg}
	if hasSubject {
		m.Subject = subject[0]
	}
	s.topics[topic] = append(msgs, m)
	return http.StatusOK, "", "", fmt.Sprintf("00000000-0000-4000-9000-%012d", len(s.topics[topic]))
}

const maxSNSRequestBytes = 4 * MaxSNSMessageBytes

// validSubject is SNS's rule: ASCII text that begins with a letter, number
// or punctuation mark, without line breaks or control characters, shorter
// than 100 characters.
func validSubject(s string) bool {
	if s == "" || len(s) >= 100 || s[0] == ' ' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
