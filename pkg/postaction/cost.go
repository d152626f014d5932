package postaction

import (
	"encoding/json"
	"fmt"
	"regexp"
	"regexp/syntax"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/text"
)

// What one callback may spend on a post action, and how it is counted.
//
// A body of 256 KiB checked against 32 outcomes, each schema applying
// keywords and regular expressions to every value, once cost a minute of
// CPU. Two things bound it now:
//
//   - At creation (and again when a URL's outcomes are first compiled by a
//     callback), regular expressions are bounded in size (MaxPatternLength,
//     MaxRepeat, MaxPatternInstructions) and JSONPath expressions in shape
//     (pathcost.go).
//   - At callback, a meter counts the work as it is done: every
//     application of a subschema to a value (weighted by what the
//     subschema holds and the value's size), enum and const
//     (assertions.go), every regular expression match (the input's length
//     times the program's size, counted before it runs) and every JSONPath
//     expression (its model's estimate for the body, before it runs). A
//     callback whose work would pass WorkBudget stops there and is refused
//     (InvalidPostActionBody): the same body and URL always get the same
//     answer.
//
// A unit is 3 to 5 ns of CPU (BenchmarkWorstCallbacks calibrates them):
// the whole budget is 40 to 60 ms, with the body's decoding before it.
const (
	// WorkBudget is one callback's work on a post action, all outcomes
	// tried and JSONPath included.
	WorkBudget = 15_000_000
	// MaxPatternLength, MaxRepeat and MaxPatternInstructions bound one
	// regular expression: a schema's pattern or patternProperties key, a
	// JSONPath match() or search() pattern, or a body string checked by
	// format "regex". A counted repetition x{n} is n copies of x, so
	// \p{L}{1000} compiles to a thousand instructions, each run at every
	// byte of the input.
	MaxPatternLength       = 1024
	MaxRepeat              = 100
	MaxPatternInstructions = 500
	// MaxListInstructions bounds the instructions of all the regular
	// expressions of an outcome list: compiling them is most of what a
	// first callback on an instance costs (32 outcomes of 30 patterns of
	// 400 instructions took 300 ms).
	MaxListInstructions = 4000
)

// Weights, in work units, calibrated with BenchmarkWorstCallbacks so that
// a callback spending the whole budget on any one kind of work takes
// about the same CPU time.
const (
	// applicationWeight is a subschema applied to a value: the schema
	// library spends about 1.5 µs (a new validator, its scope, the error
	// objects of a failure).
	applicationWeight = 300
	// keywordWeight is each keyword of the subschema, each name of
	// required.
	keywordWeight = 20
	// memberWeight is each element or member of an array or object the
	// subschema applies subschemas to: the library returns early from an
	// application that fails its type, before the meter hears of it, so
	// the parent pays for such children. scanWeight is each element or
	// member otherwise (the library still loops over an object's).
	memberWeight = 500
	scanWeight   = 5
	// numberWeight is a number checked by type integer, a bound,
	// multipleOf, enum or const: math/big reads it, about 3 µs, more for
	// long ones.
	numberWeight = 600
	// stringByteWeight is each byte of a string checked by a length, a
	// format or a pattern (a pattern's matching counts again), and
	// formatWeight a string checked by a format.
	stringByteWeight = 1
	formatWeight     = 500
	// uniqueItemWeight is each element uniqueItems hashes.
	uniqueItemWeight = 200
	// valueWeight is each value of enum or const compared.
	valueWeight = 40
	// A regular expression's matching (each instruction of its program,
	// each byte of input, more for larger programs: see pattern.cost), and its
	// compilation (the expression's bytes, then the program's
	// instructions): a body's strings are compiled where a schema says
	// format "regex".
	matchInstWeight   = 1
	parseByteWeight   = 40
	compileInstWeight = 200
	// pathStepWeight is a step of a JSONPath expression's estimate
	// (pathcost.go), charged before it runs, and functionWeight a call of
	// match() or search() (their matching counts as a pattern's).
	pathStepWeight = 12
	functionWeight = 300
)

