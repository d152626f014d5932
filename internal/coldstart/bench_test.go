package coldstart

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/corpus"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/lambdarie"
)

// warmInvocations is how many invocations after the first one the warm
// figure is the median of.
const warmInvocations = 200

// BenchmarkColdStart measures each function in each key mode, and the
// floor ("nothing": a do-nothing aws-lambda-go function, same build, same
// environment), started afresh for each of the b.N iterations with one
// event queued, as Lambda hands a new sandbox its first event. Figures are
// medians over the starts:
//
//	ms-coldstart     process start to the response to the first event
//	ms-init          process start to the first poll of the Runtime API (init)
//	ms-first-invoke  the first event's hand-out to its response
//	ms-warm-p50      median hand-out to response of 200 later events, one process
//	MiB-peak-rss     peak resident memory, idle after the first response
//	MiB-binary       the bootstrap's size (built for this machine)
//	x-coldstart      ms-coldstart as a multiple of the floor's
//	x-rss            MiB-peak-rss as a multiple of the floor's
//
// The floor is started alternately with the function in the same loop, so
// that both see the same machine. ns/op is not reported: an iteration is
// two starts, not a unit of work.
func BenchmarkColdStart(b *testing.B) {
	if testing.Short() {
		b.Skip("builds and runs the Lambda bootstraps")
	}
	binaries(b, "nothing", "create-urls", "process-callback")
	tokens := corpus.Tokens()
	b.Run("nothing", func(b *testing.B) {
		floor := nothingWorkload(b, newDeployment(b, "static"))
		var s samples
		for b.Loop() {
			s.add(floor.coldStart(b))
		}
		s.report(b, floor, nil)
	})
	for _, fn := range functions {
		for _, mode := range keyModes {
			b.Run(fn+"/"+mode, func(b *testing.B) {
				d := newDeployment(b, mode)
				floor := nothingWorkload(b, d)
				w := functionWorkload(b, fn, d, tokens[0])
				var fs, ws samples
				for b.Loop() {
					fs.add(floor.coldStart(b))
					ws.add(w.coldStart(b))
				}
				ws.report(b, w, &fs)
			})
		}
	}
}

// workload is a bootstrap and the event it is timed on.
type workload struct {
	name, bin string
	d         *deployment
	event     []byte
	// prepare runs before each invocation (nil: nothing to do).
	prepare func()
	// check rejects an answer that is not a success, so that no error
	// path is timed by mistake.
	check func(answer []byte) error
}

func nothingWorkload(tb testing.TB, d *deployment) *workload {
	return &workload{name: "nothing", bin: binary(tb, "nothing"), d: d, event: []byte(`{}`),
		check: func(answer []byte) error {
			if string(answer) != "{}" {
				return fmt.Errorf("answered %s, want {}", answer)
			}
			return nil
		}}
}

// functionWorkload is create-urls' direct invoke (a state machine's Lambda
// task calling it) or process-callback's proxy event of an API client
// opening an approve URL, whose task is reopened before each click.
func functionWorkload(tb testing.TB, fn string, d *deployment, token string) *workload {
	tb.Helper()
	w := &workload{name: fn, bin: binary(tb, fn), d: d}
	switch fn {
	case "create-urls":
		w.event = createRequest(token)
		w.check = func(answer []byte) error {
			var r createResponse
			if err := json.Unmarshal(answer, &r); err != nil || r.URLs["approve"] == "" {
				return fmt.Errorf("answered %s, want URLs", answer)
			}
			return nil
		}
	case "process-callback":
		p := d.start(tb, binary(tb, "create-urls"), "create-urls")
		made := checkCreate(tb, p.call(tb, createRequest(token)).body)
		p.stop()
		w.event = clickEvent(tb, made.URLs["approve"])
		w.prepare = func() { d.sfn.AddTask(token) }
		w.check = func(answer []byte) error {
			r, err := lambdarie.DecodeProxyResponse(answer)
			if err != nil || r.StatusCode != http.StatusOK {
				return fmt.Errorf("answered %s, want status 200", answer)
			}
			return nil
		}
	default:
		tb.Fatalf("no workload for %s", fn)
	}
	return w
}

