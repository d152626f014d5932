package durablecallbacks_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/standin"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/durablecallbacks"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/durablecallbacks/durabletest"
)

// An id with every character a URL path must escape.
const id = "AbC+/dEf0123456789+/xyZ=="

// outcome summarises an error: its kind, the target code or API code
// behind it, and the refusal.
type outcome struct {
	Kind    string // "ok", "refused", "unavailable", "other"
	Code    string
	Refusal callbackurls.Refusal
}

func classify(err error) outcome {
	if err == nil {
		return outcome{Kind: "ok"}
	}
	var te *callbackurls.TargetError
	if errors.As(err, &te) {
		return outcome{Kind: "refused", Code: te.Code, Refusal: te.Refusal}
	}
	o := outcome{Kind: "other", Code: standin.ErrorCode(err)}
	if errors.Is(err, callbackurls.ErrUnavailable) {
		o.Kind = "unavailable"
	}
	return o
}

func decision(typ callbackurls.ActionType) callbackurls.Decision {
	switch typ {
	case callbackurls.Success:
		return callbackurls.Decision{Type: typ, Output: []byte(`{"approved":true}`)}
	case callbackurls.Failure:
		return callbackurls.Decision{Type: typ, Error: "Rejected", Cause: "no budget"}
	}
	return callbackurls.Decision{Type: typ}
}

func TestSend(t *testing.T) {
	tests := []struct {
		name  string
		setup func(srv *durabletest.Server)
		id    string
		typ   callbackurls.ActionType
		want  outcome
		state durabletest.CallbackState
	}{
		{name: "success", typ: callbackurls.Success, want: outcome{Kind: "ok"},
			state: durabletest.CallbackState{Status: durabletest.StatusSucceeded, Result: []byte(`{"approved":true}`)}},
		{name: "failure", typ: callbackurls.Failure, want: outcome{Kind: "ok"},
			state: durabletest.CallbackState{Status: durabletest.StatusFailed,
				Error: durabletest.ErrorObject{ErrorType: aws.String("Rejected"), ErrorMessage: aws.String("no budget")}}},
		{name: "heartbeat", typ: callbackurls.Heartbeat, want: outcome{Kind: "ok"},
			state: durabletest.CallbackState{Status: durabletest.StatusOpen, Heartbeats: 1}},
		{name: "second answer is closed", typ: callbackurls.Success,
			setup: func(srv *durabletest.Server) { srv.TimeOut(id) },
			want:  outcome{Kind: "refused", Code: "CallbackTimeoutException", Refusal: callbackurls.Closed},
			state: durabletest.CallbackState{Status: durabletest.StatusTimedOut}},
		{name: "unknown callback", id: "bm90LW9wZW4=", typ: callbackurls.Heartbeat,
			want:  outcome{Kind: "refused", Code: "ResourceNotFoundException", Refusal: callbackurls.Unknown},
			state: durabletest.CallbackState{Status: durabletest.StatusOpen}},
		{name: "malformed id", id: "not base64!", typ: callbackurls.Heartbeat,
			want:  outcome{Kind: "refused", Code: "InvalidParameterValueException", Refusal: callbackurls.InvalidRef},
			state: durabletest.CallbackState{Status: durabletest.StatusOpen}},
		{name: "throttled beyond the retries", typ: callbackurls.Success,
			setup: func(srv *durabletest.Server) { srv.Throttle("", 3) },
			want:  outcome{Kind: "unavailable", Code: "TooManyRequestsException"},
			state: durabletest.CallbackState{Status: durabletest.StatusOpen}},
		{name: "throttled once, retried", typ: callbackurls.Heartbeat,
			setup: func(srv *durabletest.Server) { srv.Throttle("", 1) },
			want:  outcome{Kind: "ok"},
			state: durabletest.CallbackState{Status: durabletest.StatusOpen, Heartbeats: 1}},
		{name: "service exception", typ: callbackurls.Success,
			setup: func(srv *durabletest.Server) { srv.FailNext(3, 500, "ServiceException") },
			want:  outcome{Kind: "unavailable", Code: "ServiceException"},
			state: durabletest.CallbackState{Status: durabletest.StatusOpen}},
		{name: "customer key denied", typ: callbackurls.Failure,
			setup: func(srv *durabletest.Server) { srv.FailNext(3, 502, "KMSAccessDeniedException") },
			want:  outcome{Kind: "unavailable", Code: "KMSAccessDeniedException"},
			state: durabletest.CallbackState{Status: durabletest.StatusOpen}},
		{name: "IAM denial is ours", typ: callbackurls.Success,
			setup: func(srv *durabletest.Server) { srv.FailNext(1, 403, "AccessDeniedException") },
			want:  outcome{Kind: "other", Code: "AccessDeniedException"},
			state: durabletest.CallbackState{Status: durabletest.StatusOpen}},
		{name: "invalid result", typ: callbackurls.Success,
			setup: func(srv *durabletest.Server) {
				srv.FailNext(1, 400, "InvalidParameterValueException")
			},
			want:  outcome{Kind: "refused", Code: "InvalidParameterValueException", Refusal: callbackurls.InvalidDecision},
			state: durabletest.CallbackState{Status: durabletest.StatusOpen}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := durabletest.New(t)
			srv.AddCallback(id)
			if tc.setup != nil {
				tc.setup(srv)
			}
			c := durablecallbacks.NewFromAWSConfig(srv.Config())
			ref := id
			if tc.id != "" {
				ref = tc.id
			}
			err := c.Send(context.Background(), ref, decision(tc.typ))
			if diff := cmp.Diff(tc.want, classify(err)); diff != "" {
				t.Errorf("outcome (-want +got):\n%s\nerror: %v", diff, err)
			}
			if err != nil && len(ref) >= 8 && strings.Contains(err.Error(), ref) {
				t.Errorf("the error quotes the callback id: %v", err)
			}
			got, _ := srv.Callback(id)
			if diff := cmp.Diff(tc.state, got); diff != "" {
				t.Errorf("callback (-want +got):\n%s", diff)
			}
		})
	}
}

