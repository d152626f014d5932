package postaction

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// Bounds on one JSONPath expression beyond its length (MaxPathLength) and
// its descendant segments (MaxDescendants), checked at creation on the
// expression's text once the library has parsed it.
const (
	// MaxPathWork bounds the steps an expression may cost on a body of
	// MaxPathValues values nested MaxBodyDepth deep, in the worst case
	// (pathAnalysis's model): "$..*" is 670,000, "$..*..*" 44 million. A
	// step is about 60 ns of the library's time (pathStepWeight).
	MaxPathWork = 1_000_000
	// MaxPathFunctions bounds the function calls of an expression.
	MaxPathFunctions = 8
	// MaxFilterDepth bounds filters within filters.
	MaxFilterDepth = 2
)

// pathAnalysis reads an RFC 9535 expression that the library accepted and
// estimates its worst case. The model follows a node list through the
// segments, with L bounding its length and m how often one node of the
// body may appear in it (duplicates: "$[0,0]", or a node reached from
// each of its ancestors by ".."):
//
//   - a child segment visits the L nodes; a name or index selector yields
//     at most one node for each, a wildcard, slice or filter selector
//     their children, at most m×N of them (children of distinct nodes are
//     distinct);
//   - a descendant segment visits each node's descendants, at most
//     min(L×N, m×N×(D+1)) nodes, each at most min(L, m×(D+1)) times;
//   - a filter costs, for each candidate, its queries (relative ones
//     modelled from the candidates as a list, absolute ones must be
//     singular: a name or index path, a few steps per candidate) and
//     functions (a regular expression's matching is metered when it runs:
//     cost.go).
//
// The library copies a descendant segment's results once for each level
// it returns through, so its results count D+1 times. At creation N is
// MaxPathValues and D MaxBodyDepth; at callback they are the body's own,
// and the estimate is charged to the callback's meter before the
// expression runs. It also records where match() and search() are called,
// whose pattern must be a string literal, so that compilePath can give
// them precompiled, bounded regular expressions.
type pathAnalysis struct {
	s           string
	i           int
	n, d        float64 // the body's values and depth
	work        float64
	functions   int
	descendants int
	filters     int // depth of the filter being read
	// regexCalls are the offsets of match and search names.
	regexCalls []int
	err        error
}

// analyzePath returns the analysis of expr for the largest body a
// callback may send, or why it is refused.
func analyzePath(expr string) (*pathAnalysis, error) {
	a := pathCost(expr, MaxPathValues, MaxBodyDepth)
	if a.err != nil {
		return nil, a.err
	}
	switch {
	case a.descendants > MaxDescendants:
		// Each nested ".." multiplies the work by the body's size.
		return nil, fmt.Errorf("has %d descendant segments (..), more than the %d allowed", a.descendants, MaxDescendants)
	case a.functions > MaxPathFunctions:
		return nil, fmt.Errorf("calls %d functions, more than the %d allowed", a.functions, MaxPathFunctions)
	case a.work > MaxPathWork:
		return nil, fmt.Errorf("may take about %s steps on a body of %d values, more than the %d allowed: "+
			"use fewer wildcards, descendant segments and filters", approx(a.work), MaxPathValues, MaxPathWork)
	}
	return a, nil
}

// pathCost analyses expr for a body of n values nested d deep.
func pathCost(expr string, n, d int) *pathAnalysis {
	a := &pathAnalysis{s: expr, n: float64(n), d: float64(d)}
	a.blank()
	if !a.eat('$') {
		a.fail("does not start with $")
		return a
	}
	a.segments(1, 1)
	a.blank()
	if a.err == nil && a.i != len(a.s) {
		a.fail("has text the analysis cannot read at byte %d", a.i)
	}
	return a
}

// approx writes a large estimate readably.
func approx(f float64) string {
	if f >= 1e15 {
		return "10^" + fmt.Sprint(int(math.Log10(f)))
	}
	return fmt.Sprintf("%.0f", f)
}

func (a *pathAnalysis) fail(format string, args ...any) {
	if a.err == nil {
		a.err = fmt.Errorf(format, args...)
	}
	a.i = len(a.s)
}

func (a *pathAnalysis) peek() byte {
	if a.i < len(a.s) {
		return a.s[a.i]
	}
	return 0
}

