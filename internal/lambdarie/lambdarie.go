// Package lambdarie runs Lambda bootstraps under aws-lambda-rie, AWS's own
// Lambda Runtime Interface Emulator (the one inside AWS's base images and
// behind `sam local`), for tests.
//
// Binary builds the emulator from the Go module proxy once per version and
// machine into the user's cache directory; Start runs it on free loopback
// ports with one bootstrap and an environment, Invoke posts an event to its
// invoke endpoint (POST /2015-03-31/functions/function/invocations), and
// the test's cleanup stops it and the bootstrap.
//
// What the emulator does that a test sees (this package's tests check it):
// it starts the bootstrap at the first invoke, not at its own start, in a
// process group of its own, with the Runtime API at AWS_LAMBDA_RUNTIME_API
// and the emulator's own environment; it serves one invoke at a time. A
// response comes back as 200 with the function's body. Failures differ
// from Lambda's, which answers 200 with an X-Amz-Function-Error header for
// all of them: an error the handler returns is 200 with the error
// document and no header, so only the body tells; a panic (aws-lambda-go
// reports it, then exits) and an exit mid-invoke are 502 with the error
// document (Runtime.ExitError for an exit); a bootstrap that exits before
// asking for work (settings refused at start) is 502 with no body; an
// invoke over AWS_LAMBDA_FUNCTION_TIMEOUT is 200 with "Task timed out
// after N.00 seconds". After any of the last four it starts the bootstrap
// afresh at the next invoke. It runs on Linux only.
package lambdarie

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/testkit"
)

// Module and Version are the emulator's module and the version built: a
// pseudo-version (a commit of its main branch), which is what the Go module
// proxy serves of it, not its release tags. Binary's cache is keyed by
// Version, so changing it builds the new one.
const (
	Module  = "github.com/aws/aws-lambda-runtime-interface-emulator"
	Version = "v0.0.0-20261030222936-bef5c4ba774d"
	mainPkg = Module + "/cmd/aws-lambda-rie"
	binName = "aws-lambda-rie"
)

// InvokePath is the emulator's invoke endpoint, Lambda's Invoke API path
// for the one function it runs.
const InvokePath = "/2015-03-31/functions/function/invocations"

// Bounds on every wait, so that a hung emulator fails its test rather than
// the whole run.
const (
	buildTimeout = 10 * time.Minute // first build: downloads and compiles
	readyTimeout = 30 * time.Second // start to listening
	stopTimeout  = 10 * time.Second // SIGTERM to exit
	// DefaultTimeout is the function timeout when Config gives none.
	DefaultTimeout = 30 * time.Second
)

var binary struct {
	once sync.Once
	path string
	err  error
}

// Binary returns the path of the emulator built for this machine. The
// first call of a run builds it with `go install` into the user's cache
// directory (keyed by version, GOOS and GOARCH) unless it is there; the
// project's go.mod is not involved. Without the module proxy the test
// skips with a message, except under CI=true, where it fails; on a system
// other than Linux, which the emulator does not support, it skips.
func Binary(tb testing.TB) string {
	tb.Helper()
	if runtime.GOOS != "linux" {
		tb.Skipf("aws-lambda-rie runs on Linux only, not %s", runtime.GOOS)
	}
	binary.once.Do(func() {
		dir, err := cacheDir()
		if err != nil {
			binary.err = err
			return
		}
		binary.path, binary.err = install(context.Background(), dir, os.Environ())
	})
	if err := binary.err; err != nil {
		var u *unreachableError
		if errors.As(err, &u) && os.Getenv("CI") != "true" {
			tb.Skipf("aws-lambda-rie could not be built, the Go module proxy is out of reach (CI=true fails here):\n%v", err)
		}
		tb.Fatal(err)
	}
	return binary.path
}

// cacheDir is where Binary keeps the emulator of this version and machine.
func cacheDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("aws-lambda-rie: no cache directory: %w", err)
	}
	return filepath.Join(base, "sfn-callback-urls", binName, Version, runtime.GOOS+"-"+runtime.GOARCH), nil
}

// unreachableError is a build that failed for want of the module proxy.
type unreachableError struct{ err error }

func (e *unreachableError) Error() string { return e.err.Error() }
func (e *unreachableError) Unwrap() error { return e.err }

// offline matches what the go command says when it cannot download a
// module: no network, no proxy, or downloads turned off.
var offline = regexp.MustCompile(`(?i)dial tcp|no such host|connection refused|i/o timeout|network is unreachable|` +
	`tls handshake|lookup disabled|GOPROXY=off|server misbehaving|name resolution|could not resolve host|unable to access`)

