package slackapp_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/servicetest"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/slack/slacktest"
)

// BenchmarkClick times a Slack click on the local server, from the signed
// request sent to its answer: the signature, the payload opened, the
// approver checked, the decision sent to Step Functions (sfntest through
// the SDK) with its receipt, and the message replaced through the
// response_url (the stand-in), all over loopback HTTP. Slack wants the
// answer within 3 s.
//
//	click-p50-ms, click-p99-ms   the answer's latency
func BenchmarkClick(b *testing.B) {
	e := start(b, envOptions{backend: servicetest.SFN})
	var ds []time.Duration
	for b.Loop() {
		b.StopTimer()
		_, btns := e.ask(b, twoActions("slack:"+ana.ID))
		c := &slacktest.Click{User: ana.ID, ActionID: "approve", Value: btns["approve"].Value}
		body := e.sl.BlockActions(c)
		h := http.Header{}
		slacktest.Sign(h, slacktest.SigningSecret, e.Clock.Now(), body)
		b.StartTimer()
		t0 := time.Now()
		resp := e.post(b, body, h)
		ds = append(ds, time.Since(t0))
		if resp.Status != http.StatusOK || len(e.sl.Responses(c.ResponseURL)) != 1 {
			b.Fatalf("%d %s", resp.Status, resp.Body)
		}
	}
	report(b, ds)
}

func report(b *testing.B, ds []time.Duration) {
	slices.Sort(ds)
	at := func(p float64) float64 {
		i := int(p/100*float64(len(ds)) + 0.5)
		i = min(max(i-1, 0), len(ds)-1)
		return float64(ds[i].Microseconds()) / 1000
	}
	b.ReportMetric(at(50), "click-p50-ms")
	b.ReportMetric(at(99), "click-p99-ms")
}