// sample is one cold start.
type sample struct {
	init, cold, first time.Duration
	rss               int64
}

// coldStart starts the bootstrap with the event already queued, waits for
// its answer and for it to poll again (idle), and stops it.
func (w *workload) coldStart(tb testing.TB) sample {
	tb.Helper()
	if w.prepare != nil {
		w.prepare()
	}
	rt := newRuntimeAPI(tb, w.name)
	inv := rt.Enqueue(w.event)
	p := startProcess(tb, w.bin, w.name, append(lambdaEnv(w.name, rt.Addr()), w.d.settings...), rt)
	if err := p.await(inv); err != nil {
		tb.Fatal(err)
	}
	w.mustSucceed(tb, p, inv)
	firstPoll, _ := rt.Poll(1, 0, nil) // the event was handed out, so polled
	if _, err := rt.Poll(2, invokeTimeout, p.exited); err != nil {
		tb.Fatalf("%s: %v\n%s", w.name, err, p.tail())
	}
	rss := p.stop()
	rt.Close()
	return sample{
		init:  firstPoll.Sub(p.started),
		cold:  inv.answered.Sub(p.started),
		first: inv.answered.Sub(inv.handedOut),
		rss:   rss,
	}
}

// warm is the median latency of warmInvocations invocations after the
// first, in one process.
func (w *workload) warm(tb testing.TB) time.Duration {
	tb.Helper()
	p := w.d.start(tb, w.bin, w.name)
	lat := make([]time.Duration, 0, warmInvocations)
	for i := range warmInvocations + 1 {
		if w.prepare != nil {
			w.prepare()
		}
		inv := p.call(tb, w.event)
		w.mustSucceed(tb, p, inv)
		if i > 0 {
			lat = append(lat, inv.answered.Sub(inv.handedOut))
		}
	}
	p.stop()
	p.rt.Close()
	return median(lat)
}

func (w *workload) mustSucceed(tb testing.TB, p *process, inv *invocation) {
	tb.Helper()
	if inv.err != nil {
		tb.Fatalf("%s: Lambda function error %s\n%s", w.name, inv.err, p.tail())
	}
	if err := w.check(inv.body); err != nil {
		tb.Fatalf("%s: %v\n%s", w.name, err, p.tail())
	}
}

type samples struct {
	init, cold, first []time.Duration
	rss               []int64
}

func (s *samples) add(x sample) {
	s.init = append(s.init, x.init)
	s.cold = append(s.cold, x.cold)
	s.first = append(s.first, x.first)
	s.rss = append(s.rss, x.rss)
}

// report reports s, the starts of w, with ratios to floor's if given.
func (s *samples) report(b *testing.B, w *workload, floor *samples) {
	b.StopTimer()
	warm := w.warm(b)
	info, err := os.Stat(w.bin)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(ms(median(s.cold)), "ms-coldstart")
	b.ReportMetric(ms(median(s.init)), "ms-init")
	b.ReportMetric(ms(median(s.first)), "ms-first-invoke")
	b.ReportMetric(ms(warm), "ms-warm-p50")
	b.ReportMetric(float64(info.Size())/(1<<20), "MiB-binary")
	rss := median(s.rss)
	if rss > 0 {
		b.ReportMetric(float64(rss)/(1<<20), "MiB-peak-rss")
	}
	if floor == nil {
		return
	}
	b.ReportMetric(float64(median(s.cold))/float64(median(floor.cold)), "x-coldstart")
	if floorRSS := median(floor.rss); rss > 0 && floorRSS > 0 {
		b.ReportMetric(float64(rss)/float64(floorRSS), "x-rss")
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// median is the middle value of xs (the mean of the two middle ones for
// an even count), 0 for none.
func median[T time.Duration | int64](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}
