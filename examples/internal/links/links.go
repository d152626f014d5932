// Package links holds the examples' rules for the callback links they hand
// out: how long the links work (expires_in_seconds), and that only links
// CreateUrls answered, alive, go out.
package links

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/client"
)

// MaxLifetime is the longest the examples let links work: a year, the
// longest a Standard execution runs, so no task waits longer. A longer
// expires_in_seconds is cut to it.
const MaxLifetime = 365 * 24 * time.Hour

// maxSeconds is the most seconds a time.Duration holds (about 292 years).
const maxSeconds = math.MaxInt64 / int64(time.Second)

// Lifetime is how long links work for a state's expires_in_seconds: def
// when it is absent (nil); at most MaxLifetime. Zero or less is an error,
// as is a number of seconds beyond what a time.Duration holds: both are
// mistakes in the state machine (time.Duration(n)*time.Second would wrap
// around and make links that expire at once, or have already expired).
func Lifetime(seconds *int64, def time.Duration) (time.Duration, error) {
	switch {
	case seconds == nil:
		return def, nil
	case *seconds <= 0:
		return 0, fmt.Errorf("expires_in_seconds is %d: want a positive number of seconds (at most %d, a year), or none for %v", *seconds, int64(MaxLifetime/time.Second), def)
	case *seconds > maxSeconds:
		return 0, fmt.Errorf("expires_in_seconds is %d: more seconds than a duration holds (about 292 years); links work at most %d seconds (a year)", *seconds, int64(MaxLifetime/time.Second))
	case time.Duration(*seconds)*time.Second > MaxLifetime:
		return MaxLifetime, nil
	}
	return time.Duration(*seconds) * time.Second, nil
}

// Check makes sure that urls has a link for each of names, each an
// absolute http or https URL, and that they have an expiration after now:
// a mail or a dispatch carries CreateUrls' own links, alive, or is not
// sent. Errors never quote a URL (a secret).
func Check(urls *client.URLs, now time.Time, names ...string) error {
	if urls == nil {
		return errors.New("CreateUrls answered no URLs")
	}
	for _, name := range names {
		raw, ok := urls.URLs[name]
		if !ok || raw == "" {
			return fmt.Errorf("CreateUrls answered no %q URL (transaction %s): nothing sent", name, urls.TransactionID)
		}
		if u, err := url.Parse(raw); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("CreateUrls answered a %q URL that is not an absolute http or https URL (transaction %s): nothing sent", name, urls.TransactionID)
		}
	}
	switch {
	case urls.Expiration.IsZero():
		return fmt.Errorf("CreateUrls answered no expiration (transaction %s): links that never expire are not sent", urls.TransactionID)
	case !urls.Expiration.After(now):
		return fmt.Errorf("the links expired at %s, before they could be sent (transaction %s)", urls.Expiration.UTC().Format(time.RFC3339), urls.TransactionID)
	}
	return nil
}
