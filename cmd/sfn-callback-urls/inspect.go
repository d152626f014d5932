package main

import (
	"context"
	"crypto/cipher"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keysource"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

const inspectUsage = `Usage: sfn-callback-urls inspect [flags] URL|DATA

Decodes a callback URL (or its data parameter) with the configured key and
prints its payload as JSON, the task token masked unless --show-token. It
uses the key settings serve uses (flags or KEY_ID, KEYRING, KEY_FILE,
KEYRING_SECRET_ID, KEYRING_PARAMETER); unencrypted (1-) URLs need no key.
It never calls Step Functions.

Flags:
`

// inspection is inspect's output.
type inspection struct {
	Format        string        `json:"format"`
	Key           *inspectedKey `json:"key,omitempty"`
	TransactionID string        `json:"transaction_id,omitempty"`
	Action        string        `json:"action"`
	Type          string        `json:"type"`
	// Target names the kind of reference Token is, when not a task token.
	Target       string                 `json:"target,omitempty"`
	IssuedAt     string                 `json:"issued_at,omitempty"`
	Expiration   string                 `json:"expiration,omitempty"`
	Token        string                 `json:"token"`
	TokenLength  int                    `json:"token_length"`
	Output       json.RawMessage        `json:"output,omitempty"`
	Error        *string                `json:"error,omitempty"`
	Cause        *string                `json:"cause,omitempty"`
	Parameters   bool                   `json:"parameters,omitempty"`
	Response     json.RawMessage        `json:"response,omitempty"`
	Outcomes     json.RawMessage        `json:"outcomes,omitempty"`
	Presentation *inspectedPresentation `json:"presentation,omitempty"`
	DataLength   int                    `json:"data_length"`
	Warnings     []string               `json:"warnings,omitempty"`
}

// inspectedPresentation is what the pages show, under the request's own
// names (the payload stores it with one-letter keys).
type inspectedPresentation struct {
	Title       string           `json:"title,omitempty"`
	Description string           `json:"description,omitempty"`
	Label       string           `json:"label,omitempty"`
	Confirm     *bool            `json:"confirm,omitempty"`
	Input       []inspectedField `json:"input,omitempty"`
}

// inspectedField is one input form property in JSON Schema's words.
type inspectedField struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Format      string   `json:"format,omitempty"`
	Enum        []string `json:"enum,omitempty"`
	Title       string   `json:"title,omitempty"`
	Description string   `json:"description,omitempty"`
	Required    bool     `json:"required,omitempty"`
	Default     any      `json:"default,omitempty"`
	MinLength   *float64 `json:"minLength,omitempty"`
	MaxLength   *float64 `json:"maxLength,omitempty"`
	Minimum     *float64 `json:"minimum,omitempty"`
	Maximum     *float64 `json:"maximum,omitempty"`
}

func describePresentation(p *callbackurls.Presentation) *inspectedPresentation {
	if p == nil || (p.Title == "" && p.Description == "" && p.Label == "" && p.Confirm == nil && p.Input == nil) {
		return nil
	}
	out := &inspectedPresentation{Title: p.Title, Description: p.Description, Label: p.Label, Confirm: p.Confirm}
	if p.Input == nil {
		return out
	}
	for _, f := range p.Input.Fields {
		v := inspectedField{Name: f.Name, Title: f.Title, Description: f.Help, Required: f.Required, Default: f.Default, Enum: f.Enum}
		switch f.Kind {
		case callbackurls.FieldBoolean:
			v.Type = "boolean"
		case callbackurls.FieldNumber, callbackurls.FieldInteger:
			v.Type, v.Minimum, v.Maximum = "number", f.Min, f.Max
			if f.Kind == callbackurls.FieldInteger {
				v.Type = "integer"
			}
		default:
			v.Type, v.MinLength, v.MaxLength = "string", f.Min, f.Max
			if f.Kind == callbackurls.FieldMultiline {
				v.Format = "multiline"
			}
		}
		out.Input = append(out.Input, v)
	}
	return out
}

