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

// WantsPage reports whether a callback request comes from a person's
// browser, or from a robot that behaves like one (mail link scanners,
// chat link previews): such a GET gets a page, and a confirmation page
// rather than an action where one is needed.
//
// Accept decides first: a client that prefers HTML gets a page, and one
// that names a type API clients use (application/json, text/plain,
// application/*, any +json) gets that type. A client that names neither
// (no Accept, or only */* or types we do not serve) is judged by its
// User-Agent: browsers and link-checking robots announce themselves
// ("Mozilla/...", "...bot", "...Preview..."), API clients and SDKs do not
// (curl, python-requests, Go-http-client, aws-sdk-..., PostmanRuntime).
func WantsPage(accept, userAgent string) bool {
	if Negotiate(accept) == TypeHTML {
		return true
	}
	if namesAPIType(accept) {
		return false
	}
	return browserLike(userAgent)
}

// namesAPIType reports whether an Accept header asks, with a non-zero
// quality, for a type that only API clients name.
func namesAPIType(accept string) bool {
	for part := range strings.SplitSeq(accept, ",") {
		mediaType, q := parseRange(part)
		if q == 0 {
			continue
		}
		switch {
		case mediaType == TypeJSON, mediaType == TypeText, mediaType == "application/*",
			strings.HasPrefix(mediaType, "application/") && strings.HasSuffix(mediaType, "+json"):
			return true
		}
	}
	return false
}

// robotWords mark the User-Agents of link checkers and previewers that do
// not start with "Mozilla/" (lower case).
var robotWords = []string{
	"preview", "crawler", "spider", "facebookexternalhit", "linkexpanding", "scanner", "safelinks",
	"mimecast", "proofpoint", "barracuda", "microsoft office", "ms-office", "whatsapp", "skype",
}

// apiClientWords mark API clients whose User-Agent looks like a
// browser's (lower case).
var apiClientWords = []string{"powershell", "robot framework"}

// browserLike reports whether a User-Agent is a browser's, or a link
// checker's that mimics one.
func browserLike(userAgent string) bool {
	ua := strings.ToLower(strings.TrimSpace(userAgent))
	// Scripting clients that borrow a browser's prefix
	// ("Mozilla/5.0 (Windows NT; ...) PowerShell/7.4.0").
	for _, w := range apiClientWords {
		if strings.Contains(ua, w) {
			return false
		}
	}
	if strings.HasPrefix(ua, "mozilla/") || strings.HasPrefix(ua, "opera") {
		return true
	}
	for _, w := range robotWords {
		if strings.Contains(ua, w) {
			return true
		}
	}
	return hasBotWord(ua)
}

// hasBotWord finds a word ending in "bot" (Googlebot/2.1, Slackbot-...,
// TelegramBot), but not "boto3" or "botocore", the AWS SDK for Python.
func hasBotWord(ua string) bool {
	for i := 0; ; {
		j := strings.Index(ua[i:], "bot")
		if j < 0 {
			return false
		}
		end := i + j + 3
		if end == len(ua) || ua[end] < 'a' || ua[end] > 'z' {
			return true
		}
		i = end
	}
}
