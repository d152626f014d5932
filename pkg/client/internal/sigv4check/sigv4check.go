// Package sigv4check verifies AWS Signature Version 4 Authorization
// headers for the client's stand-ins: it checks the header's shape and
// scope, then signs a copy of the request with the SDK's signer and the
// expected credentials, service and region, and compares.
package sigv4check

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

// Problem says why a request's signature is refused, with the error type
// AWS front ends answer.
type Problem struct {
	Type    string // MissingAuthenticationTokenException, IncompleteSignatureException, InvalidSignatureException, UnrecognizedClientException
	Message string
}

func (p *Problem) Error() string { return p.Type + ": " + p.Message }

// Header is a parsed Authorization header.
type Header struct {
	AccessKeyID, Date, Region, Service string
	SignedHeaders                      []string
	Signature                          string
}

// Parse reads an Authorization header of the AWS4-HMAC-SHA256 scheme.
func Parse(auth string) (*Header, *Problem) {
	if auth == "" {
		return nil, &Problem{"MissingAuthenticationTokenException", "Missing Authentication Token"}
	}
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return nil, &Problem{"IncompleteSignatureException", "Unsupported authorization scheme; expected AWS4-HMAC-SHA256"}
	}
	fields := map[string]string{}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[0] == "" || scope[4] != "aws4_request" || fields["SignedHeaders"] == "" || len(fields["Signature"]) != 64 {
		return nil, &Problem{"IncompleteSignatureException", "Authorization header requires Credential (key/date/region/service/aws4_request), SignedHeaders and Signature"}
	}
	return &Header{AccessKeyID: scope[0], Date: scope[1], Region: scope[2], Service: scope[3],
		SignedHeaders: strings.Split(fields["SignedHeaders"], ";"), Signature: fields["Signature"]}, nil
}

// Verify checks r's signature of body: made with creds for service and
// region, over host and x-amz-date at least, and over body's SHA-256.
func Verify(r *http.Request, body []byte, creds aws.Credentials, service, region string) *Problem {
	h, p := Parse(r.Header.Get("Authorization"))
	if p != nil {
		return p
	}
	if h.AccessKeyID != creds.AccessKeyID {
		return &Problem{"UnrecognizedClientException", "The security token included in the request is invalid."}
	}
	if h.Service != service {
		return &Problem{"InvalidSignatureException", fmt.Sprintf("Credential should be scoped to correct service: '%s'.", service)}
	}
	if h.Region != region {
		return &Problem{"InvalidSignatureException", fmt.Sprintf("Credential should be scoped to a valid region, not '%s'.", h.Region)}
	}
	if !slices.Contains(h.SignedHeaders, "host") || !slices.Contains(h.SignedHeaders, "x-amz-date") {
		return &Problem{"IncompleteSignatureException", "host and x-amz-date must be signed"}
	}
	date, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || date.Format("20060102") != h.Date {
		return &Problem{"IncompleteSignatureException", "missing or malformed X-Amz-Date, or not the credential scope's date"}
	}
	if d := time.Since(date); d > 15*time.Minute || d < -15*time.Minute {
		return &Problem{"InvalidSignatureException", "Signature expired: the request's date is more than 15 minutes from the server's"}
	}

	// Sign a copy holding only what the signature covers.
	copyURL := &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	c := &http.Request{Method: r.Method, URL: copyURL, Host: r.Host, Header: http.Header{}, ContentLength: r.ContentLength}
	for _, name := range h.SignedHeaders {
		if name != "host" {
			c.Header[http.CanonicalHeaderKey(name)] = r.Header.Values(name)
		}
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, c, hex.EncodeToString(sum[:]), service, region, date); err != nil {
		return &Problem{"InvalidSignatureException", "cannot recompute the signature: " + err.Error()}
	}
	want, _ := Parse(c.Header.Get("Authorization"))
	if want == nil || !slices.Equal(want.SignedHeaders, h.SignedHeaders) ||
		subtle.ConstantTimeCompare([]byte(want.Signature), []byte(h.Signature)) != 1 {
		return &Problem{"InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."}
	}
	return nil
}
