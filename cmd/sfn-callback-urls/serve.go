package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/respond"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keysource"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localstore"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localstore/localweb"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/postaction"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/stepfunctions"
)

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := config.FromEnv(getenv)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	confirm := c.ServeFlags(fs)
	demo := fs.Bool("demo", false, "create a demo task at start and print its URLs (local back end only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	c.OneClick = !*confirm
	// The local server makes its own key on first run, unless another key
	// source or no encryption was chosen.
	c.UseDefaultKeyFile()
	if *demo && c.SFN != config.SFNLocal {
		return errors.New("--demo needs the local back end (--sfn local): it creates a task in the local store")
	}

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if c.BaseURL == "" {
		c.BaseURL = baseURLForAddr(ln.Addr().String())
	}
	if err := c.Check(); err != nil {
		return err
	}
	logger := config.NewLogger(stderr, c.Verbose)
	srv, err := newServer(ctx, &c, logger)
	if err != nil {
		return err
	}
	defer srv.close()

	fmt.Fprintf(stdout, "sfn-callback-urls listening on %s (Step Functions: %s, %s)\n", c.BaseURL, c.SFN, encryptionMode(&c, srv.keys.Created))
	if srv.store != nil {
		fmt.Fprintf(stdout, "local tasks: %s/local/\n", c.BaseURL)
		if host, _, err := net.SplitHostPort(ln.Addr().String()); err == nil && !net.ParseIP(host).IsLoopback() {
			fmt.Fprintf(stderr, "warning: listening on %s: the /local/ endpoints (every task token) are reachable from the network\n", ln.Addr())
		}
	}
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
		return hs.Shutdown(shutdownCtx)
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

// newServer builds the parts c describes; c has passed Check.
func newServer(ctx context.Context, c *config.Config, logger *slog.Logger) (*serverParts, error) {
	awsConfig := sync.OnceValues(func() (aws.Config, error) { return awsconfig.LoadDefaultConfig(ctx) })
	keys, err := keysource.Open(ctx, c, awsConfig, keysource.Options{CreateKeyFile: c.KeyFile != ""})
	if err != nil {
		return nil, err
	}
	s := &serverParts{keys: keys}
	var sfn callbackurls.StepFunctions
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
	s.svc = callbackurls.New(cfg, keys.Codec(), sfn)

	rt := httpapi.NewRouter(logger, c.Verbose)
	rt.Handle("/urls", "POST /urls", httpapi.NewCreateHandler(s.svc, httpapi.CreateOptions{Logger: logger, Verbose: c.Verbose}))
	rt.Handle("/respond", "/respond", respond.NewHandler(s.svc, respond.Options{Logger: logger, Verbose: c.Verbose}))
	if s.store != nil {
		rt.Handle(localweb.Prefix, "", localweb.New(s.store, c.BaseURL))
	}
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
		return "encryption disabled"
	case c.KeyID != "":
		return "KMS key " + c.KeyID
	case c.Keyring != "":
		return "keyring from KEYRING"
	case c.KeyringSecretID != "":
		return "keyring from secret " + c.KeyringSecretID
	case c.KeyringParameter != "":
		return "keyring from parameter " + c.KeyringParameter
	case created:
		return "new key file " + c.KeyFile
	}
	return "key file " + c.KeyFile
}

// printDemo creates a task in the local store and prints its URLs, made
// through the same CreateURLs path an API caller uses.
func printDemo(ctx context.Context, s *serverParts, base string, w io.Writer) error {
	task, err := s.store.CreateTask(ctx, "demo")
	if err != nil {
		return err
	}
	body, _ := json.Marshal(map[string]any{
		"token":       task.Token,
		"title":       "Approve the demo deployment?",
		"description": "A demo task of the local store. Open a link in a browser to see its page.",
		"actions": []map[string]any{
			{"name": "approve", "type": "success", "output": map[string]any{"approved": true}, "label": "Approve"},
			{"name": "reject", "type": "failure", "error": "Rejected", "cause": "Rejected from the demo link", "label": "Reject",
				"input": map[string]any{"type": "object", "properties": map[string]any{
					"comment": map[string]any{"type": "string", "format": "multiline", "title": "Comment", "maxLength": 1000}}}},
			{"name": "heartbeat", "type": "heartbeat"},
		},
	})
	req, err := callbackurls.ParseCreateRequest(body)
	if err != nil {
		return err
	}
	resp, _, err := s.svc.CreateURLs(ctx, req, callbackurls.Gateway{})
	if err != nil {
		return err
	}
	status := base + "/local/tasks?token=" + url.QueryEscape(task.Token)
	fmt.Fprintf(w, `
Demo task created. Its callback URLs:

  approve:   %s

  reject:    %s

  heartbeat: %s

Try it:
  curl -s -X POST '%s'
  curl -s '%s'
Or open a URL in a browser (it asks you to confirm), and %s/local/ to see the task.

`, resp.URLs["approve"], resp.URLs["reject"], resp.URLs["heartbeat"], resp.URLs["approve"], status, base)
	return nil
}
