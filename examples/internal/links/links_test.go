package links_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/examples/internal/links"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/client"
)

func TestLifetime(t *testing.T) {
	const def = 72 * time.Hour
	for _, tc := range []struct {
		json    string // the state's expires_in_seconds, as JSON
		want    time.Duration
		wantErr string
	}{
		{json: `null`, want: def},
		{json: `1`, want: time.Second},
		{json: `259200`, want: 72 * time.Hour},
		{json: `31536000`, want: links.MaxLifetime},
		{json: `31536001`, want: links.MaxLifetime},
		{json: `9223372036`, want: links.MaxLifetime},
		{json: `0`, wantErr: "positive"},
		{json: `-3600`, wantErr: "positive"},
		{json: `-9223372036854775808`, wantErr: "positive"},
		// Each of these wrapped time.Duration around: 9223372037 s is a
		// negative duration, 18446744074 s a few seconds.
		{json: `9223372037`, wantErr: "more seconds than a duration holds"},
		{json: `18446744074`, wantErr: "more seconds than a duration holds"},
		{json: `9223372036854775807`, wantErr: "more seconds than a duration holds"},
	} {
		var seconds *int64
		if err := json.Unmarshal([]byte(tc.json), &seconds); err != nil {
			t.Fatal(err)
		}
		got, err := links.Lifetime(seconds, def)
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "expires_in_seconds") {
				t.Errorf("%s: %v, %v; want an error saying %q", tc.json, got, err, tc.wantErr)
			}
		case err != nil || got != tc.want:
			t.Errorf("%s: %v, %v; want %v", tc.json, got, err, tc.want)
		}
	}
}

// FuzzLifetime: whatever the seconds, a lifetime is positive and at most
// MaxLifetime, or an error.
func FuzzLifetime(f *testing.F) {
	for _, n := range []int64{0, 1, -1, 86400, math.MaxInt64, math.MinInt64, 9223372037, 18446744074 % math.MaxInt64} {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, n int64) {
		got, err := links.Lifetime(&n, time.Hour)
		if err == nil && (got <= 0 || got > links.MaxLifetime) {
			t.Fatalf("Lifetime(%d) = %v", n, got)
		}
		if err == nil && n > 0 && n <= int64(links.MaxLifetime/time.Second) && got != time.Duration(n)*time.Second {
			t.Fatalf("Lifetime(%d) = %v, want %d s", n, got, n)
		}
	})
}

func TestCheck(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	good := func() *client.URLs {
		return &client.URLs{TransactionID: "tid", Expiration: now.Add(time.Hour), URLs: map[string]string{
			"approve": "https://abc.execute-api.eu-west-1.amazonaws.com/v1/respond?action=approve&data=3-secret",
			"reject":  "http://127.0.0.1:8080/respond?action=reject&data=3-secret",
		}}
	}
	if err := links.Check(good(), now, "approve", "reject"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		change  func(*client.URLs)
		wantErr string
	}{
		{"no answer", nil, "no URLs"},
		{"a name missing", func(u *client.URLs) { delete(u.URLs, "reject") }, `no "reject" URL`},
		{"an empty URL", func(u *client.URLs) { u.URLs["approve"] = "" }, `no "approve" URL`},
		{"a relative URL", func(u *client.URLs) { u.URLs["approve"] = "/respond?data=3-secret" }, "not an absolute"},
		{"another scheme", func(u *client.URLs) { u.URLs["approve"] = "javascript:alert(1)//3-secret" }, "not an absolute"},
		{"expired", func(u *client.URLs) { u.Expiration = now.Add(-time.Second) }, "expired at 2030-01-01T11:59:59Z"},
		{"expiring now", func(u *client.URLs) { u.Expiration = now }, "expired"},
		{"no expiration", func(u *client.URLs) { u.Expiration = time.Time{} }, "never expire"},
	} {
		var u *client.URLs
		if tc.change != nil {
			u = good()
			tc.change(u)
		}
		err := links.Check(u, now, "approve", "reject")
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: the error quotes a URL: %v", tc.name, err)
		}
	}
}
