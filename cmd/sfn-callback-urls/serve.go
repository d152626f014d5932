package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keysource"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localserver"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localstore/localweb"
)

const serveUsage = `Usage: sfn-callback-urls serve [flags]

Runs the service: POST /urls, GET|POST|HEAD /respond and, with the local
task store (--sfn local, the default), /local/. Every flag can also come
from the environment variable named in its help. Stop it with Ctrl-C.

Flags:
`

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := config.FromEnv(getenv)
	if err != nil {
		return err
	}
	flags := newFlagSet("serve", serveUsage, stderr)
	c.ServeFlags(flags)
	demo := flags.Bool("demo", false, "create a demo task at start and print its URLs (local back end only)")
	createKeyFile := flags.Bool("create-key-file", false, "make --key-file (or KEY_FILE) with a new keyring if it does not exist")
	if err := parseFlags(flags, args, stdout); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return usageErrorf("serve: unexpected argument %q (flags come as --name=value or --name value)", flags.Arg(0))
	}
	// The local server makes its own key on first run, unless another key
	// source or no encryption was chosen.
	c.UseDefaultKeyFile()
	if *demo && c.SFN != config.SFNLocal {
		return errors.New("--demo needs the local back end (--sfn local): it creates a task in the local store")
	}
	if *createKeyFile && c.KeySource() != "KEY_FILE" {
		return errors.New("--create-key-file makes a static keyring file: it needs --key-file (or KEY_FILE), not " + cmp.Or(c.KeySource(), "DISABLE_ENCRYPTION"))
	}
	keyOpts := keysource.Options{CreateKeyFile: c.KeyFile != "" && (*createKeyFile || c.MayCreateKeyFile())}
	if err := checkKeyFile(&c, keyOpts.CreateKeyFile, "serve"); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", c.Addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		host, _, _ := net.SplitHostPort(c.Addr)
		other := net.JoinHostPort(cmp.Or(host, "127.0.0.1"), "8081")
		return fmt.Errorf("%w: another program listens on %s. Use another address: --addr %s, or LISTEN_ADDR=%s make run", err, c.Addr, other, other)
	}
	if err != nil {
		return err
	}
	defer ln.Close()
	baseFromAddr := c.BaseURL == ""
	if baseFromAddr {
		c.BaseURL = baseURLForAddr(ln.Addr().String())
	}
	if err := c.Check(); err != nil {
		return err
	}
	logger := config.NewLogger(stderr, c.Verbose)
	srv, err := localserver.New(ctx, &c, localserver.Options{Logger: logger, Keys: keyOpts,
		Version: strings.TrimPrefix(versionLine(), "sfn-callback-urls ")})
	if err != nil {
		return err
	}
	defer srv.Close()

	printBanner(stdout, stderr, &c, ln.Addr(), baseFromAddr, srv)
	if *demo {
		if err := printDemo(ctx, srv, c.BaseURL, stdout); err != nil {
			return err
		}
	}

	hs := &http.Server{
		Handler:           srv.Handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := hs.Shutdown(shutdownCtx)
		// A signal's cause names it ("interrupt signal received"); the
		// terminal has just echoed ^C, so start a line of our own.
		// (It is also context.Canceled, for errors.Is.)
		if cause := context.Cause(ctx); cause != nil && cause != context.Canceled {
			fmt.Fprintf(stdout, "\nsfn-callback-urls: stopped (%v)\n", cause)
		} else {
			fmt.Fprintln(stdout, "sfn-callback-urls: stopped")
		}
		return err
	}
}

// checkKeyFile refuses a key file that does not exist unless it is to be
// made: a mistyped path must not silently become a new key, under which
// every URL already handed out fails.
func checkKeyFile(c *config.Config, create bool, command string) error {
	if c.KeySource() != "KEY_FILE" || create {
		return nil
	}
	_, err := os.Stat(c.KeyFile)
	if !errors.Is(err, fs.ErrNotExist) {
		return nil // keysource.Open reports anything else
	}
	if command == "inspect" {
		return fmt.Errorf("key file %s does not exist: inspect needs the keyring the URL was made with (--key-file, KEY_FILE or another key setting, as serve had)", c.KeyFile)
	}
	return fmt.Errorf("key file %s does not exist. Make it with \"sfn-callback-urls keygen --file %s\", "+
		"or run serve with --create-key-file to have it made (URLs made with another key will not open with a new one)", c.KeyFile, c.KeyFile)
}

// printBanner says where the server listens and what the URLs it hands
// out point at, which differ behind a proxy, with --base-url, or when
// listening on every interface.
func printBanner(stdout, stderr io.Writer, c *config.Config, addr net.Addr, baseFromAddr bool, srv *localserver.Server) {
	host, port, _ := net.SplitHostPort(addr.String())
	ip := net.ParseIP(host)
	listen := addr.String()
	if ip != nil && ip.IsUnspecified() {
		// Go listens on [::] for 0.0.0.0 too: say it as it was asked.
		asked, _, _ := net.SplitHostPort(c.Addr)
		listen = net.JoinHostPort(asked, port) + " (every network interface)"
	}
	fmt.Fprintf(stdout, "sfn-callback-urls listening on %s\n", listen)
	base := c.BaseURL
	switch {
	case !baseFromAddr:
		base += " (--base-url or BASE_URL)"
	case ip != nil && ip.IsUnspecified():
		base += " (from --addr: it opens only on this machine; set --base-url to an address others reach)"
	}
	fmt.Fprintf(stdout, "  base URL:       %s\n", base)
	if srv.Store != nil {
		fmt.Fprintf(stdout, "  Step Functions: local task store %s\n", cmp.Or(c.StorePath, config.DefaultStorePath))
	} else {
		fmt.Fprintln(stdout, "  Step Functions: AWS (the SDK's default configuration)")
	}
	fmt.Fprintf(stdout, "  keys:           %s\n", c.Describe(srv.Keys.Created))
	if srv.Store != nil {
		fmt.Fprintf(stdout, "  local tasks:    %s/local/\n", c.BaseURL)
		if ip == nil || !ip.IsLoopback() {
			fmt.Fprintf(stderr, "warning: listening on %s: the /local/ endpoints (every task token) are reachable from the network\n", listen)
		}
	}
	if c.DisableEncryption {
		fmt.Fprint(stderr, `WARNING: encryption is disabled. Every URL handed out carries its task token in
clear text: anyone holding a URL can read the token, and anyone at all can
forge a URL with any outcome for any token they know. Use it only for tests.
`)
	}
}

// baseURLForAddr is the base URL a local server listening on addr serves.
func baseURLForAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// printDemo creates a demo task in the local store and prints its URLs:
// the dashboard's "new demo task" makes the same (localweb.NewDemo).
func printDemo(ctx context.Context, s *localserver.Server, base string, w io.Writer) error {
	demo, err := localweb.NewDemo(ctx, s.Store, s.Service)
	if err != nil {
		return err
	}
	status := base + "/local/tasks?token=" + url.QueryEscape(demo.Task.Token)
	fmt.Fprintf(w, `
Demo task created. Its callback URLs:

  approve:   %s

  reject:    %s

  heartbeat: %s

Try it:
  curl -s -X POST '%s'
  curl -s '%s'
Or open a URL in a browser (it asks you to confirm), and %s/local/ to see the task.

`, demo.URLs["approve"], demo.URLs["reject"], demo.URLs["heartbeat"], demo.URLs["approve"], status, base)
	return nil
}
