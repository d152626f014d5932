package callbackurls

import (
	"regexp"
	"strings"
	"testing"
)

// The patterns the checks in names.go stand for: the oracle.
var namePatterns = []struct {
	name    string
	pattern *regexp.Regexp
	check   func(string) bool
}{
	{"input name", regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,63}$`), validInputName},
	{"API id", regexp.MustCompile(`^[a-z0-9]{1,32}$`), validAPIID},
	{"stage", regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`), validStage},
	{"region", regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`), validRegion},
}

var nameSeeds = []string{
	"", "a", "_", "-", "1", "a1", "A-b_c", "comment", "1abc", "-x", "é",
	strings.Repeat("a", 32), strings.Repeat("a", 33), strings.Repeat("a", 64), strings.Repeat("a", 65),
	strings.Repeat("b", 128), strings.Repeat("b", 129),
	"abc123defg", "ABC", "v1", "prod_2", "pr od",
	"eu-west-1", "us-gov-west-1", "us-east-1", "eu-west", "eu--1", "e-west-1", "eu-west-", "-west-1", "eu-west-1a", "EU-west-1", "eu-1", "cn-north-1",
}

func TestNameChecks(t *testing.T) {
	for _, p := range namePatterns {
		for _, s := range nameSeeds {
			if got, want := p.check(s), p.pattern.MatchString(s); got != want {
				t.Errorf("%s %q: %t, the pattern says %t", p.name, s, got, want)
			}
		}
	}
}

func FuzzNameChecks(f *testing.F) {
	for _, s := range nameSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, p := range namePatterns {
			if got, want := p.check(s), p.pattern.MatchString(s); got != want {
				t.Fatalf("%s %q: %t, the pattern says %t", p.name, s, got, want)
			}
		}
	})
}