// meter counts one callback's work. A compiled outcome list has one, used
// by one callback at a time (the list's mutex): the schemas' regular
// expressions and applications, and the paths' functions, reach it through
// the compiled forms. Outside a callback (compilation) it counts nothing.
//
// When the budget cannot pay, spend panics with overBudget, which
// Select recovers: neither library can be told to stop (the schema
// library checks every element of an array even after one fails), and
// neither defers or recovers anything in its validation or selection, so
// unwinding through them leaves nothing behind.
type meter struct {
	active bool
	left   int64
	// patterns are the list's regular expressions, each compiled once
	// (the schema library compiles a pattern twice: to check the schema
	// against its meta-schema, and to use it), and insts their
	// instructions in all: what compiling the list costs.
	patterns map[string]*pattern
	insts    int
}

// overBudget is the panic value of a callback over budget.
type overBudget struct{}

// start arms the meter for one callback.
func (m *meter) start(budget int64) { m.active, m.left = true, budget }

// stop disarms it.
func (m *meter) stop() { m.active, m.left = false, 0 }

// spend takes n units, or stops the callback (a panic of overBudget)
// when the budget cannot pay them: the work they stand for is not done.
func (m *meter) spend(n int64) {
	if !m.active {
		return
	}
	if n > m.left {
		m.left = 0
		panic(overBudget{})
	}
	m.left -= n
}

// pattern is a bounded, metered regular expression.
type pattern struct {
	re *regexp.Regexp
	// cost is the units of one byte of input.
	cost  int64
	insts int
	m     *meter
}

// MatchString implements jsonschema.Regexp, counting the match before it
// runs.
func (p *pattern) MatchString(s string) bool {
	p.m.spend(int64(len(s)+1) * p.cost)
	return p.re.MatchString(s)
}

func (p *pattern) String() string { return p.re.String() }

// compilePattern compiles expr, as regexp.Compile would, within the bounds
// on regular expressions. rewrite, if not nil, changes the parsed
// expression first (JSONPath's I-Regexp reading of ".").
func compilePattern(expr string, m *meter, rewrite func(*syntax.Regexp) string) (*pattern, error) {
	if len(expr) > MaxPatternLength {
		return nil, fmt.Errorf("the regular expression is %d bytes, more than the %d allowed", len(expr), MaxPatternLength)
	}
	m.spend(parseByteWeight * int64(len(expr)+1))
	syn, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, err
	}
	if n := largestRepeat(syn); n > MaxRepeat {
		return nil, fmt.Errorf("the regular expression %q repeats %d times, more than the %d allowed (a count of n makes n copies, each run at every byte)",
			text.Truncate(expr, 60), n, MaxRepeat)
	}
	source := expr
	if rewrite != nil {
		source = rewrite(syn)
		if syn, err = syntax.Parse(source, syntax.Perl); err != nil {
			return nil, err
		}
	}
	prog, err := syntax.Compile(syn.Simplify())
	if err != nil {
		return nil, err
	}
	if len(prog.Inst) > MaxPatternInstructions {
		return nil, fmt.Errorf("the regular expression %q compiles to %d instructions, more than the %d allowed (each runs at every byte of the input)",
			text.Truncate(expr, 60), len(prog.Inst), MaxPatternInstructions)
	}
	m.spend(compileInstWeight * int64(len(prog.Inst)))
	re, err := regexp.Compile(source)
	if err != nil {
		return nil, err
	}
	// A larger program keeps more threads alive at each byte: 6 ns an
	// instruction and byte at 40 instructions, 20 ns at 400.
	n := int64(len(prog.Inst))
	return &pattern{re: re, cost: matchInstWeight * n * (128 + n) / 128, insts: int(n), m: m}, nil
}

// largestRepeat is the largest count of a counted repetition in re.
func largestRepeat(re *syntax.Regexp) int {
	n := 0
	if re.Op == syntax.OpRepeat {
		n = max(re.Min, re.Max)
	}
	for _, sub := range re.Sub {
		n = max(n, largestRepeat(sub))
	}
	return n
}

// regexpEngine is the schemas' regular expression engine: bounded and
// metered. It also reads the body's strings checked by format "regex",
// whose compilation is metered too.
func (m *meter) regexpEngine(expr string) (jsonschema.Regexp, error) {
	return m.pattern("schema:", expr, nil)
}

