package standin

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"
)

// Sign signs r, whose body is body, with Credentials for service in
// Region, as the SDK would: for tests that send hand-made requests.
func Sign(r *http.Request, body []byte, service string) error {
	sum := sha256.Sum256(body)
	return v4.NewSigner().SignHTTP(r.Context(), Credentials(), r, hex.EncodeToString(sum[:]), service, Region, time.Now())
}

// RawRequest is a hand-made request, for tests of what the front end
// refuses.
type RawRequest struct {
	Method, Path string
	// Header is set before signing; a header given as "" is deleted after
	// signing.
	Header map[string]string
	Body   string
	// Sign is the service to sign for with Credentials; "" leaves the
	// request unsigned.
	Sign string
}

// Do sends req to the server and returns the answer with its body read.
func (s *Server) Do(t testing.TB, req RawRequest) (*http.Response, []byte) {
	t.Helper()
	r, err := http.NewRequestWithContext(t.Context(), req.Method, s.URL()+req.Path, strings.NewReader(req.Body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range req.Header {
		if v != "" {
			r.Header.Set(k, v)
		}
	}
	if req.Sign != "" {
		if err := Sign(r, []byte(req.Body), req.Sign); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range req.Header {
		if v == "" {
			r.Header.Del(k)
		}
	}
	resp, err := s.HTTPClient().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// ErrorCode is err's API error code, or its text if it is no API error,
// or "" for nil: for tables of expected codes.
func ErrorCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	if err != nil {
		return err.Error()
	}
	return ""
}
