package samtemplate

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// stack is a template evaluated for one set of parameter values, the way
// CloudFormation sees it once a stack is created: parameters checked and
// substituted, conditions decided, Fn::If branches chosen, AWS::NoValue
// dropped, resources whose condition is false gone. Values CloudFormation
// knows only at deploy time (resource ids and attributes) stand as
// placeholders: "<Id>" for a Ref, "<Id.Attribute>" for a GetAtt.
type stack struct {
	t      *testing.T
	doc    map[string]any
	params map[string]string
	conds  map[string]bool
	pseudo map[string]string
}

// pseudoValues are the pseudo parameters of the evaluated stack.
var pseudoValues = map[string]string{
	"AWS::AccountId": "123456789012",
	"AWS::Partition": "aws",
	"AWS::Region":    "us-east-1",
	"AWS::StackName": "sfn-callback-urls",
	"AWS::StackId":   "arn:aws:cloudformation:us-east-1:123456789012:stack/sfn-callback-urls/1",
	"AWS::URLSuffix": "amazonaws.com",
}

// evaluate makes the stack for overrides (parameter name to value; the
// rest take their defaults). An override the template would refuse fails
// the test.
func evaluate(t *testing.T, doc map[string]any, overrides map[string]string) *stack {
	t.Helper()
	return evaluateNamed(t, doc, overrides, pseudoValues["AWS::StackName"])
}

// evaluateNamed is evaluate for a stack of another name.
func evaluateNamed(t *testing.T, doc map[string]any, overrides map[string]string, stackName string) *stack {
	t.Helper()
	s := &stack{t: t, doc: doc, params: map[string]string{}, conds: map[string]bool{}, pseudo: maps.Clone(pseudoValues)}
	s.pseudo["AWS::StackName"] = stackName
	s.pseudo["AWS::StackId"] = "arn:aws:cloudformation:us-east-1:123456789012:stack/" + stackName + "/1"
	for name, p := range section(doc, "Parameters") {
		if d, ok := mapAt(p)["Default"]; ok {
			s.params[name] = fmt.Sprint(d)
		}
	}
	for name, v := range overrides {
		if err := checkParameter(doc, name, v); err != nil {
			t.Fatalf("override %s=%s: %v", name, v, err)
		}
		s.params[name] = v
	}
	for name := range section(doc, "Parameters") {
		if _, ok := s.params[name]; !ok {
			t.Fatalf("parameter %s has no default and no value", name)
		}
	}
	return s
}

// checkParameter reports whether CloudFormation would accept value for the
// template's parameter name.
func checkParameter(doc map[string]any, name, value string) error {
	p := mapAt(doc, "Parameters", name)
	if p == nil {
		return fmt.Errorf("no parameter %s", name)
	}
	if allowed, ok := p["AllowedValues"].([]any); ok {
		if !slices.ContainsFunc(allowed, func(a any) bool { return fmt.Sprint(a) == value }) {
			return fmt.Errorf("%s=%q: not one of %v", name, value, allowed)
		}
	}
	if pattern, ok := p["AllowedPattern"].(string); ok {
		// CloudFormation matches the whole value.
		if !regexp.MustCompile(`^(?:` + pattern + `)$`).MatchString(value) {
			return fmt.Errorf("%s=%q: does not match %s", name, value, pattern)
		}
	}
	if p["Type"] == "Number" {
		n, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return fmt.Errorf("%s=%q: not a number", name, value)
		}
		if minV, ok := p["MinValue"]; ok && n < toFloat(minV) {
			return fmt.Errorf("%s=%s: below %v", name, value, minV)
		}
		if maxV, ok := p["MaxValue"]; ok && n > toFloat(maxV) {
			return fmt.Errorf("%s=%s: above %v", name, value, maxV)
		}
	}
	return nil
}

func toFloat(v any) float64 {
	f, _ := strconv.ParseFloat(fmt.Sprint(v), 64)
	return f
}

