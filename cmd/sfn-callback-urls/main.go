// Command sfn-callback-urls runs the callback URL service on a laptop or a
// server: `sfn-callback-urls serve` starts the same handlers the Lambda
// functions run, with a local key and a local task store by default.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `Usage: sfn-callback-urls <command> [flags]

Commands:
  serve    run the HTTP service (POST /urls, /respond, /local/ in local mode)
  keygen   make a static keyring, or add a key to one (rotation)
  inspect  decode a callback URL with the configured key and print its payload
  version  print the version and the source revision it was built from

Run "sfn-callback-urls <command> -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal stops the server gracefully; a second one, during
	// the shutdown, gets the default behaviour (exit at once).
	go func() { <-ctx.Done(); stop() }()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode reports err and chooses the exit status: 0 for success and for
// help that was asked for, 2 for a command line that cannot be run, 1 for
// anything else.
func exitCode(err error, stderr io.Writer) int {
	var usageErr *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errNoCommand):
		return 2
	case errors.As(err, &usageErr):
		fmt.Fprintln(stderr, "sfn-callback-urls:", err)
		return 2
	}
	fmt.Fprintln(stderr, "sfn-callback-urls:", err)
	return 1
}

const versionUsage = `Usage: sfn-callback-urls version

Prints the version, the source revision it was built from and the Go
toolchain. It takes no flags.
`

// errNoCommand is a command line without a command; the usage has been
// printed.
var errNoCommand = errors.New("no command")

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errNoCommand
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stdout, stderr)
	case "keygen":
		return keygen(args[1:], stdin, stdout, stderr)
	case "inspect":
		return inspect(ctx, args[1:], getenv, stdout, stderr)
	case "version", "-version", "--version":
		if len(args) == 2 && (args[1] == "-h" || args[1] == "-help" || args[1] == "--help") {
			fmt.Fprint(stdout, versionUsage)
			return nil
		}
		if len(args) > 1 {
			return usageErrorf("version takes no arguments")
		}
		fmt.Fprintln(stdout, versionLine())
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageErrorf("unknown command %q", args[0])
}
