package awstest

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/standin"
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
	*standin.Server

	mu     sync.Mutex
	topics map[string][]SNSMessage
}

// NewSNS starts an SNS stand-in, closed when the test ends.
func NewSNS(t testing.TB) *SNS {
	t.Helper()
	s := &SNS{topics: map[string][]SNSMessage{}, Server: standin.New(t, standin.Service{
		Name: "snstest", Protocol: standin.Query, SigningName: "sns", Version: "2010-03-31",
		XMLNamespace: "http://sns.amazonaws.com/doc/2010-03-31/", MaxRequestBytes: maxSNSRequestBytes})}
	standin.Handle(s.Server, "Publish", s.publish)
	return s
}

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
func (s *SNS) Requests() int { return len(s.Calls()) }

// Client returns an SDK client for the server (Config's settings).
func (s *SNS) Client(optFns ...func(*sns.Options)) *sns.Client {
	return sns.NewFromConfig(s.Config(), optFns...)
}

type publishInput struct {
	TopicArn string  `query:"TopicArn"`
	Message  string  `query:"Message"`
	Subject  *string `query:"Subject"`
}

func (s *SNS) publish(_ *standin.Request, in *publishInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	topic := in.TopicArn
	if topic == "" {
		return nil, invalid("TopicArn or TargetArn Reason: no value for required parameter")
	}
	msgs, ok := s.topics[topic]
	if !ok {
		return nil, standin.Errorf(http.StatusNotFound, "NotFound", "Topic does not exist")
	}
	msg := in.Message
	switch {
	case msg == "":
		return nil, invalid("Message")
	case len(msg) > MaxSNSMessageBytes:
		return nil, invalid("Message too long")
	case !utf8.ValidString(msg):
		return nil, invalid("Message must be UTF-8")
	}
	if in.Subject != nil && !validSubject(*in.Subject) {
		return nil, invalid("Subject")
	}
	m := SNSMessage{Message: msg}
	if in.Subject != nil {
		m.Subject = *in.Subject
	}
	s.topics[topic] = append(msgs, m)
	return struct{ MessageId string }{fmt.Sprintf("00000000-0000-4000-9000-%012d", len(s.topics[topic]))}, nil
}

func invalid(what string) error {
	return standin.Errorf(http.StatusBadRequest, "InvalidParameter", "Invalid parameter: %s", what)
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
