package standin

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
)

// Error is an error answer. An operation returns one (any other error is
// a 500 InternalFailure); the base writes it in the protocol's shape.
type Error struct {
	Status  int    // 0 is 400
	Code    string // "" answers an HTML page, as a load balancer would
	Message string
	// Fields are more members of a JSON error body
	// ({"retryAfterSeconds": 5}); Header more headers (Retry-After).
	Fields map[string]any
	Header http.Header
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf is an error answer with a formatted message.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Validation is a 400 ValidationException listing problems as AWS's Coral
// front end does ("2 validation errors detected: a; b").
func Validation(problems ...string) *Error {
	noun := "error"
	if len(problems) > 1 {
		noun = "errors"
	}
	return Errorf(http.StatusBadRequest, "ValidationException", "%d validation %s detected: %s", len(problems), noun, strings.Join(problems, "; "))
}

func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Status: http.StatusInternalServerError, Code: "InternalFailure", Message: err.Error()}
}

// fault is a refusal by the front end, before any operation; each
// protocol names it its own way (faultCodes).
type fault int

const (
	missingAuth fault = iota
	incompleteSignature
	invalidSignature
	unrecognizedClient
	unknownOperation
	serialization
	tooLarge
)

// faultCodes names each fault: its code for JSON and REST-JSON, then for
// the query protocol.
var faultCodes = map[fault][2]string{
	missingAuth:         {"MissingAuthenticationTokenException", "MissingAuthenticationToken"},
	incompleteSignature: {"IncompleteSignatureException", "IncompleteSignature"},
	invalidSignature:    {"InvalidSignatureException", "SignatureDoesNotMatch"},
	unrecognizedClient:  {"UnrecognizedClientException", "InvalidClientTokenId"},
	unknownOperation:    {"UnknownOperationException", "InvalidAction"},
	serialization:       {"SerializationException", "MalformedQueryString"},
	tooLarge:            {"RequestEntityTooLargeException", "RequestEntityTooLarge"},
}

// frontEnd is a fault as the service's front end answers it: JSON
// services answer 400 to signature faults, REST and query ones 403.
func (s *Server) frontEnd(f fault, msg string) *Error {
	code, status := faultCodes[f][0], http.StatusBadRequest
	if s.svc.Protocol == Query {
		code = faultCodes[f][1]
	}
	switch f {
	case missingAuth, incompleteSignature, invalidSignature, unrecognizedClient:
		if s.svc.Protocol == RESTJSON || s.svc.Protocol == Query {
			status = http.StatusForbidden
		}
	case unknownOperation:
		if s.svc.Protocol == RESTJSON {
			status = http.StatusNotFound
		}
	case tooLarge:
		status = http.StatusRequestEntityTooLarge
	}
	return &Error{Status: status, Code: code, Message: msg}
}

// coralNamespaces are the __type prefixes of the front end's codes, as AWS
// JSON services write them; the SDK keeps what follows '#'.
var coralNamespaces = map[string]string{
	"ThrottlingException":                 "com.amazon.coral.availability#",
	"ValidationException":                 "com.amazon.coral.validate#",
	"UnrecognizedClientException":         "com.amazon.coral.service#",
	"MissingAuthenticationTokenException": "com.amazon.coral.service#",
	"IncompleteSignatureException":        "com.amazon.coral.service#",
	"InvalidSignatureException":           "com.amazon.coral.service#",
	"SerializationException":              "com.amazon.coral.service#",
	"UnknownOperationException":           "com.amazon.coral.service#",
	"AccessDeniedException":               "com.amazon.coral.service#",
	"InternalFailure":                     "com.amazon.coral.service#",
	"ServiceUnavailable":                  "com.amazon.coral.service#",
	"RequestEntityTooLargeException":      "com.amazon.coral.service#",
}

func (s *Server) writeError(w http.ResponseWriter, e *Error, reqID string) {
	for k, v := range e.Header {
		w.Header()[k] = v
	}
	if e.Code == "" {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(e.Status)
		_, _ = io.WriteString(w, "<html><body>"+http.StatusText(e.Status)+"</body></html>")
		return
	}
	body := maps.Clone(e.Fields)
	if body == nil {
		body = map[string]any{}
	}
	if e.Message != "" {
		body["message"] = e.Message
	}
	switch s.svc.Protocol {
	case JSON10, JSON11:
		ns, ok := coralNamespaces[e.Code]
		if !ok {
			ns = s.svc.ErrorNamespace
		}
		body["__type"] = ns + e.Code
		w.Header().Set("Content-Type", jsonContentType(s.svc.Protocol))
	case RESTJSON:
		body["__type"] = e.Code
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Errortype", e.Code)
	case Query:
		typ := "Sender"
		if e.Status >= 500 {
			typ = "Receiver"
		}
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(e.Status)
		_ = xml.NewEncoder(w).Encode(queryError{NS: s.svc.XMLNamespace, Type: typ, Code: e.Code, Message: e.Message, RequestID: reqID})
		return
	}
	data, _ := json.Marshal(body)
	w.WriteHeader(e.Status)
	_, _ = w.Write(data)
}

type queryError struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	NS        string   `xml:"xmlns,attr,omitempty"`
	Type      string   `xml:"Error>Type"`
	Code      string   `xml:"Error>Code"`
	Message   string   `xml:"Error>Message"`
	RequestID string   `xml:"RequestId"`
}
