// Command testsummary reads `go test -json` on stdin and prints what `go
// test` prints without it (a line per package, the output of failures),
// then one line that says how long it took and what was skipped and why,
// the tools a skipped test missed first: `make test` pipes into it, so that
// a run that skipped the browser or moto tests says so at the end. It
// exits 1 if any package failed or did not build.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// event is one line of go test -json (cmd/test2json).
type event struct {
	Action string
	// Package is the package tested; a build event names the package it
	// builds in ImportPath instead.
	Package    string
	ImportPath string
	Test    string
	Elapsed float64
	Output  string
}

func main() {
	start := time.Now()
	failed, err := summarize(os.Stdin, os.Stdout, func() string { return time.Since(start).Round(time.Second).String() })
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}

// summarize copies the run's essentials from r to w; elapsed says how long
// the run took when it ends.
func summarize(r io.Reader, w io.Writer, elapsed func() string) (failed bool, err error) {
	output := map[string][]string{} // package + " " + test: its output so far
	skips := map[string][]string{}  // reason: the tests skipped for it
	var passed, failedPkgs, tests, skipped int
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if json.Unmarshal(line, &e) != nil {
			fmt.Fprintln(w, string(line)) // not JSON: a build error from go itself
			continue
		}
		if e.Package == "" {
			e.Package = e.ImportPath
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "output", "build-output":
			if e.Test == "" && strings.HasPrefix(e.Output, "FAIL") && strings.Contains(e.Output, "[build failed]") {
				continue
			}
			output[key] = append(output[key], e.Output)
		case "skip":
			if e.Test == "" {
				continue // a package without tests
			}
			tests++
			skipped++
			reason := skipReason(output[key])
			skips[reason] = append(skips[reason], e.Package+"."+e.Test)
			delete(output, key)
		case "pass":
			if e.Test != "" {
				tests++
				delete(output, key)
				continue
			}
			passed++
			fmt.Fprintf(w, "ok  \t%s\t%.3fs\n", e.Package, e.Elapsed)
			delete(output, key)
		case "fail", "build-fail":
			if e.Test != "" {
				tests++
				for _, l := range output[key] {
					fmt.Fprint(w, l)
				}
				delete(output, key)
				continue
			}
			failed = true
			failedPkgs++
			for _, l := range output[key] {
				fmt.Fprint(w, l)
			}
			fmt.Fprintf(w, "FAIL\t%s\n", e.Package)
			delete(output, key)
		}
	}
	if err := sc.Err(); err != nil {
		return true, err
	}
	fmt.Fprintf(w, "\n%s: %d packages passed, %d failed; %d tests, %d skipped%s\n",
		elapsed(), passed, failedPkgs, tests, skipped, skipLine(skips))
	return failed, nil
}

// skipReason is the first line a skipped test logged (its t.Skip message).
func skipReason(out []string) string {
	for _, l := range out {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- SKIP") {
			continue
		}
		// "file_test.go:12: message"
		if _, msg, ok := strings.Cut(l, ": "); ok && strings.Contains(l[:strings.Index(l, ": ")], "_test.go:") {
			l = msg
		}
		return l
	}
	return "no reason given"
}

// toolMissing tells the skips that a missing tool caused.
func toolMissing(reason string) bool {
	for _, s := range []string{"not on PATH", "not installed", "not found", "is missing", "could not be built"} {
		if strings.Contains(reason, s) {
			return true
		}
	}
	return false
}

// skipLine is ": tool missing: ...; other: ..." for the summary line.
func skipLine(skips map[string][]string) string {
	var missing, other []string
	for reason, ts := range skips {
		item := fmt.Sprintf("%s (%d)", shorten(reason), len(ts))
		if toolMissing(reason) {
			missing = append(missing, item)
		} else {
			other = append(other, item)
		}
	}
	slices.Sort(missing)
	slices.Sort(other)
	s := ""
	if len(missing) > 0 {
		s += "; TOOL MISSING: " + strings.Join(missing, "; ")
	}
	if len(other) > 0 {
		s += "; also skipped: " + strings.Join(other, "; ")
	}
	return s
}

func shorten(s string) string {
	if len(s) > 100 {
		return s[:97] + "..."
	}
	return s
}
