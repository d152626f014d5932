// Package doctest checks that the shell blocks of a Markdown document work
// when pasted, in order, into a fresh shell: it extracts them, runs them in
// one bash (set -euo pipefail) against a local server of the built CLI,
// and compares what they print with the output the document shows.
//
// A block is a fenced code block of sh, bash, shell or console. In a block
// with "$ " prompts, the prompted lines (and their continuation lines and
// here-documents) are commands and the lines after a command are its
// expected output; a block without prompts is a script whose output is not
// compared. HTML comments just before a block direct the check:
//
//	<!-- doctest: skip (needs an AWS account) -->  the block is not run
//	<!-- doctest: serve --enable-post-actions -->  (re)start the server with these flags first
//
// A command "sfn-callback-urls serve ..." (or "go run ./cmd/sfn-callback-urls
// serve ...") (re)starts the server too; its output is the banner.
package doctest

import (
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
)

// Block is a shell block of a document.
type Block struct {
	Line int // of the opening fence, 1-based
	// Skip is why the block is not run ("" runs it).
	Skip string
	// Serve, when not nil, restarts the server with these flags before
	// the block.
	Serve    []string
	Commands []Command
}

// Command is one command of a block, as bash runs it.
type Command struct {
	Line int
	Text string // prompt stripped; continuation lines and here-documents included
	// Want is the output the document shows ("" for none; a block
	// without prompts shows none).
	Want string
}

var (
	fenceRE     = regexp.MustCompile("^( *)(```+|~~~+)\\s*([A-Za-z0-9_-]*)")
	directiveRE = regexp.MustCompile(`^\s*<!--\s*doctest:\s*(.*?)\s*-->\s*$`)
	shellLangs  = map[string]bool{"sh": true, "bash": true, "shell": true, "console": true}
)

// Parse returns the shell blocks of a Markdown document, with their
// directives.
func Parse(markdown []byte) ([]Block, error) {
	lines := strings.Split(string(markdown), "\n")
	var blocks []Block
	var pending []string // directives since the last non-blank line
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if m := directiveRE.FindStringSubmatch(line); m != nil {
			pending = append(pending, m[1])
			continue
		}
		m := fenceRE.FindStringSubmatch(line)
		if m == nil {
			if strings.TrimSpace(line) != "" {
				pending = nil
			}
			continue
		}
		indent, fence, lang := m[1], m[2], strings.ToLower(m[3])
		start := i
		var body []string
		for i++; i < len(lines); i++ {
			l := strings.TrimPrefix(lines[i], indent)
			if strings.HasPrefix(strings.TrimLeft(l, " "), fence) && strings.TrimSpace(strings.TrimLeft(l, " ")[len(fence):]) == "" {
				break
			}
			body = append(body, l)
		}
		if i == len(lines) {
			return nil, fmt.Errorf("line %d: the code block is not closed", start+1)
		}
		directives := pending
		pending = nil
		if !shellLangs[lang] {
			continue
		}
		b := Block{Line: start + 1}
		for _, d := range directives {
			switch word, rest, _ := strings.Cut(d, " "); word {
			case "skip":
				b.Skip = strings.Trim(strings.TrimSpace(rest), "()")
				if b.Skip == "" {
					return nil, fmt.Errorf("line %d: doctest: skip needs a reason, as skip (needs an AWS account)", start+1)
				}
			case "serve":
				b.Serve = append([]string{}, strings.Fields(rest)...)
			default:
				return nil, fmt.Errorf("line %d: unknown directive doctest: %s (want skip (reason) or serve FLAGS)", start+1, d)
			}
		}
		cmds, err := commands(body, start+2)
		if err != nil {
			return nil, err
		}
		b.Commands = cmds
		blocks = append(blocks, b)
	}
	return blocks, nil
}

// commands splits a block's lines into commands; first is the line number
// of lines[0].
func commands(lines []string, first int) ([]Command, error) {
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	prompted := false
	for _, l := range lines {
		if isPrompt(l) {
			prompted = true
			break
		}
	}
	if !prompted {
		if len(lines) == 0 {
			return nil, nil
		}
		return []Command{{Line: first, Text: strings.Join(lines, "\n")}}, nil
	}
	var cmds []Command
	for i := 0; i < len(lines); {
		if !isPrompt(lines[i]) {
			return nil, fmt.Errorf("line %d: output before the block's first command: %q", first+i, lines[i])
		}
		c := Command{Line: first + i}
		text := []string{promptless(lines[i])}
		i++
		// A command goes on while bash finds it incomplete: a trailing
		// backslash, an open quote, $( or here-document.
		for i < len(lines) && !isPrompt(lines[i]) && !complete(strings.Join(text, "\n")) {
			text = append(text, lines[i])
			i++
		}
		if !complete(strings.Join(text, "\n")) {
			return nil, fmt.Errorf("line %d: the command does not end: %s", c.Line, text[0])
		}
		c.Text = strings.Join(text, "\n")
		var want []string
		for i < len(lines) && !isPrompt(lines[i]) {
			want = append(want, lines[i])
			i++
		}
		c.Want = strings.TrimSpace(strings.Join(want, "\n"))
		cmds = append(cmds, c)
	}
	return cmds, nil
}

func isPrompt(line string) bool { return strings.HasPrefix(line, "$ ") || line == "$" }

func promptless(line string) string { return strings.TrimPrefix(strings.TrimPrefix(line, "$"), " ") }

// complete reports whether bash reads text as whole commands. An
// unterminated here-document is only a warning to bash -n, and a final
// backslash nothing: both count as incomplete here.
func complete(text string) bool {
	if strings.HasSuffix(text, "\\") {
		return false // bash -n takes a backslash before the end as nothing
	}
	cmd := exec.Command("bash", "--norc", "--noprofile", "-n")
	cmd.Stdin = strings.NewReader(text + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	return cmd.Run() == nil && !strings.Contains(stderr.String(), "delimited by end-of-file")
}