func (a *pathAnalysis) eat(c byte) bool {
	if a.peek() == c {
		a.i++
		return true
	}
	return false
}

func (a *pathAnalysis) blank() {
	for a.i < len(a.s) && strings.IndexByte(" \t\n\r", a.s[a.i]) >= 0 {
		a.i++
	}
}

// segments reads the segments after $ or @, from a node list of length l
// in which a node appears at most m times, and returns the list's bounds
// after them.
func (a *pathAnalysis) segments(l, m float64) (float64, float64) {
	for a.err == nil {
		start := a.i
		a.blank()
		switch {
		case strings.HasPrefix(a.s[a.i:], ".."):
			a.i += 2
			if a.filters > 0 {
				a.fail("has a descendant segment (..) inside a filter, which would read the body again for every candidate")
				return l, m
			}
			a.descendants++
			visited := math.Min(l*a.n, m*a.n*(a.d+1))
			times := math.Min(l, m*(a.d+1))
			a.work += visited
			if a.peek() == '[' {
				l, m = a.bracket(visited, times)
			} else {
				l, m = a.shorthand(visited, times)
			}
			// Results are copied at every level on their way up.
			a.work += l * (a.d + 1)
		case a.peek() == '.':
			a.i++
			a.work += l
			l, m = a.shorthand(l, m)
		case a.peek() == '[':
			a.work += l
			l, m = a.bracket(l, m)
		default:
			a.i = start // the blank space belongs to what follows
			return l, m
		}
		l, m = math.Min(l, 1e18), math.Min(m, 1e18)
	}
	return l, m
}

// shorthand reads ".name" or ".*" after the dot, applied to l nodes each
// appearing at most m times.
func (a *pathAnalysis) shorthand(l, m float64) (float64, float64) {
	if a.eat('*') {
		children := math.Min(l*a.n, m*a.n)
		a.work += children
		return children, m
	}
	n := 0
	for a.i < len(a.s) {
		r, size := utf8.DecodeRuneInString(a.s[a.i:])
		if !(r == '_' || r >= 0x80 || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || n > 0 && r >= '0' && r <= '9') {
			break
		}
		a.i += size
		n++
	}
	if n == 0 {
		a.fail("has a member name the analysis cannot read at byte %d", a.i)
	}
	return l, m
}

// bracket reads "[selector, ...]" applied to l nodes each appearing at
// most m times.
func (a *pathAnalysis) bracket(l, m float64) (float64, float64) {
	a.i++ // [
	var outL, outM float64
	children := math.Min(l*a.n, m*a.n)
	for a.err == nil {
		a.blank()
		switch c := a.peek(); {
		case c == '\'' || c == '"':
			a.str()
			outL += l
		case c == '*':
			a.i++
			a.work += children
			outL += children
		case c == '?':
			a.i++
			a.work += children
			a.filter(children, m)
			outL += children
		case c == '-' || c == ':' || c >= '0' && c <= '9':
			slice := a.indexOrSlice()
			if slice {
				a.work += children
				outL += children
			} else {
				outL += l
			}
		default:
			a.fail("has a selector the analysis cannot read at byte %d", a.i)
			return l, m
		}
		outM += m
		a.blank()
		if a.eat(']') {
			return outL, outM
		}
		if !a.eat(',') {
			a.fail("has a selector list the analysis cannot read at byte %d", a.i)
		}
	}
	return l, m
}

// indexOrSlice reads an index or a slice, and reports a slice.
func (a *pathAnalysis) indexOrSlice() bool {
	slice := false
	for a.i < len(a.s) {
		c := a.s[a.i]
		switch {
		case c == ':':
			slice = true
		case c == '-' || c >= '0' && c <= '9' || c == ' ' || c == '\t' || c == '\n' || c == '\r':
		default:
			return slice
		}
		a.i++
	}
	return slice
}

// str skips a string literal.
func (a *pathAnalysis) str() {
	q := a.s[a.i]
	for a.i++; a.i < len(a.s); a.i++ {
		switch a.s[a.i] {
		case '\\':
			a.i++
		case q:
			a.i++
			return
		}
	}
	a.fail("has an unterminated string")
}

// filter reads a filter's logical expression, evaluated once for each of
// c candidates, each appearing at most m times.
func (a *pathAnalysis) filter(c, m float64) {
	a.filters++
	if a.filters > MaxFilterDepth {
		a.fail("has filters nested %d deep, more than the %d allowed", a.filters, MaxFilterDepth)
	}
	a.expr(c, m)
	a.filters--
}

