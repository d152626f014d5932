package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/jsontext"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// statusOf is the one table from an error's kind to its HTTP status.
var statusOf = [...]int{
	callbackurls.BadInput:         http.StatusBadRequest,
	callbackurls.NotFound:         http.StatusNotFound,
	callbackurls.NotAllowed:       http.StatusMethodNotAllowed,
	callbackurls.TooLarge:         http.StatusRequestEntityTooLarge,
	callbackurls.UnsupportedMedia: http.StatusUnsupportedMediaType,
	callbackurls.Unavailable:      http.StatusServiceUnavailable,
	callbackurls.Internal:         http.StatusInternalServerError,
	callbackurls.Forbidden:        http.StatusForbidden,
	callbackurls.Upstream:         http.StatusBadGateway,
	callbackurls.Unauthenticated:  http.StatusUnauthorized,
}

// Status is the HTTP status of an error.
func Status(e *callbackurls.Error) int {
	if int(e.Kind) < len(statusOf) {
		return statusOf[e.Kind]
	}
	return http.StatusInternalServerError
}

// RetryAfterSeconds is what a 503 tells the caller to wait, unless the
// dependency said (see RetryAfter).
const RetryAfterSeconds = "5"

// RetryAfter is a 503's Retry-After: the wait the dependency asked for,
// when an error in e's chain has a RetryAfter method (Lambda's
// throttling), else RetryAfterSeconds.
func RetryAfter(e *callbackurls.Error) string {
	var w interface{ RetryAfter() time.Duration }
	if errors.As(e, &w) {
		if d := w.RetryAfter(); d > 0 {
			return strconv.Itoa(int((d + time.Second - 1) / time.Second))
		}
	}
	return RetryAfterSeconds
}

// ErrorBody is the contract's error body, for HTTP and direct invokes alike.
type ErrorBody struct {
	Error         string `json:"error"`
	Message       string `json:"message"`
	TransactionID string `json:"transaction_id,omitempty"`
	// TargetError is the target's own code behind a refusal, written under
	// the member its kind names (step_functions_error for a task token: an
	// addition to the reference's body).
	TargetError string                  `json:"-"`
	Target      callbackurls.TargetKind `json:"-"`
}

// MarshalJSON writes the body with the target's code under its member.
func (b ErrorBody) MarshalJSON() ([]byte, error) {
	type plain ErrorBody
	out, err := jsontext.Marshal(plain(b))
	spec := b.Target.Spec()
	if err != nil || b.TargetError == "" || spec == nil {
		return out, err
	}
	code, err := jsontext.Marshal(b.TargetError)
	if err != nil {
		return nil, err
	}
	out = append(out[:len(out)-1], `,"`...)
	out = append(out, spec.ErrorField...)
	out = append(out, `":`...)
	out = append(out, code...)
	return append(out, '}'), nil
}

// NewErrorBody is e's body; tid is the transaction id, if one was assigned.
func NewErrorBody(e *callbackurls.Error, tid string) ErrorBody {
	return ErrorBody{Error: e.Code, Message: e.Message, TransactionID: tid, TargetError: e.TargetCode, Target: e.Target}
}

// NoteError puts an error's facts in the request's log line.
func NoteError(r *http.Request, e *callbackurls.Error, tid string) {
	l := Entry(r)
	l.Error, l.TargetError, l.Target = e.Code, e.TargetCode, e.Target
	if l.TransactionID == "" {
		l.TransactionID = tid
	}
	// The cause is for the operator, never for the caller; it goes in the
	// request's own line.
	if Status(e) >= 500 && e.Err != nil {
		l.Cause = e.Err.Error()
	}
}

// Fail logs err and answers it as JSON (see WriteError).
func Fail(w http.ResponseWriter, r *http.Request, err error, tid string) {
	e := callbackurls.AsError(err)
	NoteError(r, e, tid)
	WriteError(w, e, tid)
}

// WriteError answers e with the contract's JSON error body. A 503 says
// when to try again.
func WriteError(w http.ResponseWriter, e *callbackurls.Error, tid string) {
	status := Status(e)
	NoStore(w)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", RetryAfter(e))
	}
	WriteJSON(w, status, NewErrorBody(e, tid))
}

// MethodNotAllowed answers a method the endpoint does not take; allow is
// the Allow header ("GET, HEAD").
func MethodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	Fail(w, r, ErrMethodNotAllowed(r.Method, allow), "")
}

// ErrMethodNotAllowed is the MethodNotAllowed error for method.
func ErrMethodNotAllowed(method, allow string) *callbackurls.Error {
	return callbackurls.Errorf(callbackurls.CodeMethodNotAllowed,
		"method %s is not allowed here; use %s", method, allow)
}

// NoStore keeps a response out of caches (URLs and outcomes are secrets).
func NoStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
}

// WriteJSON writes v as a JSON response, one line, without HTML escaping: a URL's
// "&" stays "&" for grep and sed, as in the reference (the body is
// application/json with nosniff, never HTML).
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := jsontext.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"ServiceError","message":"internal error"}`)
	}
	w.Header().Set("Content-Type", TypeJSON)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	// A newline at the end, so that curl's output ends its line.
	_, _ = w.Write(append(b, '\n'))
}

// WriteRaw writes a body of the given type as it is (no body for HEAD).
func WriteRaw(w http.ResponseWriter, r *http.Request, contentType string, status int, body string) {
	w.Header().Set("Content-Type", contentType+"; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(body))
	}
}
