package lambdarie

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Bootstraps are the Lambda bootstraps a test package runs, by name: each
// is built (Build) at most once per run, by the first test that asks for
// it, concurrently with the others asked for, into a directory Close
// removes (from TestMain). Each is a build of its own, so that a package
// that does not compile fails only the tests that need it.
type Bootstraps struct {
	prefix string
	mu     sync.Mutex
	dir    string
	builds map[string]*bootstrap
}

type bootstrap struct {
	pkg  string
	once sync.Once
	path string
	err  error
}

// NewBootstraps names the packages of the bootstraps (a package path or a
// directory relative to the test's package); prefix names the directory.
func NewBootstraps(prefix string, pkgs map[string]string) *Bootstraps {
	b := &Bootstraps{prefix: prefix, builds: map[string]*bootstrap{}}
	for name, pkg := range pkgs {
		b.builds[name] = &bootstrap{pkg: pkg}
	}
	return b
}

// Paths are the paths of the named bootstraps, built first if they are not
// yet; a build that fails fails tb.
func (b *Bootstraps) Paths(tb testing.TB, names ...string) []string {
	tb.Helper()
	b.mu.Lock()
	if b.dir == "" {
		dir, err := os.MkdirTemp("", b.prefix+"-")
		if err != nil {
			b.mu.Unlock()
			tb.Fatal(err)
		}
		b.dir = dir
	}
	dir := b.dir
	b.mu.Unlock()
	var wg sync.WaitGroup
	for _, name := range names {
		bs := b.builds[name]
		if bs == nil {
			tb.Fatalf("no bootstrap %q", name)
		}
		wg.Go(func() {
			bs.once.Do(func() {
				out := filepath.Join(dir, name)
				if bs.err = os.MkdirAll(out, 0o755); bs.err == nil {
					bs.path, bs.err = Build(bs.pkg, out)
				}
			})
		})
	}
	wg.Wait()
	paths := make([]string, len(names))
	for i, name := range names {
		if err := b.builds[name].err; err != nil {
			tb.Fatal(err)
		}
		paths[i] = b.builds[name].path
	}
	return paths
}

// Close removes the builds.
func (b *Bootstraps) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dir != "" {
		_ = os.RemoveAll(b.dir)
	}
}
