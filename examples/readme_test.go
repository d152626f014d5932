package examples

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/doctest"
)

// TestREADMEs runs the shell blocks of examples/README.md and each
// example's, in order, as internal/doctest runs the repository's documents:
// against the built CLI's local server, from a directory where examples/
// is this directory (the READMEs' commands run from the repository's
// root).
func TestREADMEs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the CLI and runs the documents")
	}
	doctest.RequireTools(t)
	cli := doctest.BuildCLI(t)
	here, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	docs := []string{"README.md"}
	for _, ex := range examples {
		docs = append(docs, filepath.Join(ex, "README.md"))
	}
	for _, doc := range docs {
		t.Run(filepath.Dir(doc), func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Symlink(here, filepath.Join(dir, "examples")); err != nil {
				t.Fatal(err)
			}
			doctest.Run(t, doc, doctest.Env{CLI: cli, Dir: dir})
		})
	}
}
