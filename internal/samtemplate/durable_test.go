package samtemplate

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The durable functions whose callbacks ProcessCallback may answer: none
// by default; each one named gets the three callback actions on its
// qualified form (ARN:*), which every execution's ARN matches, and nothing
// else changes.
func TestDurableCallbackGrants(t *testing.T) {
	doc := loadTemplate(t)
	const (
		one = "arn:aws:lambda:us-east-1:123456789012:function:approval"
		two = "arn:aws:lambda:us-east-1:123456789012:function:quorum-2"
	)
	actions := []string{"lambda:SendDurableExecutionCallbackFailure", "lambda:SendDurableExecutionCallbackHeartbeat", "lambda:SendDurableExecutionCallbackSuccess"}
	for _, tc := range []struct {
		name      string
		arns      string
		resources []string
	}{
		{"default", "", nil},
		{"NONE", "NONE", nil},
		{"one", one, []string{one + ":*"}},
		{"two", one + "," + two, []string{one + ":*", two + ":*"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			overrides := map[string]string{}
			if tc.arns != "" {
				overrides["DurableFunctionArns"] = tc.arns
			}
			s := evaluate(t, doc, overrides)
			var got, want []string
			for _, g := range s.grants("ProcessCallbackFunction") {
				if strings.HasPrefix(g, "lambda:") {
					got = append(got, g)
				}
			}
			for _, a := range actions {
				for _, r := range tc.resources {
					want = append(want, a+" on "+r)
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ProcessCallback's lambda grants (-want +got):\n%s", diff)
			}
			for _, g := range s.grants("CreateUrlsFunction") {
				if strings.HasPrefix(g, "lambda:SendDurable") {
					t.Errorf("CreateUrls may %s", g)
				}
			}
		})
	}
	for _, c := range []struct {
		value string
		ok    bool
	}{
		{"NONE", true},
		{one, true},
		{one + "," + two, true},
		{"arn:aws-cn:lambda:cn-north-1:123456789012:function:a_b", true},
		{one + ":*", false},    // the template adds the qualifier
		{one + ":prod", false}, // an alias or version would grant one only
		{"approval", false},    // IAM needs the ARN
		{one + ", " + two, false},
		{"", false},
	} {
		if err := checkParameter(doc, "DurableFunctionArns", c.value); (err == nil) != c.ok {
			t.Errorf("DurableFunctionArns=%q: accepted %v, want %v (%v)", c.value, err == nil, c.ok, err)
		}
	}
}
