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

Run "sfn-callback-urls <command> -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "sfn-callback-urls:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stdout, stderr)
	case "keygen":
		return keygen(args[1:], stdin, stdout, stderr)
	case "inspect":
		return inspect(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
