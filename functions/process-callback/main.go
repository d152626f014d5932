// Command process-callback is the ProcessCallback Lambda function
// (provided.al2023, built as "bootstrap"): GET, POST and HEAD /respond
// through API Gateway.
//
// It is its own composition root: it builds only what answering callbacks
// needs (keys, the core, post action selection, the targets, the /respond
// endpoint and its pages), and, only when configured, the sign-in
// (/oidc/), the receipt signer with its key set (/.well-known/jwks.json)
// and the Slack app's interactivity endpoint (/slack/interactions).
package main

import (
	"context"
	"fmt"

	"github.com/sfncallbackurls/sfn-callback-urls/functions/internal/boot"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/durablecallbacks"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/respond"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/lambdaapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/receipts"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/signin"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/slack"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/slackapp"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/stepfunctions"
)

func main() { boot.Main("process-callback", build) }

func build(ctx context.Context) (lambdaapi.Handler, error) {
	start, err := boot.New(ctx)
	if err != nil {
		return nil, err
	}
	awsCfg, err := start.AWSConfig()
	if err != nil {
		return nil, fmt.Errorf("step functions and lambda clients: %w", err)
	}
	signIn, err := signin.FromSettings(&start.Settings, signin.Config{Keys: start.Keys.Source, Logger: start.Logger}, start.AWSConfig)
	if err != nil {
		return nil, err
	}
	key, previous, err := start.Keys.ReceiptKey(start.Settings.SigningKeyID, start.AWSConfig)
	if err != nil {
		return nil, err
	}
	var signer *receipts.Signer
	var coreSigner callbackurls.Signer
	if key != nil {
		base, err := start.Settings.DeploymentBase()
		if err != nil {
			return nil, err
		}
		signer = receipts.NewSigner(base, key, previous...)
		coreSigner = signer
	}
	svc := start.Service(callbackurls.Targets{
		callbackurls.TaskToken:       stepfunctions.NewFromAWSConfig(awsCfg),
		callbackurls.DurableCallback: durablecallbacks.NewFromAWSConfig(awsCfg),
	}, coreSigner)
	api := httpapi.NewRouter(start.Logger, start.Settings.Verbose)
	opts := respond.Options{Logger: start.Logger, Verbose: start.Settings.Verbose}
	if signIn != nil {
		opts.SignIn = signIn
		api.Handle(signin.Prefix, "", signIn)
	}
	if signer != nil {
		api.Handle(httpapi.JWKSPath, "GET "+httpapi.JWKSPath, httpapi.NewJWKSHandler(func(ctx context.Context) (any, error) { return signer.JWKS(ctx) }))
	}
	api.Handle("/respond", "/respond", respond.NewHandler(svc, opts))
	st := &start.Settings
	if secret := slack.Secret(st.SlackSigningSecret, st.SlackSigningSecretARN, start.ReadSecret); secret != nil {
		api.Handle(slackapp.Path, "POST "+slackapp.Path, slackapp.New(slackapp.Config{
			Service: svc, Verifier: slack.NewVerifier(secret, nil), Responder: slack.NewResponder(st.SlackAPI(), nil),
			Bot: start.SlackBot, Logger: start.Logger, Verbose: st.Verbose,
		}))
	}
	return lambdaapi.CallbackHandler(api, start.Logger), nil
}
