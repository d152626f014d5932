package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/home"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/respond"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keysource"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localstore"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localstore/localweb"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/postaction"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/stepfunctions"
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
	confirm := c.ServeFlags(flags)
	demo := flags.Bool("demo", false, "create a demo task at start and print its URLs (local back end only)")
	createKeyFile := flags.Bool("create-key-file", false, "make --key-file (or KEY_FILE) with a new keyring if it does not exist")
	if err := parseFlags(flags, args, stdout); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return usageErrorf("serve: unexpected argument %q (flags come as --name=value or --name value)", flags.Arg(0))
	}
	c.OneClick = !*confirm
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
	srv, err := newServer(ctx, &c, logger, keyOpts)
	if err != nil {
		return err
	}
	defer srv.close()

	printBanner(stdout, stderr, &c, ln.Addr(), baseFromAddr, srv)
	if *demo {
		if err := printDemo(ctx, srv, c.BaseURL, stdout); err != nil {
			return err
		}
	}

	hs := &http.Server{
		Handler:           srv.handler,
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
func printBanner(stdout, stderr io.Writer, c *config.Config, addr net.Addr, baseFromAddr bool, srv *serverParts) {
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
	if srv.store != nil {
		fmt.Fprintf(stdout, "  Step Functions: local task store %s\n", cmp.Or(c.StorePath, config.DefaultStorePath))
	} else {
		fmt.Fprintln(stdout, "  Step Functions: AWS (the SDK's default configuration)")
	}
	fmt.Fprintf(stdout, "  keys:           %s\n", encryptionMode(c, srv.keys.Created))
	if srv.store != nil {
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

// serverParts is the local server's composition: every endpoint of both
// Lambda functions, on the local task store or AWS Step Functions, and the
// local store's own endpoints.
type serverParts struct {
	svc     *callbackurls.Service
	keys    keysource.Keys
	store   *localstore.Store // nil with --sfn aws
	handler http.Handler
}

// newServer builds the parts c describes; c has passed Check. keyOpts say
// whether a missing key file is made.
func newServer(ctx context.Context, c *config.Config, logger *slog.Logger, keyOpts keysource.Options) (*serverParts, error) {
	awsConfig := sync.OnceValues(func() (aws.Config, error) { return awsconfig.LoadDefaultConfig(ctx) })
	keys, err := keysource.Open(ctx, c, awsConfig, keyOpts)
	if err != nil {
		return nil, err
	}
	s := &serverParts{keys: keys}
	var sfn callbackurls.Target
	switch c.SFN {
	case config.SFNAWS:
		cfg, err := awsConfig()
		if err != nil {
			return nil, fmt.Errorf("step functions client: loading AWS configuration: %w", err)
		}
		sfn = stepfunctions.NewFromAWSConfig(cfg)
	default:
		path := c.StorePath
		if path == "" {
			path = config.DefaultStorePath
		}
		store, err := localstore.Open(path)
		if err != nil {
			return nil, fmt.Errorf("local task store %s: %w", path, err)
		}
		s.store, sfn = store, store
	}
	cfg := c.Service()
	cfg.PostActions = postaction.New()
	s.svc = callbackurls.New(cfg, keys.Codec(), callbackurls.Targets{callbackurls.TaskToken: sfn})

	rt := httpapi.NewRouter(logger, c.Verbose)
	rt.Handle("/urls", "POST /urls", httpapi.NewCreateHandler(s.svc, httpapi.CreateOptions{Logger: logger, Verbose: c.Verbose}))
	rt.Handle("/respond", "/respond", respond.NewHandler(s.svc, respond.Options{Logger: logger, Verbose: c.Verbose}))
	local := ""
	if s.store != nil {
		rt.Handle(localweb.Prefix, "", localweb.New(localweb.Options{Store: s.store, Service: s.svc, BaseURL: c.BaseURL}))
		local = localweb.Prefix
	}
	// The first URL a person opens: a page for browsers, the JSON 404 for
	// programs. Only the local server has one (API Gateway routes no "/").
	rt.Handle(home.Pattern, "", home.New(home.Options{Version: strings.TrimPrefix(versionLine(), "sfn-callback-urls "), Local: local}))
	s.handler = rt
	return s, nil
}

func (s *serverParts) close() error {
	if s.store != nil {
		return s.store.Close()
	}
	return nil
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

func encryptionMode(c *config.Config, created bool) string {
	switch {
	case c.DisableEncryption:
		return "encryption disabled (unencrypted 1- URLs)"
	case c.KeyID != "":
		return "KMS key " + c.KeyID
	case c.Keyring != "":
		return "keyring from KEYRING"
	case c.KeyringSecretID != "":
		return "keyring from secret " + c.KeyringSecretID
	case c.KeyringParameter != "":
		return "keyring from parameter " + c.KeyringParameter
	case created:
		return "new key file " + c.KeyFile + " (mode 0600)"
	}
	return "key file " + c.KeyFile
}

// printDemo creates a demo task in the local store and prints its URLs:
// the dashboard's "new demo task" makes the same (localweb.NewDemo).
func printDemo(ctx context.Context, s *serverParts, base string, w io.Writer) error {
	demo, err := localweb.NewDemo(ctx, s.store, s.svc)
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
