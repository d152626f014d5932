package callbackurls

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// eachMember calls fn with each member of the JSON object in data, in
// document order and duplicates included: its name, decoded, and its value
// as raw JSON without surrounding space. data must be valid JSON (it has
// been decoded or checked); a value that is not an object has no members.
// It scans bytes and decodes only names with escapes, so walking a request
// costs next to nothing; fn must not keep the slices.
func eachMember(data []byte, fn func(key, value []byte) error) error {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return nil
	}
	i++
	for {
		i = skipSpace(data, i)
		if i >= len(data) || data[i] == '}' {
			return nil
		}
		if data[i] == ',' {
			i = skipSpace(data, i+1)
		}
		end := skipString(data, i)
		raw := data[i:end]
		if len(raw) < 2 {
			return Errorf(CodeInvalidJSON, "the body is not valid JSON")
		}
		key := raw[1 : len(raw)-1]
		// Escapes, and bytes that are not UTF-8 (which decoding replaces),
		// make the name differ from its bytes.
		if bytes.IndexByte(raw, '\\') >= 0 || !utf8.Valid(raw) {
			var k string
			if err := json.Unmarshal(raw, &k); err != nil {
				return Errorf(CodeInvalidJSON, "the body is not valid JSON")
			}
			key = []byte(k)
		}
		start := skipSpace(data, skipSpace(data, end)+1) // past the colon
		i = skipValue(data, start)
		if err := fn(key, bytes.TrimRight(data[start:i], " \t\r\n")); err != nil {
			return err
		}
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the JSON string starting at i.
func skipString(data []byte, i int) int {
	for j := i + 1; j < len(data); {
		k := bytes.IndexAny(data[j:], `"\\`)
		if k < 0 {
			break
		}
		j += k
		if data[j] == '"' {
			return j + 1
		}
		j += 2 // an escape and the byte it escapes
	}
	return len(data)
}

// skipValue returns the index of the ',' or '}' that ends the member value
// starting at or after i.
func skipValue(data []byte, i int) int {
	depth := 0
	for i < len(data) {
		switch data[i] {
		case '"':
			i = skipString(data, i)
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i
			}
			depth--
		case ',':
			if depth == 0 {
				return i
			}
		}
		i++
	}
	return i
}
