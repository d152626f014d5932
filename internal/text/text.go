// Package text holds the small string helpers several packages share.
package text

import "unicode/utf8"

// Truncate cuts s to at most n bytes on a character boundary and marks the
// cut with "...": error messages quote input this way without splitting a
// UTF-8 character.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
