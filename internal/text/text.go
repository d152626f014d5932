// Package text holds the small string helpers several packages share.
package text

import (
	"strings"
	"unicode/utf8"
)

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

// Nearest is the known name a misspelt one most likely meant, or "":
// within a third of its length in edits (transpositions count once), or
// sharing its first five letters and within half.
func Nearest(key string, known []string) string {
	k := strings.ToLower(key)
	best, bestDist := "", 0
	for _, name := range known {
		d := editDistance(k, name)
		ok := d <= max(1, len(name)/3) ||
			(len(k) >= 5 && strings.HasPrefix(name, k[:5]) && d <= len(name)/2)
		if ok && (best == "" || d < bestDist) {
			best, bestDist = name, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b
// (insertions, deletions, substitutions and adjacent transpositions), on
// bytes: field names are ASCII. Keys longer than a field name by far are
// not worth comparing.
func editDistance(a, b string) int {
	if len(a) > 64 {
		return len(a)
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