// expr reads a logical expression, or a function argument, up to the ","
// or the bracket or parenthesis that ends it.
func (a *pathAnalysis) expr(c, m float64) {
	for a.err == nil {
		a.blank()
		for a.eat('!') {
			a.blank()
		}
		a.operand(c, m)
		a.blank()
		op := false
		for _, o := range []string{"==", "!=", "<=", ">=", "&&", "||", "<", ">"} {
			if strings.HasPrefix(a.s[a.i:], o) {
				a.i += len(o)
				op = true
				break
			}
		}
		if !op {
			return
		}
	}
}

// operand reads one operand of an expression.
func (a *pathAnalysis) operand(c, m float64) {
	switch ch := a.peek(); {
	case ch == '(':
		a.i++
		a.expr(c, m)
		a.blank()
		if !a.eat(')') {
			a.fail("has a parenthesis the analysis cannot read at byte %d", a.i)
		}
	case ch == '@':
		a.i++
		a.segments(c, m)
	case ch == '$':
		a.i++
		start := a.work
		// An absolute query costs the same for every candidate: it must
		// select at most one node, in a few steps.
		l, _ := a.segments(1, 1)
		if l > 1 || a.work-start > 64 {
			a.fail("has a query from the root ($) in a filter that can select more than one node; " +
				"in a filter, $ may only name one node (names and indexes), as it is read again for every candidate")
		}
		a.work += (a.work - start) * c
	case ch == '\'' || ch == '"':
		a.str()
	case ch == '-' || ch >= '0' && ch <= '9':
		for a.i < len(a.s) && strings.IndexByte("0123456789+-.eE", a.s[a.i]) >= 0 {
			a.i++
		}
	case ch >= 'a' && ch <= 'z':
		start := a.i
		for a.i < len(a.s) && (a.s[a.i] == '_' || a.s[a.i] >= 'a' && a.s[a.i] <= 'z' || a.s[a.i] >= '0' && a.s[a.i] <= '9') {
			a.i++
		}
		name := a.s[start:a.i]
		if name == "true" || name == "false" || name == "null" {
			return
		}
		a.blank() // the library allows it, RFC 9535 does not
		if a.peek() != '(' {
			a.fail("is not RFC 9535 JSONPath at byte %d", start)
			return
		}
		a.call(name, start, c, m)
	default:
		// The library lets some through: "$[?!#]" reads as "$[?!@]".
		a.fail("is not RFC 9535 JSONPath at byte %d", a.i)
	}
}

// call reads a function call's arguments.
func (a *pathAnalysis) call(name string, at int, c, m float64) {
	a.i++ // (
	a.functions++
	a.work += c
	regex := name == "match" || name == "search"
	if regex {
		a.regexCalls = append(a.regexCalls, at)
	}
	for arg := 0; a.err == nil; arg++ {
		a.blank()
		if arg == 0 && a.eat(')') {
			return
		}
		start := a.i
		a.expr(c, m)
		if regex && arg == 1 && !isStringLiteral(strings.TrimSpace(a.s[start:a.i])) {
			a.fail("calls %s() with a pattern that is not a string literal: write the regular expression itself "+
				"(a pattern read from the body would be compiled again for every candidate)", name)
		}
		a.blank()
		if a.eat(')') {
			return
		}
		if !a.eat(',') {
			a.fail("has a function call the analysis cannot read at byte %d", a.i)
		}
	}
}

// isStringLiteral reports whether s is exactly one string literal.
func isStringLiteral(s string) bool {
	if len(s) < 2 || (s[0] != '\'' && s[0] != '"') {
		return false
	}
	a := &pathAnalysis{s: s}
	a.str()
	return a.err == nil && a.i == len(s)
}

// rewrite is the expression with each match and search call renamed to
// the registry functions that use precompiled patterns.
func (a *pathAnalysis) rewrite() string {
	if len(a.regexCalls) == 0 {
		return a.s
	}
	var b strings.Builder
	last := 0
	for _, at := range a.regexCalls {
		b.WriteString(a.s[last:at])
		b.WriteString(regexFunctionPrefix)
		last = at
	}
	b.WriteString(a.s[last:])
	return b.String()
}
