package slack_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/slack"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/slack/slacktest"
)

// Slack's own example of a signed request (its documentation, "Verifying
// requests from Slack"): secret, timestamp, body and the signature it
// gives.
const (
	docSecret    = "8f742231b10e8888abcd99yyyzzz85a5"
	docTimestamp = 1531420618
	docBody      = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	docSignature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
)

func header(sig string, ts int64) http.Header {
	h := http.Header{}
	h.Set(slack.HeaderSignature, sig)
	h.Set(slack.HeaderTimestamp, strconv.FormatInt(ts, 10))
	return h
}

func TestVerify(t *testing.T) {
	at := time.Unix(docTimestamp, 0)
	reads := 0
	v := slack.NewVerifier(func(context.Context) (string, error) { reads++; return docSecret, nil }, func() time.Time { return at })
	cases := []struct {
		name   string
		header http.Header
		body   string
		now    time.Time
		want   error
	}{
		{"Slack's example", header(docSignature, docTimestamp), docBody, at, nil},
		{"4:59 later", header(docSignature, docTimestamp), docBody, at.Add(5*time.Minute - time.Second), nil},
		{"5:01 later", header(docSignature, docTimestamp), docBody, at.Add(5*time.Minute + time.Second), slack.ErrStale},
		{"5:01 earlier", header(docSignature, docTimestamp), docBody, at.Add(-5*time.Minute - time.Second), slack.ErrStale},
		{"a byte more", header(docSignature, docTimestamp), docBody + "&", at, slack.ErrBadSignature},
		{"another timestamp", header(docSignature, docTimestamp+1), docBody, at, slack.ErrBadSignature},
		{"upper-case hex", header(strings.ToUpper(docSignature[3:]), docTimestamp), docBody, at, slack.ErrBadSignature},
		{"v1", header("v1="+docSignature[3:], docTimestamp), docBody, at, slack.ErrBadSignature},
		{"short", header(docSignature[:40], docTimestamp), docBody, at, slack.ErrBadSignature},
		{"not hex", header("v0="+strings.Repeat("zz", 32), docTimestamp), docBody, at, slack.ErrBadSignature},
		{"no signature", header("", docTimestamp), docBody, at, slack.ErrUnsigned},
		{"no timestamp", http.Header{slack.HeaderSignature: {docSignature}}, docBody, at, slack.ErrUnsigned},
		{"two signatures", http.Header{slack.HeaderSignature: {docSignature, docSignature}, slack.HeaderTimestamp: {"1531420618"}}, docBody, at, slack.ErrUnsigned},
		{"timestamp not digits", http.Header{slack.HeaderSignature: {docSignature}, slack.HeaderTimestamp: {"+1531420618"}}, docBody, at, slack.ErrStale},
		{"timestamp huge", http.Header{slack.HeaderSignature: {docSignature}, slack.HeaderTimestamp: {"99999999999999999999"}}, docBody, at, slack.ErrStale},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			at = c.now
			if err := v.Verify(context.Background(), c.header, []byte(c.body)); !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Errorf("Verify = %v, want %v", err, c.want)
			}
		})
	}
	if reads != 1 {
		t.Errorf("the secret was read %d times, want once", reads)
	}
}

// TestVerifySecretFailure: a secret that cannot be read is neither kept
// nor a refusal; the next request reads it again.
func TestVerifySecretFailure(t *testing.T) {
	outage := errors.New("secrets manager: throttled")
	fail := true
	v := slack.NewVerifier(func(context.Context) (string, error) {
		if fail {
			return "", outage
		}
		return docSecret, nil
	}, func() time.Time { return time.Unix(docTimestamp, 0) })
	h := header(docSignature, docTimestamp)
	if err := v.Verify(context.Background(), h, []byte(docBody)); !errors.Is(err, outage) {
		t.Fatalf("Verify = %v", err)
	}
	fail = false
	if err := v.Verify(context.Background(), h, []byte(docBody)); err != nil {
		t.Fatalf("Verify = %v", err)
	}
	// An unsigned request never reads the secret.
	fail = true
	v2 := slack.NewVerifier(func(context.Context) (string, error) { t.Fatal("read"); return "", nil }, nil)
	if err := v2.Verify(context.Background(), http.Header{}, nil); !errors.Is(err, slack.ErrUnsigned) {
		t.Fatal(err)
	}
}

// TestSignerAgrees: the stand-in's signer gives Slack's example signature.
func TestSignerAgrees(t *testing.T) {
	if got := slacktest.Signature(docSecret, docTimestamp, []byte(docBody)); got != docSignature {
		t.Errorf("Signature = %s, want %s", got, docSignature)
	}
}
