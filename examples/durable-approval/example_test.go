// Package durableapproval holds the Go side of the TypeScript example: a
// test that runs its npm tests (AWS's durable execution testing SDK) from
// go test, so that make test and CI run them.
package durableapproval

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestNPM installs the example's locked dependencies (npm ci) in a copy of
// it and runs npm test: the TypeScript build and the quorum's tests under
// LocalDurableTestRunner. Without node and npm it skips, or fails when
// CI=true.
func TestNPM(t *testing.T) {
	if testing.Short() {
		t.Skip("installs the example's npm packages and runs its tests")
	}
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is missing: install Node.js and npm (.ci/run does)", tool)
			}
			t.Skipf("%s is missing: the durable-approval example's TypeScript tests are not run", tool)
		}
	}
	dir := t.TempDir()
	for _, name := range []string{"package.json", "package-lock.json", "tsconfig.json", "src", "test"} {
		if err := os.CopyFS(filepath.Join(dir, name), os.DirFS(name)); err != nil {
			// A file, not a directory.
			data, rerr := os.ReadFile(name)
			if rerr != nil {
				t.Fatal(rerr)
			}
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	for _, args := range [][]string{
		{"npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"},
		{"npm", "test"},
	} {
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		t.Logf("%v:\n%s", args, tail(out, 1500))
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
