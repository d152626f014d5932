// Package corpus gives tests and benchmarks the real task tokens kept in
// testdata/task-tokens.txt (copied from the project's shared corpus so a
// fresh clone needs nothing outside the repository).
package corpus

import (
	_ "embed"
	"strings"
)

//go:embed task-tokens.txt
var tokens string

// Tokens returns the real task tokens, one per line of the corpus file.
func Tokens() []string {
	var out []string
	for _, line := range strings.Split(tokens, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}