// install builds the emulator into dir (unless it is there) with env as
// the go command's environment, and returns its path. It installs into a
// new directory beside dir and renames it, so that concurrent runs never
// see half a binary.
func install(ctx context.Context, dir string, env []string) (string, error) {
	path := filepath.Join(dir, binName)
	if info, err := os.Stat(path); err == nil && info.Mode().IsRegular() {
		return path, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)

	ctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", "-trimpath", mainPkg+"@"+Version)
	// Outside any module (pkg@version ignores the current one, but a
	// go.work would not), for this machine, with no cgo: the release
	// builds are static too.
	cmd.Dir = tmp
	cmd.Env = append(env, "GOBIN="+tmp, "GOWORK=off", "CGO_ENABLED=0",
		"GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	out, err := cmd.CombinedOutput()
	if err != nil {
		err = fmt.Errorf("go install %s@%s: %v\n%s", mainPkg, Version, err, out)
		if offline.Match(out) {
			return "", &unreachableError{err}
		}
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another run got there first: its binary is as good.
		if _, statErr := os.Stat(path); statErr == nil {
			return path, nil
		}
		return "", err
	}
	return path, nil
}

// Config is what Start runs.
type Config struct {
	// Bootstrap is the path of the function's bootstrap; it runs in its
	// directory, as Lambda runs /var/task/bootstrap in /var/task.
	Bootstrap string
	// FunctionName is AWS_LAMBDA_FUNCTION_NAME (default "function").
	FunctionName string
	// Env is the function's configuration, KEY=VALUE, over Lambda's
	// variables (see Env). The emulator passes its whole environment to
	// the bootstrap, so nothing of this machine's reaches either.
	Env []string
	// Timeout is the function's timeout, AWS_LAMBDA_FUNCTION_TIMEOUT, in
	// whole seconds (default DefaultTimeout).
	Timeout time.Duration
}

// Region and the fake credentials every emulated function gets (a role's:
// with a session token). The AWS stand-ins accept them once told with
// AddCredentials(Credentials()).
const (
	Region          = "us-east-1"
	AccessKeyID     = "AKIDLAMBDARIE"
	SecretAccessKey = "lambdarie-secret"
	SessionToken    = "lambdarie-session"
)

// Credentials are the credentials Env gives a function.
func Credentials() aws.Credentials {
	return aws.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey, SessionToken: SessionToken}
}

// Env is the environment Lambda gives a function, less what the emulator
// sets itself (AWS_LAMBDA_RUNTIME_API, the log group and stream): its
// name, memory and timeout, the region, fake credentials and nothing of
// this machine's AWS configuration.
func Env(function string, timeout time.Duration) []string {
	return []string{
		"AWS_LAMBDA_FUNCTION_NAME=" + function,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"AWS_LAMBDA_FUNCTION_TIMEOUT=" + strconv.Itoa(int(timeout/time.Second)),
		"AWS_REGION=" + Region,
		"AWS_DEFAULT_REGION=" + Region,
		"AWS_ACCESS_KEY_ID=" + AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + SecretAccessKey,
		"AWS_SESSION_TOKEN=" + SessionToken,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/nonexistent",
		"AWS_SHARED_CREDENTIALS_FILE=/nonexistent",
		"TZ=:UTC",
		"PATH=/usr/local/bin:/usr/bin:/bin",
	}
}

// Emulator is a running aws-lambda-rie.
type Emulator struct {
	// URL is the emulator's invoke endpoint.
	URL string
	// RuntimeAPI is the Runtime API's host:port, the bootstrap's
	// AWS_LAMBDA_RUNTIME_API.
	RuntimeAPI string

	name    string
	cmd     *exec.Cmd
	out     testkit.Buffer // the emulator's log and the bootstrap's output
	exited  chan struct{}
	waitErr error // set before exited is closed
	client  *http.Client
	timeout time.Duration

	invokeMu sync.Mutex // the emulator serves one invoke at a time
	stopOnce sync.Once
}

// Start runs the emulator with cfg's bootstrap on free 127.0.0.1 ports and
// returns once it listens; the test's cleanup stops it. The bootstrap
// itself starts at the first Invoke.
func Start(tb testing.TB, cfg Config) *Emulator {
	tb.Helper()
	bin := Binary(tb)
	if cfg.FunctionName == "" {
		cfg.FunctionName = "function"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Timeout < time.Second {
		tb.Fatalf("lambdarie: a timeout of %v; Lambda's is whole seconds", cfg.Timeout)
	}
	bootstrap, err := filepath.Abs(cfg.Bootstrap)
	if err != nil {
		tb.Fatal(err)
	}
	env := append(Env(cfg.FunctionName, cfg.Timeout), cfg.Env...)
	// A port picked free may be taken before the emulator binds it: try
	// again with others.
	var last error
	for range 3 {
		e, err := start(bin, bootstrap, cfg, env)
		if err == nil {
			tb.Cleanup(func() {
				if err := e.Stop(); err != nil {
					tb.Errorf("%v\n%s", err, e.Tail())
				}
			})
			return e
		}
		last = err
	}
	tb.Fatal(last)
	return nil
}

func start(bin, bootstrap string, cfg Config, env []string) (*Emulator, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	invokeAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	runtimeAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
	e := &Emulator{
		URL:        "http://" + invokeAddr + InvokePath,
		RuntimeAPI: runtimeAddr,
		name:       cfg.FunctionName,
		exited:     make(chan struct{}),
		timeout:    cfg.Timeout,
		// No keep-alive: a connection kept across a stop would only fail.
		client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
	}
	// The runtime API address must be given: its default is a fixed port
	// (9001), and port 0 is not reported back to the bootstrap.
	e.cmd = exec.Command(bin,
		"--runtime-interface-emulator-address", invokeAddr,
		"--runtime-api-address", runtimeAddr,
		bootstrap)
	e.cmd.Dir = filepath.Dir(bootstrap)
	e.cmd.Env = env
	e.cmd.Stdout, e.cmd.Stderr = &e.out, &e.out
	e.cmd.SysProcAttr = sysProcAttr()
	if err := e.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		e.waitErr = e.cmd.Wait()
		close(e.exited)
	}()
	if err := e.awaitListening(invokeAddr, runtimeAddr); err != nil {
		_ = e.Stop()
		return nil, err
	}
	return e, nil
}

