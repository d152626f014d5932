package standin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// sigV4Header is a parsed Authorization header of the AWS4-HMAC-SHA256
// scheme.
type sigV4Header struct {
	AccessKeyID, Date, Region, Service string
	SignedHeaders                      []string
	Signature                          string
}

// parseSigV4 reads an Authorization header, or says what is wrong.
func parseSigV4(auth string) (*sigV4Header, fault, string) {
	if auth == "" {
		return nil, missingAuth, "Missing Authentication Token"
	}
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return nil, incompleteSignature, "Unsupported authorization scheme; expected AWS4-HMAC-SHA256"
	}
	fields := map[string]string{}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[0] == "" || scope[4] != "aws4_request" || fields["SignedHeaders"] == "" || len(fields["Signature"]) != 64 {
		return nil, incompleteSignature, "Authorization header requires Credential (key/date/region/service/aws4_request), SignedHeaders and Signature"
	}
	return &sigV4Header{AccessKeyID: scope[0], Date: scope[1], Region: scope[2], Service: scope[3],
		SignedHeaders: strings.Split(fields["SignedHeaders"], ";"), Signature: fields["Signature"]}, 0, ""
}

// VerifySigV4 checks r's signature of body: made with creds for service
// and region, over host and x-amz-date at least, within 15 minutes of
// now, and the same as the SDK's signer makes from creds. The error is
// an *Error as a REST front end answers it (403 and the code), for a
// stand-in that is not a Server (API Gateway's IAM authorisation).
func VerifySigV4(r *http.Request, body []byte, creds aws.Credentials, service, region string) *Error {
	lookup := func(id string) (aws.Credentials, bool) { return creds, id == creds.AccessKeyID }
	if f, msg, ok := verifySigV4(r, body, lookup, service, region); !ok {
		return restFault(f, msg)
	}
	return nil
}

func restFault(f fault, msg string) *Error {
	return &Error{Status: http.StatusForbidden, Code: faultCodes[f][0], Message: msg}
}

// verify checks a request's signature against the server's credentials,
// in any region.
func (s *Server) verify(r *http.Request, body []byte) *Error {
	lookup := func(id string) (aws.Credentials, bool) {
		s.mu.Lock()
		defer s.mu.Unlock()
		c, ok := s.creds[id]
		return c, ok
	}
	if f, msg, ok := verifySigV4(r, body, lookup, s.svc.SigningName, ""); !ok {
		return s.frontEnd(f, msg)
	}
	return nil
}

// verifySigV4 is VerifySigV4 with credentials looked up by access key id;
// region "" accepts any.
func verifySigV4(r *http.Request, body []byte, lookup func(string) (aws.Credentials, bool), service, region string) (fault, string, bool) {
	h, f, msg := parseSigV4(r.Header.Get("Authorization"))
	if h == nil {
		return f, msg, false
	}
	creds, known := lookup(h.AccessKeyID)
	if !known {
		return unrecognizedClient, "The security token included in the request is invalid.", false
	}
	if h.Service != service {
		return invalidSignature, fmt.Sprintf("Credential should be scoped to correct service: '%s'.", service), false
	}
	if region != "" && h.Region != region {
		return invalidSignature, fmt.Sprintf("Credential should be scoped to a valid region, not '%s'.", h.Region), false
	}
	if !slices.Contains(h.SignedHeaders, "host") || !slices.Contains(h.SignedHeaders, "x-amz-date") {
		return incompleteSignature, "host and x-amz-date must be signed", false
	}
	date, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || date.Format("20060102") != h.Date {
		return incompleteSignature, "missing or malformed X-Amz-Date, or not the credential scope's date", false
	}
	if d := time.Since(date); d > 15*time.Minute || d < -15*time.Minute {
		return invalidSignature, "Signature expired: the request's date is more than 15 minutes from the server's", false
	}

	// Sign a copy holding only what the signature covers.
	copyURL := &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	c := &http.Request{Method: r.Method, URL: copyURL, Host: r.Host, Header: http.Header{}, ContentLength: r.ContentLength}
	for _, name := range h.SignedHeaders {
		if name != "host" {
			c.Header[http.CanonicalHeaderKey(name)] = r.Header.Values(name)
		}
	}
	hash := r.Header.Get("X-Amz-Content-Sha256")
	if hash != "UNSIGNED-PAYLOAD" {
		sum := sha256.Sum256(body)
		hash = hex.EncodeToString(sum[:])
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, c, hash, service, h.Region, date); err != nil {
		return invalidSignature, "cannot recompute the signature: " + err.Error(), false
	}
	want, _, _ := parseSigV4(c.Header.Get("Authorization"))
	if want == nil || !slices.Equal(want.SignedHeaders, h.SignedHeaders) ||
		subtle.ConstantTimeCompare([]byte(want.Signature), []byte(h.Signature)) != 1 {
		return invalidSignature, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.", false
	}
	return 0, "", true
}