// cond decides a named condition.
func (s *stack) cond(name string) bool {
	if v, ok := s.conds[name]; ok {
		return v
	}
	expr, ok := section(s.doc, "Conditions")[name]
	if !ok {
		s.t.Fatalf("condition %s not declared", name)
	}
	v := s.boolean(expr)
	s.conds[name] = v
	return v
}

// boolean evaluates a condition expression (in Conditions or Rules).
func (s *stack) boolean(expr any) bool {
	m := mapAt(expr)
	if len(m) != 1 {
		s.t.Fatalf("not a condition expression: %#v", expr)
	}
	for fn, arg := range m {
		args, _ := arg.([]any)
		switch fn {
		case "Condition":
			return s.cond(arg.(string))
		case "Fn::Equals":
			return s.str(args[0]) == s.str(args[1])
		case "Fn::Not":
			return !s.boolean(args[0])
		case "Fn::And":
			for _, a := range args {
				if !s.boolean(a) {
					return false
				}
			}
			return true
		case "Fn::Or":
			for _, a := range args {
				if s.boolean(a) {
					return true
				}
			}
			return false
		}
		s.t.Fatalf("condition function %s not supported", fn)
	}
	return false
}

// str evaluates v to a string.
func (s *stack) str(v any) string {
	s.t.Helper()
	e, ok := s.value(v)
	if !ok {
		s.t.Fatalf("%#v has no value", v)
	}
	switch x := e.(type) {
	case string:
		return x
	case int, float64, bool:
		return fmt.Sprint(x)
	}
	s.t.Fatalf("%#v is not a string: %#v", v, e)
	return ""
}

// value evaluates v. ok is false for AWS::NoValue: the property is absent.
func (s *stack) value(v any) (any, bool) {
	switch x := v.(type) {
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			if ev, ok := s.value(e); ok {
				out = append(out, ev)
			}
		}
		return out, true
	case map[string]any:
		if len(x) == 1 {
			for fn, arg := range x {
				if r, ok, isFn := s.function(fn, arg); isFn {
					return r, ok
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			if ev, ok := s.value(e); ok {
				out[k] = ev
			}
		}
		return out, true
	}
	return v, true
}

// function evaluates one intrinsic function; isFn is false when fn is a
// plain key.
func (s *stack) function(fn string, arg any) (v any, ok, isFn bool) {
	args, _ := arg.([]any)
	switch fn {
	case "Ref":
		name := arg.(string)
		if name == "AWS::NoValue" {
			return nil, false, true
		}
		if p, ok := s.params[name]; ok {
			return p, true, true
		}
		if p, ok := s.pseudo[name]; ok {
			return p, true, true
		}
		return "<" + name + ">", true, true
	case "Fn::GetAtt":
		if len(args) == 2 {
			return fmt.Sprintf("<%v.%v>", args[0], args[1]), true, true
		}
		res, attr, _ := strings.Cut(arg.(string), ".")
		return "<" + res + "." + attr + ">", true, true
	case "Fn::If":
		if s.cond(args[0].(string)) {
			v, ok := s.value(args[1])
			return v, ok, true
		}
		v, ok := s.value(args[2])
		return v, ok, true
	case "Fn::Sub":
		str, vars := "", map[string]any{}
		if text, isStr := arg.(string); isStr {
			str = text
		} else {
			str, _ = args[0].(string)
			vars, _ = args[1].(map[string]any)
		}
		out := subVar.ReplaceAllStringFunc(str, func(m string) string {
			name := strings.TrimSpace(m[2 : len(m)-1])
			if strings.HasPrefix(name, "!") {
				return "${" + name[1:] + "}"
			}
			if v, ok := vars[name]; ok {
				return s.str(v)
			}
			if res, attr, isAtt := strings.Cut(name, "."); isAtt {
				return "<" + res + "." + attr + ">"
			}
			return s.str(map[string]any{"Ref": name})
		})
		return out, true, true
	case "Fn::Select":
		items, _ := s.value(args[1])
		list, _ := items.([]any)
		i, err := strconv.Atoi(fmt.Sprint(args[0]))
		if err != nil || i < 0 || i >= len(list) {
			s.t.Errorf("Fn::Select %v of %v", args[0], items)
			return "", true, true
		}
		return list[i], true, true
	case "Fn::Split":
		var out []any
		for _, part := range strings.Split(s.str(args[1]), args[0].(string)) {
			out = append(out, part)
		}
		return out, true, true
	case "Fn::Join":
		items, _ := s.value(args[1])
		var parts []string
		for _, e := range items.([]any) {
			parts = append(parts, s.str(e))
		}
		return strings.Join(parts, args[0].(string)), true, true
	}
	return nil, false, false
}

// resources returns the stack's resources, each evaluated whole.
func (s *stack) resources() map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range section(s.doc, "Resources") {
		rm := mapAt(r)
		if c, ok := rm["Condition"].(string); ok && !s.cond(c) {
			continue
		}
		v, _ := s.value(rm)
		out[id] = v.(map[string]any)
	}
	return out
}