// awaitListening waits until both of the emulator's ports take
// connections. It only dials: any request to the invoke endpoint, whatever
// its method, is an invoke.
func (e *Emulator) awaitListening(addrs ...string) error {
	deadline := time.Now().Add(readyTimeout)
	for _, addr := range addrs {
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-e.exited:
				return fmt.Errorf("aws-lambda-rie exited before listening on %s: %v\n%s", addr, e.waitErr, e.Tail())
			default:
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("aws-lambda-rie did not listen on %s within %v\n%s", addr, readyTimeout, e.Tail())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil
}

// freePorts returns n distinct ports free on 127.0.0.1 now.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer ln.Close() // held until all are picked, so that they differ
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Response is the emulator's answer to an invoke.
type Response struct {
	// Status is the emulator's HTTP status: 200 for a response and for a
	// function error, 502 when the bootstrap failed to start or exited.
	Status int
	// Body is the function's response, or its error document.
	Body []byte
}

// Invoke sends event to the function and returns the emulator's answer;
// no answer within the function's timeout and a margin fails the test.
// Calls are served one at a time, as the emulator requires.
func (e *Emulator) Invoke(tb testing.TB, event []byte) Response {
	tb.Helper()
	r, err := e.invoke(event)
	if err != nil {
		tb.Fatalf("invoke %s: %v\n%s", e.name, err, e.Tail())
	}
	return r
}

func (e *Emulator) invoke(event []byte) (Response, error) {
	e.invokeMu.Lock()
	defer e.invokeMu.Unlock()
	// The emulator answers a timed-out invoke itself; the margin covers a
	// cold start on a busy machine.
	ctx, cancel := context.WithTimeout(context.Background(), e.timeout+30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(event))
	if err != nil {
		return Response{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.client.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	// Lambda's synchronous response limit is 6 MB; a little over it shows.
	body, err := io.ReadAll(io.LimitReader(resp.Body, 7<<20))
	if err != nil {
		return Response{}, err
	}
	return Response{Status: resp.StatusCode, Body: body}, nil
}

// Output is what the emulator and the bootstrap have written so far: the
// emulator's log lines and START/END/REPORT lines, and the function's own.
func (e *Emulator) Output() string { return e.out.String() }

// Tail is the end of Output, for failure messages.
func (e *Emulator) Tail() string {
	const limit = 6000
	s := e.Output()
	if len(s) > limit {
		s = "..." + s[len(s)-limit:]
	}
	return "output of aws-lambda-rie (" + e.name + "):\n" + s
}

// Stop ends the emulator as a container stop does (SIGTERM: it kills the
// bootstrap, then exits) and reports a bootstrap left running. It may be
// called twice; Start's cleanup calls it.
func (e *Emulator) Stop() error {
	var err error
	e.stopOnce.Do(func() {
		if e.cmd.Process == nil {
			return
		}
		// The bootstrap runs in a process group of its own: known now, it
		// can be killed if the emulator fails to.
		children := childProcesses(e.cmd.Process.Pid)
		_ = e.cmd.Process.Signal(syscall.SIGTERM)
		timer := time.NewTimer(stopTimeout)
		defer timer.Stop()
		select {
		case <-e.exited:
		case <-timer.C:
			_ = e.cmd.Process.Kill()
			<-e.exited
			err = fmt.Errorf("aws-lambda-rie did not exit within %v of SIGTERM", stopTimeout)
		}
		if left := killLeft(children); len(left) > 0 && err == nil {
			err = fmt.Errorf("aws-lambda-rie exited leaving processes %v running (killed now)", left)
		}
	})
	return err
}

// Build builds the Lambda function in pkg (a package path or a directory
// relative to the caller's package) as for deployment (the Makefile's
// LAMBDA_FLAGS: -trimpath -tags lambda.norpc -ldflags='-s -w', no cgo), but
// for this machine so that it runs here, to dir/bootstrap.
func Build(pkg, dir string) (string, error) {
	out := filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %v\n%s", pkg, err, strings.TrimSpace(string(msg)))
	}
	return out, nil
}
