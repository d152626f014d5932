package httpapi

import (
	"strconv"
	"strings"
)

// Content types a callback can answer with.
const (
	TypeJSON = "application/json"
	TypeHTML = "text/html"
	TypeText = "text/plain"
)

// Negotiate picks the response type from an Accept header: the supported
// type with the highest quality, the earliest listed on a tie. Wildcards
// match at their own quality; no Accept, or only */*, means JSON (the
// reference's default for API clients).
func Negotiate(accept string) string {
	best, bestQ, bestSpecific := TypeJSON, -1.0, false
	for part := range strings.SplitSeq(accept, ",") {
		mediaType, params, _ := strings.Cut(part, ";")
		mediaType = strings.ToLower(strings.TrimSpace(mediaType))
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f >= 0 && f <= 1 {
					q = f
				}
			}
		}
		if q == 0 {
			continue
		}
		var candidate string
		specific := true
		switch mediaType {
		case TypeJSON, TypeHTML, TypeText:
			candidate = mediaType
		case "application/xhtml+xml":
			candidate = TypeHTML
		case "text/*":
			candidate, specific = TypeHTML, false
		case "application/*", "*/*":
			candidate, specific = TypeJSON, false
		default:
			continue
		}
		// A specific type beats a wildcard of the same quality.
		if q > bestQ || (q == bestQ && specific && !bestSpecific) {
			best, bestQ, bestSpecific = candidate, q, specific
		}
	}
	return best
}
