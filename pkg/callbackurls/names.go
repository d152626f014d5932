package callbackurls

import "strings"

// Checks of short names, written out rather than as regular expressions:
// a counted repetition such as [A-Za-z0-9_-]{1,128} compiles into one
// copy of its class per count, and the package's patterns cost about 1 ms
// and 200 KB at every cold start (names_test.go checks each against its
// pattern).

// validInputName: ^[A-Za-z_][A-Za-z0-9_-]{0,63}$, an input field's name.
func validInputName(s string) bool {
	if s == "" || len(s) > MaxInputNameLength || !(isLetter(s[0]) || s[0] == '_') {
		return false
	}
	return allBytes(s, func(c byte) bool { return isLetter(c) || isDigit(c) || c == '_' || c == '-' })
}

// validAPIID: ^[a-z0-9]{1,32}$, an API Gateway API id.
func validAPIID(s string) bool {
	return s != "" && len(s) <= 32 && allBytes(s, func(c byte) bool { return isLower(c) || isDigit(c) })
}

// validStage: ^[A-Za-z0-9_-]{1,128}$, an API Gateway stage name.
func validStage(s string) bool {
	return s != "" && len(s) <= 128 && allBytes(s, func(c byte) bool { return isLetter(c) || isDigit(c) || c == '_' || c == '-' })
}

// validRegion: ^[a-z]{2}(-[a-z]+)+-[0-9]+$, an AWS region name
// ("eu-west-1", "us-gov-west-1").
func validRegion(s string) bool {
	parts := strings.Split(s, "-")
	if len(parts) < 3 || len(parts[0]) != 2 || !allBytes(parts[0], isLower) {
		return false
	}
	last := parts[len(parts)-1]
	if last == "" || !allBytes(last, isDigit) {
		return false
	}
	for _, p := range parts[1 : len(parts)-1] {
		if p == "" || !allBytes(p, isLower) {
			return false
		}
	}
	return true
}

func allBytes(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func isLower(c byte) bool  { return 'a' <= c && c <= 'z' }
func isLetter(c byte) bool { return isLower(c) || ('A' <= c && c <= 'Z') }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
