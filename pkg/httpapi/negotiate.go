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
// type with the highest quality, the earliest listed on a tie. A type named
// by a range of its own gets that range's quality, so "application/json;q=0,
// */*" excludes JSON (RFC 9110, 12.5.1). A wildcard (and xhtml, served as
// HTML) stands for the first type of its range that no range names: HTML
// then text for text/*, JSON then HTML then text for */*. No Accept, or
// only */*, means JSON (the reference's default for API clients).
func Negotiate(accept string) string {
	var named [3]bool // JSON, HTML, text named by a range of their own
	for part := range strings.SplitSeq(accept, ",") {
		mediaType, _ := parseRange(part)
		if i := typeIndex(mediaType); i >= 0 {
			named[i] = true
		}
	}
	best, bestQ, bestSpecific := TypeJSON, -1.0, false
	for part := range strings.SplitSeq(accept, ",") {
		mediaType, q := parseRange(part)
		if q == 0 {
			continue
		}
		var candidates []string
		// standIn: the range does not name the type it is served as.
		specific, standIn := true, true
		switch mediaType {
		case TypeJSON, TypeHTML, TypeText:
			candidates, standIn = []string{mediaType}, false
		case "application/xhtml+xml":
			candidates = htmlOnly
		case "text/*":
			candidates, specific = anyText, false
		case "application/*":
			candidates, specific = jsonOnly, false
		case "*/*":
			candidates, specific = anyType, false
		default:
			continue
		}
		candidate := ""
		for _, c := range candidates {
			if !standIn || !named[typeIndex(c)] {
				candidate = c
				break
			}
		}
		if candidate == "" {
			continue
		}
		// A specific type beats a wildcard of the same quality.
		if q > bestQ || (q == bestQ && specific && !bestSpecific) {
			best, bestQ, bestSpecific = candidate, q, specific
		}
	}
	return best
}

// The types a range that does not name one stands for, in our preference.
var (
	htmlOnly = []string{TypeHTML}
	jsonOnly = []string{TypeJSON}
	anyText  = []string{TypeHTML, TypeText}
	anyType  = []string{TypeJSON, TypeHTML, TypeText}
)

// parseRange returns an Accept element's lower-cased media type and its
// quality (1 when absent or malformed).
func parseRange(part string) (string, float64) {
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
	return mediaType, q
}

// typeIndex is the index of a served type in Negotiate's named array, or -1.
func typeIndex(mediaType string) int {
	switch mediaType {
	case TypeJSON:
		return 0
	case TypeHTML:
		return 1
	case TypeText:
		return 2
	}
	return -1
}
