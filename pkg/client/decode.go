package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/text"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// maxResponseBytes bounds what is read of an answer: Lambda's limit on a
// synchronous response (API Gateway's Lambda proxy has the same), so no
// real answer is longer. 64 URLs of the default 8,192 characters are 512 KiB.
const maxResponseBytes = 6 << 20

// maxQuotedBytes bounds what an error message quotes of a body that is not
// an error body.
const maxQuotedBytes = 512

// URLs is a successful CreateUrls answer.
type URLs struct {
	TransactionID string
	// URLs maps each action's name to its URL. The URLs are secrets: anyone
	// holding one can complete the task.
	URLs map[string]string
	// Expiration is when the URLs stop working, as the service enforces it
	// (whole seconds; zero: never).
	Expiration time.Time
	// Messages are the ready-made messages the request asked for
	// (Request.Messages), nil for none; Delivered says where the service
	// sent the ask (Request.Deliver).
	Messages  *Messages
	Delivered *Delivered
}

// Messages, EmailMessage and Delivered are the service's ready-made
// messages and delivery receipts (docs/MESSAGES.md).
type (
	Messages     = callbackurls.Messages
	EmailMessage = callbackurls.EmailMessage
	Delivered    = callbackurls.Delivered
)

// body is either answer of CreateUrls: URLs, or the contract's error body.
type body struct {
	TransactionID      string            `json:"transaction_id"`
	URLs               map[string]string `json:"urls"`
	Expiration         string            `json:"expiration"`
	Error              string            `json:"error"`
	Message            string            `json:"message"` // also API Gateway's "Message" (keys match case-insensitively)
	StepFunctionsError string            `json:"step_functions_error"`
	Messages           *Messages         `json:"messages"`
	Delivered          *Delivered        `json:"delivered"`
}

// decodeResponse reads a CreateUrls answer: the URLs, an *Error for the
// contract's error body, or an error wrapping ErrMalformedResponse.
func decodeResponse(data []byte) (*URLs, error) {
	var b body
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrMalformedResponse, jsonProblem(err))
	}
	if b.Error != "" {
		return nil, b.apiError()
	}
	if b.URLs == nil {
		return nil, fmt.Errorf("%w: neither urls nor an error", ErrMalformedResponse)
	}
	u := &URLs{TransactionID: b.TransactionID, URLs: b.URLs, Messages: b.Messages, Delivered: b.Delivered}
	if b.Expiration != "" {
		t, err := time.Parse(time.RFC3339, b.Expiration)
		if err != nil {
			return nil, fmt.Errorf("%w: expiration %q is not an RFC 3339 date-time", ErrMalformedResponse, text.Truncate(b.Expiration, 64))
		}
		u.Expiration = t
	}
	return u, nil
}

// apiError is the error body's *Error, its text made printable.
func (b *body) apiError() *Error {
	return &Error{
		Code:               printable(b.Error, maxFieldBytes),
		Message:            printable(b.Message, maxMessageBytes),
		TransactionID:      printable(b.TransactionID, maxFieldBytes),
		StepFunctionsError: printable(b.StepFunctionsError, maxFieldBytes),
	}
}

// decodeHTTP reads an answer of POST /urls. Any status but 200 is an
// *Error: the contract's body if it is one, else API Gateway's own (its
// x-amzn-ErrorType and message) or a quote of whatever it is.
func decodeHTTP(status int, header http.Header, data []byte) (*URLs, error) {
	requestID := requestIDOf(header)
	if status == http.StatusOK {
		u, err := decodeResponse(data)
		var e *Error
		if errors.As(err, &e) {
			e.StatusCode, e.RequestID = status, requestID
		}
		return u, err
	}
	e := &Error{StatusCode: status, RequestID: requestID}
	var b body
	if json.Unmarshal(data, &b) == nil && b.Error != "" {
		*e = *b.apiError()
		e.StatusCode, e.RequestID = status, requestID
		return nil, e
	}
	// API Gateway's own answers: "x-amzn-ErrorType: AccessDeniedException:"
	// (sometimes with a URL after the colon) and {"message": "..."}.
	code, _, _ := strings.Cut(header.Get("X-Amzn-Errortype"), ":")
	e.Code = printable(code, maxFieldBytes)
	e.Message = printable(b.Message, maxMessageBytes)
	if e.Message == "" {
		e.Message = quote(data)
	}
	return nil, e
}

// functionError is the *Error for a Lambda function error: the runtime's
// {"errorType", "errorMessage"} body (Sandbox.Timedout, Runtime.ExitError,
// a handler's error).
func functionError(kind string, data []byte) *Error {
	var fe struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	msg := quote(data)
	if json.Unmarshal(data, &fe) == nil {
		// A request with "deliver" fails as a function error whose
		// message is the contract's error body (lambdaapi.DeliveryError).
		var b body
		if json.Unmarshal([]byte(fe.ErrorMessage), &b) == nil && b.Error != "" && b.Error == fe.ErrorType {
			e := b.apiError()
			e.FunctionError = kind
			return e
		}
	}
	if json.Unmarshal(data, &fe) == nil && (fe.ErrorType != "" || fe.ErrorMessage != "") {
		msg = fe.ErrorMessage
		if fe.ErrorType != "" {
			msg = fe.ErrorType + ": " + msg
		}
	}
	return &Error{Code: string(ErrServiceError), FunctionError: kind, Message: printable(msg, maxMessageBytes)}
}

// quote is a short, printable rendering of a body that is not an error
// body, for a message.
func quote(data []byte) string {
	s := printable(string(data[:min(len(data), 4*maxQuotedBytes)]), maxQuotedBytes)
	if s == "" {
		return "(empty body)"
	}
	return s
}

// jsonProblem says what is wrong with a body without quoting it.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("not JSON (at byte %d)", syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return "not a JSON object"
		}
		return fmt.Sprintf("%s is not %s", typ.Field, typ.Type)
	}
	return "not JSON"
}

// readLimited reads r to its end or to limit bytes, whichever is first; a
// longer body is ErrMalformedResponse.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	return io.ReadAll(&limitedReader{r: r, n: limit, limit: limit})
}

// limitedReader reads at most n bytes and fails (rather than stopping
// quietly, as io.LimitReader does) if there are more.
type limitedReader struct {
	r        io.Reader
	n, limit int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("%w: larger than %d bytes", ErrMalformedResponse, l.limit)
		}
		return 0, err
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// limitedBody bounds a response body and still closes it.
type limitedBody struct {
	limitedReader
	c io.Closer
}

func (b *limitedBody) Close() error { return b.c.Close() }