// output returns an output's value, and whether the stack has it.
func (s *stack) output(name string) (string, bool) {
	o := mapAt(s.doc, "Outputs", name)
	if o == nil {
		s.t.Fatalf("output %s not declared", name)
	}
	if c, ok := o["Condition"].(string); ok && !s.cond(c) {
		return "", false
	}
	return s.str(o["Value"]), true
}

// ruleFailures returns the AssertDescription of every failed assertion of
// the template's Rules.
func (s *stack) ruleFailures() []string {
	var failed []string
	for _, name := range slices.Sorted(maps.Keys(section(s.doc, "Rules"))) {
		rule := mapAt(s.doc, "Rules", name)
		if c, ok := rule["RuleCondition"]; ok && !s.boolean(c) {
			continue
		}
		for _, a := range rule["Assertions"].([]any) {
			if !s.boolean(mapAt(a)["Assert"]) {
				failed = append(failed, name+": "+fmt.Sprint(mapAt(a)["AssertDescription"]))
			}
		}
	}
	return failed
}

// functionEnv returns a SAM function's environment variables (Globals
// merged in, as SAM merges them).
func (s *stack) functionEnv(id string) map[string]string {
	fn := mapAt(section(s.doc, "Resources")[id])
	vars, _ := s.value(mapAt(effective(s.doc, fn, "Environment"), "Variables"))
	env := map[string]string{}
	for k, v := range vars.(map[string]any) {
		env[k] = s.str(v)
	}
	return env
}

// effective returns a function's property with Globals.Function applied
// (maps merge, the function's own value wins otherwise), as SAM does.
func effective(doc map[string]any, fn map[string]any, prop string) any {
	g := mapAt(doc, "Globals", "Function")[prop]
	own, hasOwn := mapAt(fn, "Properties")[prop]
	gm, gIsMap := g.(map[string]any)
	om, oIsMap := own.(map[string]any)
	switch {
	case !hasOwn:
		return g
	case gIsMap && oIsMap:
		return mergeMaps(gm, om)
	default:
		return own
	}
}

