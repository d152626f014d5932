package localweb

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/pages"
)

// TestTimeView: the dashboard's times are in the server's zone, which
// they name, so that they cannot be read in another.
func TestTimeView(t *testing.T) {
	at := time.Date(2030, 1, 1, 10, 0, 5, 123, time.UTC)
	tests := []struct {
		name string
		zone *time.Location
		want pages.Time
	}{
		{"UTC", time.UTC, pages.Time{Text: "2030-01-01 10:00:05 UTC", DateTime: "2030-01-01T10:00:05Z"}},
		{"east", time.FixedZone("CET", 3600), pages.Time{Text: "2030-01-01 11:00:05 UTC+01:00", DateTime: "2030-01-01T11:00:05+01:00"}},
		{"west, half hour", time.FixedZone("", -(3*3600 + 1800)), pages.Time{Text: "2030-01-01 06:30:05 UTC-03:30", DateTime: "2030-01-01T06:30:05-03:30"}},
		{"zone named UTC with no offset", time.FixedZone("GMT", 0), pages.Time{Text: "2030-01-01 10:00:05 UTC", DateTime: "2030-01-01T10:00:05Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, timeView(at, tt.zone)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if got := timeView(time.Time{}, time.UTC); got != (pages.Time{}) {
		t.Errorf("zero time: %+v", got)
	}
}