type inspectedKey struct {
	Mode string `json:"mode"` // static, kms or kms-hmac
	// Gated reports a URL with a gate tag (docs/FORMAT.md, modes 4 and 5).
	Gated bool `json:"gated,omitempty"`
	// ID is a static key's id, or the configured KMS key.
	ID string `json:"id,omitempty"`
	// EncryptedDataKeyBytes is the size of a KMS-encrypted data key.
	EncryptedDataKeyBytes int `json:"encrypted_data_key_bytes,omitempty"`
}

func inspect(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := config.FromEnv(getenv)
	if err != nil {
		return err
	}
	flags := newFlagSet("inspect", inspectUsage, stderr)
	c.KeyFlags(flags, "static keyring file (env KEY_FILE; default "+config.DefaultKeyFile+" when no other key is set)")
	showToken := flags.Bool("show-token", false, "print the task token in full")
	if err := parseFlags(flags, args, stdout); err != nil {
		return err
	}
	if flags.NArg() != 1 {
		flags.Usage()
		return usageErrorf("inspect: give one URL or data parameter (quote a URL: its & would end the shell command)")
	}
	data, query, err := dataParameter(flags.Arg(0))
	if err != nil {
		return err
	}

	var keys keysource.Keys
	var rec *recordingKeys
	if !strings.HasPrefix(data, payload.PrefixUnencrypted) {
		c.UseDefaultKeyFile()
		if err := c.Check(); err != nil {
			return err
		}
		if err := checkKeyFile(&c, false, "inspect"); err != nil {
			return err
		}
		awsConfig := sync.OnceValues(func() (aws.Config, error) { return awsconfig.LoadDefaultConfig(ctx) })
		if keys, err = keysource.Open(ctx, &c.Settings, awsConfig, keysource.Options{}); err != nil {
			return err
		}
		if keys.Source != nil {
			rec = &recordingKeys{KeySource: keys.Source}
			keys.Source = rec
		}
	}
	// The same opening step a callback takes, with no Step Functions: what
	// it refuses, a callback would refuse.
	query.Set(callbackurls.QueryData, data)
	svc := callbackurls.New(c.Service(), keys.Codec(), nil)
	cb, openErr := svc.Open(ctx, query)
	if cb.Payload == nil {
		e := callbackurls.AsError(openErr)
		return fmt.Errorf("inspect: %s: %s", e.Code, e.Message)
	}
	p := cb.Payload

	out := describe(p, data, *showToken)
	out.Presentation = describePresentation(cb.Presentation)
	if rec != nil {
		switch rec.mode {
		case payload.ModeStaticKey:
			out.Key = &inspectedKey{Mode: "static", ID: string(rec.ref)}
		case payload.ModeKMS, payload.ModeKMSGated:
			out.Key = &inspectedKey{Mode: "kms", ID: c.KeyID, EncryptedDataKeyBytes: len(rec.ref)}
			if rec.mode == payload.ModeKMSGated {
				out.Key.Gated, out.Key.EncryptedDataKeyBytes = true, len(rec.ref)-4
			}
			// With previous keys, the key the URL names where the settings
			// tell (the only envelope key: kmskeys.Source.KeyFor).
			if len(c.PreviousKeyIDs) > 0 {
				out.Key.ID = "one of KEY_ID and PREVIOUS_KEY_IDS"
				if named, ok := rec.KeySource.(interface{ KeyFor(byte, []byte) string }); ok && named.KeyFor(rec.mode, rec.ref) != "" {
					out.Key.ID = named.KeyFor(rec.mode, rec.ref)
				}
			}
		case payload.ModeKMSHMAC, payload.ModeKMSHMACGated:
			out.Key = &inspectedKey{Mode: "kms-hmac", ID: "none of this deployment's KMS keys (unknown key tag)"}
			out.Key.Gated = rec.mode == payload.ModeKMSHMACGated
			if named, ok := rec.KeySource.(interface{ KeyFor(byte, []byte) string }); ok && named.KeyFor(rec.mode, rec.ref) != "" {
				out.Key.ID = named.KeyFor(rec.mode, rec.ref)
			}
		}
	}
	if openErr != nil {
		e := callbackurls.AsError(openErr)
		out.Warnings = append(out.Warnings, fmt.Sprintf("%s: a callback will be refused (%s)", e.Message, e.Code))
	}
	// As the service's JSON: "&" in a URL stays "&".
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// dataParameter takes the data parameter out of a URL, or returns arg if
// it is one already.
func dataParameter(arg string) (string, url.Values, error) {
	if strings.Contains(arg, "?") || strings.Contains(arg, "://") {
		u, err := url.Parse(arg)
		if err != nil {
			return "", nil, fmt.Errorf("inspect: not a URL: %w", err)
		}
		q := u.Query()
		if q.Get(callbackurls.QueryData) == "" {
			return "", nil, errors.New("inspect: the URL has no data parameter")
		}
		return q.Get(callbackurls.QueryData), q, nil
	}
	return arg, url.Values{}, nil
}

func describe(p *callbackurls.Payload, data string, showToken bool) *inspection {
	out := &inspection{
		TransactionID: p.TransactionID, Action: p.Action, Type: string(p.Type),
		Token: maskToken(p.Target.ID), TokenLength: utf8.RuneCountInString(p.Target.ID),
		Output: p.Output, Parameters: p.Parameters, Response: p.Response,
		Outcomes: p.Outcomes, DataLength: len(data),
	}
	if showToken {
		out.Token = p.Target.ID
	}
	if p.Target.Kind != callbackurls.TaskToken {
		out.Target = p.Target.Kind.String()
	}
	switch {
	case strings.HasPrefix(data, payload.PrefixUnencrypted):
		out.Format = "1 (unencrypted JSON: anyone holding the URL can read and forge it)"
	case strings.HasPrefix(data, payload.PrefixEncrypted):
		out.Format = "3 (encrypted binary, AES-256-GCM)"
	}
	if !p.IssuedAt.IsZero() {
		out.IssuedAt = p.IssuedAt.UTC().Format(time.RFC3339)
	}
	if !p.Expiration.IsZero() {
		out.Expiration = p.Expiration.UTC().Format(time.RFC3339)
	}
	if p.Type.Spec().ErrorCause {
		out.Error, out.Cause = &p.Error, &p.Cause
	}
	return out
}

// maskToken keeps the first 6 and last 4 characters, enough to tell
// tokens apart, and hides short tokens entirely.
func maskToken(token string) string {
	r := []rune(token)
	if len(r) < 20 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:6]) + "…" + string(r[len(r)-4:])
}

// recordingKeys notes which key a payload names.
type recordingKeys struct {
	payload.KeySource
	mode byte
	ref  []byte
}

func (k *recordingKeys) DecryptionKey(ctx context.Context, mode byte, ref []byte) (cipher.AEAD, error) {
	k.mode, k.ref = mode, append([]byte(nil), ref...)
	return k.KeySource.DecryptionKey(ctx, mode, ref)
}

// GateKey and Opened pass on what the wrapped source does, so that gated
// URLs open as they do at a callback.
func (k *recordingKeys) GateKey(ctx context.Context, mode byte, ref []byte) (*payload.GateKey, error) {
	k.mode, k.ref = mode, append([]byte(nil), ref...)
	g, ok := k.KeySource.(payload.GateKeys)
	if !ok {
		return nil, callbackurls.Errorf(callbackurls.CodeInvalidPayload, "the data parameter names a key mode this deployment does not use")
	}
	return g.GateKey(ctx, mode, ref)
}

func (k *recordingKeys) Opened(mode byte, ref []byte, aead cipher.AEAD) {
	if c, ok := k.KeySource.(payload.Confirmer); ok {
		c.Opened(mode, ref, aead)
	}
}
