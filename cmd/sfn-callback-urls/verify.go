package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/text"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/receipts"
)

const verifyUsage = `Usage: sfn-callback-urls verify RECEIPT [--jwks URL|FILE]

Checks a signed receipt of a decision (the "receipt" of an approval, a
compact JWS) and prints what it says: who decided what, when, for which
task (by the SHA-256 of its token).

The public keys come from --jwks, a URL or a file of a JWK Set; without
it, from the deployment the receipt names, at its base URL +
/.well-known/jwks.json (https, or http on a loopback address). With a file
it runs offline. RECEIPT "-" reads the receipt from stdin.

Flags:
`

// maxJWKS bounds a key set read from a URL or a file.
const maxJWKS = 1 << 20

func verify(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	flags := newFlagSet("verify", verifyUsage, stderr)
	jwks := flags.String("jwks", "", "JWK Set URL or file (default: the receipt's issuer + /.well-known/jwks.json)")
	if err := parseFlags(flags, args, stdout); err != nil {
		return err
	}
	// RECEIPT comes first in the usage, and flags may follow it.
	rest := flags.Args()
	if len(rest) == 0 {
		return usageErrorf("verify: give the receipt (or - to read it from stdin)")
	}
	receipt := rest[0]
	if err := parseFlags(flags, rest[1:], stdout); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return usageErrorf("verify: unexpected argument %q", text.Truncate(flags.Arg(0), 40))
	}
	if receipt == "-" {
		b, err := io.ReadAll(io.LimitReader(stdin, receipts.MaxReceiptLength+1))
		if err != nil {
			return err
		}
		receipt = string(bytes.TrimSpace(b))
	}
	source := *jwks
	if source == "" {
		iss, err := unverifiedIssuer(receipt)
		if err != nil {
			return err
		}
		source = iss + receipts.JWKSPath
	}
	doc, err := readJWKS(ctx, source)
	if err != nil {
		return fmt.Errorf("verify: key set %s: %w", source, err)
	}
	set, err := receipts.ParseJWKS(doc)
	if err != nil {
		return fmt.Errorf("verify: key set %s: %w", source, err)
	}
	claims, key, err := receipts.Verify(receipt, set)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	out, err := json.MarshalIndent(claims, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "signature valid: %s key %s of %s\n", key.Alg, key.Kid, source)
	if claims.Issuer+receipts.JWKSPath != source && *jwks == "" {
		fmt.Fprintf(stderr, "warning: the receipt names %s as its issuer\n", claims.Issuer)
	}
	_, err = stdout.Write(append(out, '\n'))
	return err
}

// unverifiedIssuer reads the receipt's "iss" before it is checked, to find
// its key set; the key set then decides.
func unverifiedIssuer(receipt string) (string, error) {
	parts := strings.Split(receipt, ".")
	if len(parts) != 3 || len(receipt) > receipts.MaxReceiptLength {
		return "", errors.New("verify: not a receipt (a compact JWS: three base64url parts separated by dots)")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", errors.New("verify: not a receipt: its payload is not base64url")
	}
	var c struct {
		Issuer string `json:"iss"`
	}
	if err := json.Unmarshal(b, &c); err != nil || c.Issuer == "" {
		return "", errors.New("verify: the receipt names no issuer: give its key set with --jwks")
	}
	u, err := url.Parse(c.Issuer)
	if err != nil || !(u.Scheme == "https" || u.Scheme == "http" && config.IsLoopback(u.Hostname())) || u.Host == "" {
		return "", fmt.Errorf("verify: the receipt's issuer %q is not an https URL: give its key set with --jwks", text.Truncate(c.Issuer, 100))
	}
	return strings.TrimRight(c.Issuer, "/"), nil
}

// readJWKS reads a key set from a URL (https, or http on a loopback
// address) or a file.
func readJWKS(ctx context.Context, source string) ([]byte, error) {
	if !strings.HasPrefix(source, "https://") && !strings.HasPrefix(source, "http://") {
		f, err := os.Open(source)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return io.ReadAll(io.LimitReader(f, maxJWKS))
	}
	u, err := url.Parse(source)
	if err != nil || (u.Scheme == "http" && !config.IsLoopback(u.Hostname())) {
		return nil, errors.New("a key set URL must be https (http only on a loopback address)")
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, source, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	client := &http.Client{CheckRedirect: func(r *http.Request, via []*http.Request) error {
		if len(via) >= 3 || r.URL.Scheme != "https" && !config.IsLoopback(r.URL.Hostname()) {
			return errors.New("redirected off https")
		}
		return nil
	}}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("answered %s", resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, maxJWKS))
}
