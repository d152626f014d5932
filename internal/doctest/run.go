package doctest

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Env is where a document's commands run.
type Env struct {
	// CLI is the built sfn-callback-urls binary (BuildCLI); the commands
	// find it on PATH as sfn-callback-urls.
	CLI string
	// Dir is the working directory of the commands and the server (its
	// .local/ keys and tasks); empty: a new temporary directory.
	Dir string
	// Port is the server's port on 127.0.0.1; 0 picks a free one. The
	// documents' localhost:8080 and 127.0.0.1:8080 are rewritten to it.
	Port int
	// ServeFlags are added to every start of the server.
	ServeFlags []string
	// Vars are more environment variables (NAME=value) for the commands.
	Vars []string
	// Timeout bounds the whole document (default one minute).
	Timeout time.Duration
}

// Tools reports what the checks need and the machine lacks: bash, curl and
// jq. A test skips with it as the reason, except under CI=true, where it
// fails.
func Tools() []string {
	var missing []string
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	return missing
}

// RequireTools skips t (fails it under CI=true) unless bash, curl and jq
// are installed.
func RequireTools(t testing.TB) {
	t.Helper()
	if missing := Tools(); len(missing) > 0 {
		msg := "the documentation check needs " + strings.Join(missing, ", ") + " (apt-get install " + strings.Join(missing, " ") + ")"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

var (
	buildOnce sync.Once
	builtCLI  string
	buildErr  error
)

// BuildCLI builds cmd/sfn-callback-urls once per test binary and returns
// its path.
func BuildCLI(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := ModuleRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "doctest-cli-")
		if err != nil {
			buildErr = err
			return
		}
		builtCLI = filepath.Join(dir, "sfn-callback-urls")
		cmd := exec.Command("go", "build", "-o", builtCLI, "./cmd/sfn-callback-urls")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/sfn-callback-urls: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtCLI
}

// ModuleRoot is the directory of the go.mod above the working directory.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// FreePort finds a free port of 127.0.0.1 with four digits, as the
// documents' 8080 has: lengths of URLs they show stay right.
func FreePort() (int, error) {
	for range 200 {
		port := 8100 + rand.IntN(1900)
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			ln.Close()
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free port from 8100 to 9999")
}

// Run runs the shell blocks of the document at path, in order, in one bash,
// and reports on t every command that fails and every output that differs
// from the document's.
func Run(t *testing.T, path string, env Env) {
	t.Helper()
	if env.Dir == "" {
		env.Dir = t.TempDir()
	}
	res, err := Check(path, env)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d commands in %v", filepath.Base(path), res.Commands, res.Duration.Round(time.Millisecond))
	for _, note := range res.Notes {
		t.Log(note)
	}
	for _, p := range res.Problems {
		t.Error(p)
	}
}

// Result is what a document's check found.
type Result struct {
	Commands int
	Duration time.Duration
	// Notes say which blocks were not run, and why.
	Notes []string
	// Problems are the commands that failed and the outputs that differ
	// from the document's, each naming its line.
	Problems []string
}

// Check runs the shell blocks of the document at path, in order, in one
// bash, in env.Dir (which must exist).
func Check(path string, env Env) (*Result, error) {
	doc, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blocks, err := Parse(doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	name := filepath.Base(path)
	if env.Port == 0 {
		if env.Port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	if env.Timeout == 0 {
		env.Timeout = time.Minute
	}
	if env.CLI == "" || env.Dir == "" {
		return nil, fmt.Errorf("doctest.Env: CLI (BuildCLI) and Dir are needed")
	}
	res := &Result{}
	script, cmds := buildScript(name, blocks, env, res)
	res.Commands = len(cmds)
	if len(cmds) == 0 {
		return res, nil
	}
	scriptFile := filepath.Join(env.Dir, ".doctest.sh")
	if err := os.WriteFile(scriptFile, []byte(script), 0o600); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), env.Timeout)
	defer cancel()
	bash := exec.CommandContext(ctx, "bash", "--norc", "--noprofile", scriptFile)
	bash.Dir = env.Dir
	bash.Env = append([]string{
		"PATH=" + filepath.Dir(env.CLI) + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + env.Dir, "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "TERM=dumb",
		"DOCTEST_PORT=" + strconv.Itoa(env.Port),
		"DOCTEST_SERVE_FLAGS=" + strings.Join(env.ServeFlags, " "),
	}, env.Vars...)
	var out bytes.Buffer
	bash.Stdout, bash.Stderr = &out, &out
	bash.WaitDelay = 5 * time.Second
	start := time.Now()
	runErr := bash.Run()
	res.Duration = time.Since(start)

	outputs := splitOutput(out.String())
	for i, c := range cmds {
		got, ran := outputs[i]
		if !ran {
			break
		}
		if _, finished := outputs[i+1]; !finished && runErr != nil {
			res.Problems = append(res.Problems, fmt.Sprintf("%s:%d: the command failed (%v):\n%s\n--- it printed:\n%s%s",
				name, c.Line, runErr, c.Text, got, serverLog(env.Dir)))
			return res, nil
		}
		if c.Want == "" {
			continue
		}
		if err := Match(c.Text, rewrite(c.Want, env.Port), got); err != nil {
			res.Problems = append(res.Problems, fmt.Sprintf("%s:%d: the output differs from the document's: %v\n--- command:\n%s\n--- the document shows:\n%s\n--- it printed:\n%s",
				name, c.Line, err, c.Text, c.Want, got))
		}
	}
	if runErr != nil {
		res.Problems = append(res.Problems, fmt.Sprintf("%s: bash: %v\n%s", name, runErr, out.String()))
	}
	return res, nil
}

// command is a command of the script: where it is in the document, the
// text bash runs and the output the document shows.
type command struct {
	Line int
	Text string
	Want string
}

const marker = "\x1edoctest:"

// buildScript writes the bash script for blocks: a marker before each
// command, so that its output can be told apart, and the server's start
// as a shell function.
func buildScript(name string, blocks []Block, env Env, res *Result) (string, []command) {
	var b strings.Builder
	b.WriteString(scriptHead)
	var cmds []command
	add := func(line int, text, want string) {
		fmt.Fprintf(&b, "printf '\\n%s%d\\x1e\\n'\n%s\n", strings.ReplaceAll(marker, "\x1e", `\x1e`), len(cmds), text)
		cmds = append(cmds, command{Line: line, Text: text, Want: want})
	}
	for _, blk := range blocks {
		if blk.Skip != "" {
			res.Notes = append(res.Notes, fmt.Sprintf("%s:%d: not run: %s", name, blk.Line, blk.Skip))
			continue
		}
		if blk.Serve != nil {
			add(blk.Line, "doctest_serve "+strings.Join(blk.Serve, " ")+" >/dev/null", "")
		}
		for _, c := range blk.Commands {
			text := rewrite(c.Text, env.Port)
			text = serveRE.ReplaceAllString(text, "${1}doctest_serve")
			add(c.Line, text, c.Want)
		}
	}
	b.WriteString("printf '\\n" + strings.ReplaceAll(marker, "\x1e", `\x1e`) + "end\\x1e\\n'\n")
	return b.String(), cmds
}

// serveRE finds a command that starts the server.
var serveRE = regexp.MustCompile(`(?m)^(\s*)sfn-callback-urls serve\b`)

// rewrite points a document's commands and output at the test's server
// and its CLI.
func rewrite(s string, port int) string {
	p := strconv.Itoa(port)
	s = strings.ReplaceAll(s, "localhost:8080", "localhost:"+p)
	s = strings.ReplaceAll(s, "127.0.0.1:8080", "127.0.0.1:"+p)
	s = strings.ReplaceAll(s, "go run ./cmd/sfn-callback-urls", "sfn-callback-urls")
	return s
}

// scriptHead starts a document's script: strict mode, and doctest_serve,
// which (re)starts the server in the background on the test's port and
// prints its banner once it answers.
const scriptHead = `set -euo pipefail
mkdir -p .doctest
doctest_stop() {
	if [ -n "${DOCTEST_SERVER_PID:-}" ]; then
		kill -INT "$DOCTEST_SERVER_PID" 2>/dev/null || true
		wait "$DOCTEST_SERVER_PID" 2>/dev/null || true
		DOCTEST_SERVER_PID=
	fi
}
trap doctest_stop EXIT
doctest_serve() {
	doctest_stop
	# shellcheck disable=SC2086
	sfn-callback-urls serve --addr "127.0.0.1:$DOCTEST_PORT" $DOCTEST_SERVE_FLAGS "$@" >.doctest/server.out 2>>.doctest/server.log &
	DOCTEST_SERVER_PID=$!
	for _ in $(seq 1 300); do
		if curl -fs -o /dev/null "http://127.0.0.1:$DOCTEST_PORT/healthz"; then
			cat .doctest/server.out
			return 0
		fi
		if ! kill -0 "$DOCTEST_SERVER_PID" 2>/dev/null; then
			cat .doctest/server.out .doctest/server.log >&2
			return 1
		fi
		sleep 0.05
	done
	echo "the server did not answer on port $DOCTEST_PORT" >&2
	return 1
}
`

var outputRE = regexp.MustCompile("\n?" + marker + `(\d+|end)` + "\x1e\n")

// splitOutput cuts bash's output at the markers: the output of command i
// is outputs[i] (present once it started).
func splitOutput(out string) map[int]string {
	outputs := map[int]string{}
	locs := outputRE.FindAllStringSubmatchIndex(out, -1)
	for j, loc := range locs {
		id := out[loc[2]:loc[3]]
		end := len(out)
		if j+1 < len(locs) {
			end = locs[j+1][0]
		}
		if id == "end" {
			continue
		}
		n, _ := strconv.Atoi(id)
		outputs[n] = out[loc[1]:end]
	}
	if len(locs) > 0 && out[locs[len(locs)-1][2]:locs[len(locs)-1][3]] == "end" {
		outputs[len(locs)-1] = ""
	}
	return outputs
}

// serverLog is the tail of the server's log, for a failure's report.
func serverLog(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, ".doctest", "server.log"))
	if err != nil || len(b) == 0 {
		return ""
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return "\n--- the server's log (end):\n" + string(b)
}