// pattern is compilePattern, once per expression and flavour while the
// list is compiled, within the list's bound on instructions. At callback
// (a body's string checked by format "regex") it compiles each time,
// metered.
func (m *meter) pattern(flavour, expr string, rewrite func(*syntax.Regexp) string) (*pattern, error) {
	if m.active {
		return compilePattern(expr, m, rewrite)
	}
	if p := m.patterns[flavour+expr]; p != nil {
		return p, nil
	}
	p, err := compilePattern(expr, m, rewrite)
	if err != nil {
		return nil, err
	}
	if m.insts += p.insts; m.insts > MaxListInstructions {
		return nil, fmt.Errorf("the regular expression %q brings the outcomes' regular expressions to %d instructions, more than the %d allowed in all",
			text.Truncate(expr, 60), m.insts, MaxListInstructions)
	}
	if m.patterns == nil {
		m.patterns = map[string]*pattern{}
	}
	m.patterns[flavour+expr] = p
	return p, nil
}

// meterVocabulary's Compile sees every subschema object of a schema, and
// the extension it returns runs at every application of that subschema to
// a value: the hook that counts a schema's work, and that checks enum and
// const (see assertions.go).
const meterVocabularyURL = "urn:sfn-callback-urls:work-meter"

func (m *meter) vocabulary() *jsonschema.Vocabulary {
	return &jsonschema.Vocabulary{
		URL: meterVocabularyURL,
		Compile: func(_ *jsonschema.CompilerContext, obj map[string]any) (jsonschema.SchemaExt, error) {
			return newApplication(m, obj)
		},
	}
}

// application is the work of applying one subschema to a value, and its
// enum and const.
type application struct {
	m                *meter
	weight           int64 // whatever the value
	strings, numbers bool  // what else counts
	format           bool
	iterates         bool // applies subschemas to elements or members
	uniqueItems      bool
	enum             *valueSet
	constant         *valueSet
}

func newApplication(m *meter, obj map[string]any) (*application, error) {
	a := &application{m: m, weight: applicationWeight + keywordWeight*int64(len(obj))}
	for k, v := range obj {
		switch k {
		case "minLength", "maxLength", "format", "pattern":
			a.strings = true
			a.format = a.format || k == "format"
		case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf":
			a.numbers = true
		case "type":
			a.numbers = a.numbers || v == "integer"
			if l, ok := v.([]any); ok {
				for _, t := range l {
					a.numbers = a.numbers || t == "integer"
				}
			}
		case "uniqueItems":
			a.uniqueItems = v == true
		case "items", "prefixItems", "additionalItems", "contains", "unevaluatedItems",
			"properties", "patternProperties", "additionalProperties", "propertyNames", "unevaluatedProperties":
			a.iterates = true
		case "required", "dependentRequired", "dependencies":
			a.weight += keywordWeight * int64(size(v))
		case enumKeyword:
			l, ok := v.([]any)
			if !ok {
				return nil, fmt.Errorf("enum must be an array")
			}
			a.enum = newValueSet(l)
		case constKeyword:
			a.constant = newValueSet([]any{v})
		}
	}
	return a, nil
}

// size counts the values in v (a schema keyword's value).
func size(v any) int {
	n := 1
	switch v := v.(type) {
	case []any:
		for _, x := range v {
			n += size(x)
		}
	case map[string]any:
		for _, x := range v {
			n += size(x)
		}
	}
	return n
}

// Validate implements jsonschema.SchemaExt: it runs after the subschema
// was applied to v, whether it held or not, counts that application, and
// checks enum and const.
func (a *application) Validate(ctx *jsonschema.ValidatorContext, v any) {
	w := a.weight
	members := int64(scanWeight)
	if a.iterates {
		members = memberWeight
	}
	switch v := v.(type) {
	case []any:
		w += members * int64(len(v))
		if a.uniqueItems {
			w += uniqueItemWeight * int64(len(v))
		}
	case map[string]any:
		w += members * int64(len(v))
	case string:
		if a.strings {
			w += stringByteWeight * int64(len(v))
		}
		if a.format {
			w += formatWeight
		}
	case json.Number:
		if a.numbers {
			w += numberWeight * (1 + int64(len(v))/16)
		}
	}
	a.m.spend(w)
	if a.enum != nil && !a.enum.has(v, a.m) {
		ctx.AddError(&kind.Enum{Got: v, Want: a.enum.values})
	}
	if a.constant != nil && !a.constant.has(v, a.m) {
		ctx.AddError(&kind.Const{Got: v, Want: a.constant.values[0]})
	}
}
