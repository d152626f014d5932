package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
)

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := config.FromEnv(getenv)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Addr, "addr", or(c.Addr, config.DefaultAddr), "listen address (env LISTEN_ADDR)")
	fs.StringVar(&c.BaseURL, "base-url", c.BaseURL, "base URL of the callback URLs (env BASE_URL; default from --addr)")
	fs.StringVar(&c.SFN, "sfn", or(c.SFN, config.SFNLocal), "Step Functions back end: local (embedded task store) or aws (env SFN_BACKEND)")
	fs.StringVar(&c.StorePath, "store", or(c.StorePath, config.DefaultStorePath), "local task store file (env STORE_FILE)")
	keyFlags(fs, &c, "static keyring file, created with mode 0600 if missing (env KEY_FILE; default "+config.DefaultKeyFile+" when no other key is set)")
	fs.BoolVar(&c.EnableOutputParameters, "enable-output-parameters", c.EnableOutputParameters, "allow $name placeholders filled from the callback query (env ENABLE_OUTPUT_PARAMETERS)")
	fs.BoolVar(&c.EnablePostActions, "enable-post-actions", c.EnablePostActions, "allow post actions for webhooks (env ENABLE_POST_ACTIONS)")
	fs.BoolVar(&c.Verbose, "verbose", c.Verbose, "log queries and bodies, which hold payloads and tokens (env VERBOSE)")
	fs.IntVar(&c.MaxURLLength, "max-url-length", c.MaxURLLength, "longest URL handed out (env MAX_URL_LENGTH; default 8192)")
	confirm := fs.Bool("confirm", !c.OneClick, "browsers' GETs on success and failure URLs show a confirmation page; false: they act at once (env CONFIRM_BROWSER_GET)")
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
	defaultKeyFile(&c)
	c.CreateKeyFile = c.KeyFile != ""
	if *demo && c.SFN != config.SFNLocal {
		return errors.New("--demo needs the local back end (--sfn local): it creates a task in the local store")
	}

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if c.BaseURL == "" {
		c.BaseURL = config.BaseURLForAddr(ln.Addr().String())
	}
	logger := config.NewLogger(stderr, c.Verbose)
	app, err := config.Build(ctx, c, logger)
	if err != nil {
		return err
	}
	defer app.Close()

	fmt.Fprintf(stdout, "sfn-callback-urls listening on %s (Step Functions: %s, %s)\n", c.BaseURL, c.SFN, encryptionMode(c, app.KeyCreated))
	if app.Local != nil {
		fmt.Fprintf(stdout, "local tasks: %s/local/\n", c.BaseURL)
	}
	if *demo {
		if err := printDemo(ctx, app, c.BaseURL, stdout); err != nil {
			return err
		}
	}

	handler := app.Handler
	if app.Local != nil {
		handler = localHostsOnly(handler, c.BaseURL)
		if host, _, err := net.SplitHostPort(ln.Addr().String()); err == nil && !net.ParseIP(host).IsLoopback() {
			fmt.Fprintf(stderr, "warning: listening on %s: the /local/ endpoints (every task token) are reachable from the network\n", ln.Addr())
		}
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdownCtx)
	}
}

func or(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

func encryptionMode(c config.Config, created bool) string {
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
func printDemo(ctx context.Context, app *config.App, base string, w io.Writer) error {
	task, err := app.Local.CreateTask(ctx, "demo")
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
	resp, _, err := app.Service.CreateURLs(ctx, req, base)
	if err != nil {
		return err
	}
	status := base + "/local/tasks?token=" + urlQueryEscape(task.Token)
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

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// localHostsOnly refuses /local/ requests whose Host is neither a loopback
// name nor the base URL's host: a web page that rebinds its DNS name to
// 127.0.0.1 must not read the local tasks' tokens.
func localHostsOnly(next http.Handler, baseURL string) http.Handler {
	allowed := map[string]bool{"localhost": true}
	if u, err := url.Parse(baseURL); err == nil {
		allowed[strings.ToLower(u.Hostname())] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/local/") {
			host := r.Host
			if h, _, err := net.SplitHostPort(host); err == nil {
				host = h
			}
			host = strings.ToLower(strings.Trim(host, "[]"))
			if ip := net.ParseIP(host); !allowed[host] && (ip == nil || !ip.IsLoopback()) {
				http.Error(w, "the /local/ endpoints answer only to localhost", http.StatusForbidden)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
