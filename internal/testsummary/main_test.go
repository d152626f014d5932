package main

import (
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"run","Package":"m/a","Test":"TestOK"}`,
		`{"Action":"output","Package":"m/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}`,
		`{"Action":"pass","Package":"m/a","Test":"TestOK","Elapsed":0.01}`,
		`{"Action":"run","Package":"m/a","Test":"TestBrowser"}`,
		`{"Action":"output","Package":"m/a","Test":"TestBrowser","Output":"    browser_test.go:43: chromium is not on PATH: install it\n"}`,
		`{"Action":"output","Package":"m/a","Test":"TestBrowser","Output":"--- SKIP: TestBrowser (0.00s)\n"}`,
		`{"Action":"skip","Package":"m/a","Test":"TestBrowser","Elapsed":0}`,
		`{"Action":"pass","Package":"m/a","Elapsed":1.5}`,
		`{"Action":"run","Package":"m/b","Test":"TestBad"}`,
		`{"Action":"output","Package":"m/b","Test":"TestBad","Output":"    b_test.go:9: wrong answer\n"}`,
		`{"Action":"fail","Package":"m/b","Test":"TestBad","Elapsed":0}`,
		`{"Action":"fail","Package":"m/b","Elapsed":0.2}`,
		`{"Action":"skip","Package":"m/c"}`,
		`{"ImportPath":"m/d [m/d.test]","Action":"build-output","Output":"d.go:1:1: undefined: x\n"}`,
		`{"ImportPath":"m/d [m/d.test]","Action":"build-fail"}`,
	}, "\n")
	var out strings.Builder
	failed, err := summarize(strings.NewReader(in), &out, func() string { return "1m2s" })
	if err != nil || !failed {
		t.Fatalf("failed %t, err %v", failed, err)
	}
	for _, want := range []string{"ok  \tm/a\t1.500s\n", "b_test.go:9: wrong answer", "FAIL\tm/b\n",
		"d.go:1:1: undefined: x\nFAIL\tm/d [m/d.test]\n",
		"1m2s: 1 packages passed, 2 failed; 3 tests, 1 skipped; TOOL MISSING: chromium is not on PATH: install it (1)\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "TestOK") {
		t.Errorf("a passing test's output was printed:\n%s", out.String())
	}
}
