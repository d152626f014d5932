// Command faulty is a Lambda function that fails on request, for the
// emulator's tests: how a panic, an exit, an error and a timeout come back
// through aws-lambda-rie.
//
// The real bootstraps cannot be made to panic: both Lambda adapters
// (package lambdaapi) recover a handler's panic into the contract's
// ServiceError answer. So this function is create-urls' composition (the
// same adapter, router and POST /urls handler) around a core whose payload
// codec panics, to show that recovery holding in a process under the
// emulator; and, for what the emulator does when a function really
// crashes, events that make it panic outside the adapter, exit, fail or
// sleep.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/lambdaapi"
)

// fault is an event that asks for a failure.
type fault struct {
	Fault   string `json:"fault"` // panic, exit, error, sleep, env, pid
	Code    int    `json:"code"`  // exit's status
	SleepMS int    `json:"sleep_ms"`
}

// panicCodec panics where the core encodes a payload, as a bug would.
type panicCodec struct{}

func (panicCodec) Encode(context.Context, *callbackurls.Payload) (string, error) {
	panic("faulty: the codec panics")
}

func (panicCodec) Decode(context.Context, string) (*callbackurls.Payload, error) {
	panic("faulty: the codec panics")
}

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	svc := callbackurls.New(callbackurls.Config{BaseURL: "https://example.com"}, panicCodec{}, nil)
	api := httpapi.NewRouter(logger, false)
	api.Handle("/urls", "POST /urls", httpapi.NewCreateHandler(svc, httpapi.CreateOptions{Logger: logger, Via: lambdaapi.Gateway}))
	h := lambdaapi.CreateURLsHandler(svc, api, logger)

	lambda.Start(func(ctx context.Context, raw json.RawMessage) (any, error) {
		var f fault
		if json.Unmarshal(raw, &f) != nil || f.Fault == "" {
			return h(ctx, raw)
		}
		switch f.Fault {
		case "panic":
			panic("faulty: a panic outside the adapter")
		case "exit":
			fmt.Fprintf(os.Stderr, "faulty: exiting with status %d\n", f.Code)
			os.Exit(f.Code)
		case "error":
			return nil, errors.New("faulty: an error")
		case "sleep":
			time.Sleep(time.Duration(f.SleepMS) * time.Millisecond)
		case "env":
			env := make(map[string]string)
			for _, kv := range os.Environ() {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
			dir, err := os.Getwd()
			return map[string]any{"env": env, "dir": dir}, err
		}
		// The process answering, to tell a new one from the first.
		return map[string]int{"pid": os.Getpid()}, nil
	})
}
