// Package jsontext writes JSON as this service sends it: without HTML
// escaping. The values are data, not HTML: encoding/json's "\u003c" for
// every "<" (and "\u0026" for "&") would lengthen every URL that carries
// them by five bytes each, and make answers harder to read and grep.
package jsontext

import (
	"bytes"
	"encoding/json"
	"sync"
)

// encoder is a reusable encoder and its buffer: Marshal then allocates
// only its result, as json.Marshal does.
type encoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var encoders = sync.Pool{New: func() any {
	e := &encoder{}
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	return e
}}

// maxPooled keeps an outsized document's buffer out of the pool.
const maxPooled = 64 << 10

// Marshal is json.Marshal without HTML escaping.
func Marshal(v any) ([]byte, error) {
	e := encoders.Get().(*encoder)
	e.buf.Reset()
	err := e.enc.Encode(v)
	var out []byte
	if err == nil {
		out = bytes.Clone(bytes.TrimSuffix(e.buf.Bytes(), []byte("\n")))
	}
	if e.buf.Cap() <= maxPooled {
		encoders.Put(e)
	}
	return out, err
}