// TestWire checks what Lambda receives: the id in the path, escaped and
// unescaped again; the result as the raw body; the error object with only
// what was given.
func TestWire(t *testing.T) {
	srv := durabletest.New(t)
	ids := []string{id, "a", strings.Repeat("Zm9v", 256)}
	for _, ref := range ids {
		srv.AddCallback(ref)
	}
	c := durablecallbacks.NewFromAWSConfig(srv.Config())
	ctx := context.Background()
	for _, ref := range ids {
		for _, d := range []callbackurls.Decision{
			{Type: callbackurls.Heartbeat},
			{Type: callbackurls.Heartbeat},
			{Type: callbackurls.Failure, Error: "OnlyType"},
		} {
			if err := c.Send(ctx, ref, d); err != nil {
				t.Fatalf("%s %s: %v", ref, d.Type, err)
			}
		}
	}
	var want []durabletest.Call
	for _, ref := range ids {
		want = append(want,
			durabletest.Call{Operation: durabletest.OpHeartbeat, CallbackID: ref, Status: 200},
			durabletest.Call{Operation: durabletest.OpHeartbeat, CallbackID: ref, Status: 200},
			durabletest.Call{Operation: durabletest.OpFailure, CallbackID: ref, Status: 200,
				Error: &durabletest.ErrorObject{ErrorType: aws.String("OnlyType")}})
	}
	if diff := cmp.Diff(want, srv.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if cb, _ := srv.Callback(id); cb.Heartbeats != 2 || cb.Status != durabletest.StatusFailed {
		t.Errorf("callback %+v: want two heartbeats, then failed", cb)
	}
}

func TestResultLimit(t *testing.T) {
	srv := durabletest.New(t)
	srv.AddCallback(id)
	c := durablecallbacks.NewFromAWSConfig(srv.Config())
	big := []byte(`"` + strings.Repeat("x", durablecallbacks.MaxResultBytes-1) + `"`)
	err := c.Succeed(context.Background(), id, big)
	if got := classify(err); got.Refusal != callbackurls.InvalidDecision {
		t.Errorf("a result of %d bytes: %v, want an InvalidDecision refusal", len(big), err)
	}
	if n := srv.Count(durabletest.OpSuccess); n != 0 {
		t.Errorf("%d calls reached Lambda", n)
	}
	if err := c.Succeed(context.Background(), id, big[1:len(big)-1]); err != nil {
		t.Errorf("a result of exactly %d bytes: %v", durablecallbacks.MaxResultBytes-2, err)
	}
}

// TestRetryAfter: Lambda's Retry-After reaches the error the HTTP edge
// reads.
func TestRetryAfter(t *testing.T) {
	srv := durabletest.New(t)
	srv.AddCallback(id)
	srv.Throttle("", 3)
	c := durablecallbacks.NewFromAWSConfig(srv.Config())
	err := c.Heartbeat(context.Background(), id)
	var ra interface{ RetryAfter() time.Duration }
	if !errors.As(err, &ra) || ra.RetryAfter() != 7*time.Second {
		t.Fatalf("error %v: want a RetryAfter of 7s", err)
	}
	e := callbackurls.AsError(err)
	if e.Kind != callbackurls.Unavailable {
		t.Errorf("kind %v, want unavailable", e.Kind)
	}
}

// TestStandInFrontEnd: the stand-in refuses what Lambda's front end
// refuses before any callback is looked at.
func TestStandInFrontEnd(t *testing.T) {
	srv := durabletest.New(t)
	srv.AddCallback("YQ==")
	tests := []struct {
		name   string
		req    standin.RawRequest
		status int
		code   string
	}{
		{"unsigned", standin.RawRequest{Method: "POST", Path: "/2025-12-01/durable-execution-callbacks/YQ%3D%3D/heartbeat"}, 403, "MissingAuthenticationTokenException"},
		{"signed for another service", standin.RawRequest{Method: "POST", Path: "/2025-12-01/durable-execution-callbacks/YQ%3D%3D/heartbeat", Sign: "states"}, 403, "InvalidSignatureException"},
		{"unknown operation", standin.RawRequest{Method: "POST", Path: "/2025-12-01/durable-execution-callbacks/YQ%3D%3D/cancel", Sign: "lambda"}, 404, "UnknownOperationException"},
		{"heartbeat", standin.RawRequest{Method: "POST", Path: "/2025-12-01/durable-execution-callbacks/YQ%3D%3D/heartbeat", Sign: "lambda"}, 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := srv.Do(t, tc.req)
			if resp.StatusCode != tc.status || resp.Header.Get("X-Amzn-Errortype") != tc.code {
				t.Errorf("%d %q %s, want %d %q", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), body, tc.status, tc.code)
			}
			if tc.code != "" && !strings.Contains(string(body), `"__type":"`+tc.code+`"`) {
				t.Errorf("body %s has no __type %s", body, tc.code)
			}
		})
	}
	// A throttled answer carries the wait in the header and the body.
	srv.Throttle("", 1)
	resp, body := srv.Do(t, tests[3].req)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != durabletest.RetryAfterSeconds ||
		!strings.Contains(string(body), `"retryAfterSeconds":"`+durabletest.RetryAfterSeconds+`"`) {
		t.Errorf("throttled: %d Retry-After %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		"a": true, "YQ==": true, "YQ=": true, "a+/9": true, strings.Repeat("a", 1024): true,
		"": false, "=": false, "YQ===": false, "a=b": false, "a-b": false, "a_b": false, "é": false, strings.Repeat("a", 1025): false,
	} {
		spec := callbackurls.DurableCallback.Spec()
		if got := spec.Valid(id); got != want {
			t.Errorf("core: Valid(%.20q) = %v, want %v", id, got, want)
		}
		if got := durabletest.ValidID(id); got != want {
			t.Errorf("stand-in: ValidID(%.20q) = %v, want %v", id, got, want)
		}
	}
}