func mergeMaps(a, b map[string]any) map[string]any {
	out := map[string]any{}
	maps.Copy(out, a)
	for k, v := range b {
		if am, ok := out[k].(map[string]any); ok {
			if bm, ok := v.(map[string]any); ok {
				out[k] = mergeMaps(am, bm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// grants lists, sorted, what a function's IAM role may do in the stack:
// the statements of its role's inline policies (or of a SAM function's
// Policies, when SAM generates the role), of the stack's AWS::IAM::Policy
// resources attached to the role, and of the key policy statements that
// name the role. Each is one line, "action on resource [if key=value
// ...]"; a key policy's "*" resource is the key itself ("<KeyId>"); a
// managed policy reads "managed-policy on ARN".
func (s *stack) grants(functionID string) []string {
	res := s.resources()
	var out []string
	add := func(stmt map[string]any, self string) {
		if stmt["Effect"] != "Allow" {
			s.t.Errorf("statement %v: Effect %v", stmt["Sid"], stmt["Effect"])
		}
		var conds []string
		for op, kv := range mapAt(stmt, "Condition") {
			for k, v := range mapAt(kv) {
				conds = append(conds, fmt.Sprintf("%s %s=%v", op, k, v))
			}
		}
		sort.Strings(conds)
		suffix := ""
		if len(conds) > 0 {
			suffix = " if " + strings.Join(conds, ", ")
		}
		for _, a := range stringList(stmt["Action"]) {
			for _, r := range stringList(stmt["Resource"]) {
				if r == "*" && self != "" {
					r = self
				}
				out = append(out, a+" on "+r+suffix)
			}
		}
	}
	addDoc := func(doc map[string]any) {
		for _, st := range stringListOrMaps(doc, "Statement") {
			add(st, "")
		}
	}
	roleID := s.roleOf(functionID)
	if roleID == functionID+"Role" && res[roleID] == nil {
		// SAM generates the role from the function's Policies.
		for _, p := range stringListOrMaps(res[functionID], "Properties", "Policies") {
			addDoc(p)
		}
	}
	for _, p := range stringListOrMaps(res[roleID], "Properties", "Policies") {
		addDoc(mapAt(p, "PolicyDocument"))
	}
	for _, arn := range stringList(mapAt(res[roleID], "Properties")["ManagedPolicyArns"]) {
		out = append(out, "managed-policy on "+arn)
	}
	for _, r := range res {
		if r["Type"] == "AWS::IAM::Policy" && slices.Contains(stringList(mapAt(r, "Properties")["Roles"]), "<"+roleID+">") {
			addDoc(mapAt(r, "Properties", "PolicyDocument"))
		}
	}
	role := "<" + roleID + ".Arn>"
	for id, r := range res {
		if r["Type"] != "AWS::KMS::Key" {
			continue
		}
		for _, st := range mapAt(r, "Properties", "KeyPolicy")["Statement"].([]any) {
			stmt := mapAt(st)
			if slices.Contains(stringList(mapAt(stmt, "Principal")["AWS"]), role) {
				add(stmt, "<"+id+">")
			}
		}
	}
	sort.Strings(out)
	return out
}

// roleOf returns the logical id of a function's execution role: the one
// its Role property names, or the one SAM generates.
func (s *stack) roleOf(functionID string) string {
	fn := mapAt(section(s.doc, "Resources")[functionID])
	if role, ok := mapAt(fn, "Properties")["Role"]; ok {
		v, _ := s.value(role)
		str, _ := v.(string)
		if id, ok := strings.CutSuffix(strings.TrimPrefix(str, "<"), ".Arn>"); ok {
			return id
		}
		s.t.Fatalf("%s: Role %v is not a role of the stack", functionID, v)
	}
	return functionID + "Role"
}

// stringListOrMaps returns the policy documents (or statements) of an
// evaluated list; a string item (a managed policy named by ARN or name in
// a SAM function's Policies) reads as a statement "managed-policy on
// NAME", so that it shows in the grants.
func stringListOrMaps(v map[string]any, keys ...string) []map[string]any {
	var list []any
	switch x := mapAt(v, keys[:len(keys)-1]...)[keys[len(keys)-1]].(type) {
	case []any:
		list = x
	case map[string]any:
		list = []any{x}
	}
	var out []map[string]any
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		} else {
			out = append(out, map[string]any{"Statement": []any{map[string]any{
				"Effect": "Allow", "Action": "managed-policy", "Resource": fmt.Sprint(e)}}})
		}
	}
	return out
}

func stringList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}
