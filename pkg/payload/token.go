package payload

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
)

// Task tokens are opaque, but real ones are standard base64, sometimes
// several padded base64 strings back to back (AQC... tokens have an '='
// in the middle). Storing the decoded bytes saves a quarter of their
// length; anything that does not round-trip exactly is stored as text.
const (
	tokenText     = 0
	tokenBase64   = 1
	segmentPadded = 1 // low bit of a segment header
)

var errToken = errors.New("bad token encoding")

// appendToken appends the compact form of token to dst.
func appendToken(dst []byte, token string) []byte {
	start := len(dst)
	dst = append(dst, tokenBase64)
	rest := token
	for rest != "" {
		// A segment ends after a run of '=' or at the end of the token.
		end := strings.IndexByte(rest, '=')
		if end < 0 {
			end = len(rest)
		} else {
			for end < len(rest) && rest[end] == '=' {
				end++
			}
		}
		seg := rest[:end]
		rest = rest[end:]
		enc, flag := base64.RawStdEncoding.Strict(), uint64(0)
		if strings.HasSuffix(seg, "=") {
			enc, flag = base64.StdEncoding.Strict(), segmentPadded
		}
		// Decode in place after a worst-case header, then write the real
		// header; round-tripping proves the segment is canonical.
		hdr := len(dst)
		dst = append(dst, make([]byte, binary.MaxVarintLen64+enc.DecodedLen(len(seg)))...)
		body := dst[hdr+binary.MaxVarintLen64:]
		n, err := enc.Decode(body, []byte(seg))
		if err != nil || n == 0 || enc.EncodeToString(body[:n]) != seg {
			return appendTokenText(dst[:start], token)
		}
		h := binary.PutUvarint(dst[hdr:], uint64(n)<<1|flag)
		copy(dst[hdr+h:], body[:n])
		dst = dst[:hdr+h+n]
	}
	return dst
}

func appendTokenText(dst []byte, token string) []byte {
	dst = append(dst, tokenText)
	return append(dst, token...)
}

// readToken reverses appendToken.
func readToken(b []byte) (string, error) {
	if len(b) == 0 {
		return "", errToken
	}
	kind, b := b[0], b[1:]
	switch kind {
	case tokenText:
		return string(b), nil
	case tokenBase64:
	default:
		return "", errToken
	}
	var sb strings.Builder
	sb.Grow(len(b) * 4 / 3)
	for len(b) > 0 {
		h, k := binary.Uvarint(b)
		if k <= 0 {
			return "", errToken
		}
		b = b[k:]
		n := h >> 1
		if n == 0 || n > uint64(len(b)) {
			return "", errToken
		}
		enc := base64.RawStdEncoding
		if h&segmentPadded != 0 {
			enc = base64.StdEncoding
		} else if n != uint64(len(b)) {
			return "", errToken // only the last segment may be unpadded
		}
		sb.WriteString(enc.EncodeToString(b[:n]))
		b = b[n:]
	}
	return sb.String(), nil
}
