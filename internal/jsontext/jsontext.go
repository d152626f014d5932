// Package jsontext writes JSON as this service sends it: without HTML
// escaping. The values are data, not HTML: encoding/json's "\u003c" for
// every "<" (and "\u0026" for "&") would lengthen every URL that carries
// them by five bytes each, and make answers harder to read and grep.
package jsontext

import (
	"bytes"
	"encoding/json"
)

// Marshal is json.Marshal without HTML escaping.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
