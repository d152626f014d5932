package httpapi

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// ReadBody reads a request body of at most limit bytes; a longer one is
// RequestTooLarge, found before more than limit bytes are read.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int) ([]byte, error) {
	if r.ContentLength > int64(limit) {
		return nil, callbackurls.ErrBodyTooLarge(limit)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(limit)))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, callbackurls.ErrBodyTooLarge(limit)
		}
		return nil, callbackurls.Errorf(callbackurls.CodeInvalidJSON, "the request body could not be read")
	}
	return body, nil
}

// IsJSON reports whether a Content-Type names JSON (application/json or
// application/*+json, any parameters).
func IsJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")))
}

// IsForm reports whether a Content-Type is an HTML form's.
func IsForm(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// ErrNotJSON is the UnsupportedMediaType answer of an endpoint that reads
// only JSON.
func ErrNotJSON(message string) *callbackurls.Error {
	return callbackurls.Errorf(callbackurls.CodeUnsupportedMedia, "%s", message)
}
