package localstore

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	bolt "go.etcd.io/bbolt"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

func openTemp(t testing.TB) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tasks.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func mustCreate(t testing.TB, s *Store, name string) Task {
	t.Helper()
	task, err := s.CreateTask(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// taskCode returns the Step Functions code of err, "" for nil, and fails the
// test for any error that is not a *TargetError.
func taskCode(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var te *callbackurls.TargetError
	if !errors.As(err, &te) {
		t.Fatalf("error %v (%T) is not a *callbackurls.TargetError", err, err)
	}
	return te.Code
}

// cmpTask leaves the clock out of task comparisons (tests check it
// apart) and compares outputs as whole byte strings: cmp walks a
// []byte element by element, which takes seconds for a 256 KiB output.
var cmpTask = cmp.Options{
	cmpopts.IgnoreFields(Task{}, "Created", "Closed"),
	cmp.Comparer(func(a, b json.RawMessage) bool { return bytes.Equal(a, b) }),
}

type call struct {
	kind          string // success, failure, heartbeat
	output        string
	errCode       string
	cause         string
	tokenOverride *string // nil: the task's own token
}

func (c call) do(s *Store, token string) error {
	if c.tokenOverride != nil {
		token = *c.tokenOverride
	}
	ctx := context.Background()
	switch c.kind {
	case "success":
		return s.SendTaskSuccess(ctx, token, c.output)
	case "failure":
		return s.SendTaskFailure(ctx, token, c.errCode, c.cause)
	case "heartbeat":
		return s.SendTaskHeartbeat(ctx, token)
	}
	panic("unknown call kind " + c.kind)
}

func ptr(s string) *string { return &s }

// mustRandom is a token's random bytes.
func mustRandom(t testing.TB) []byte {
	t.Helper()
	b, err := newTokenBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSemantics(t *testing.T) {
	succeed := call{kind: "success", output: `{"ok":true}`}
	fail := call{kind: "failure", errCode: "Rejected", cause: "no"}
	beat := call{kind: "heartbeat"}
	unknown := ptr(base64.StdEncoding.EncodeToString(make([]byte, 513)))
	longCause := strings.Repeat("c", 40000)
	longError := strings.Repeat("e", 300)
	atLimit := `"` + strings.Repeat("x", callbackurls.MaxOutputBytes-2) + `"`

	tests := []struct {
		name     string
		before   []call // must all succeed
		call     call
		wantCode string
		want     Task // Token and Name are filled in; Created/Closed checked apart
	}{
		{name: "success closes", call: succeed,
			want: Task{Status: StatusSucceeded, Output: json.RawMessage(`{"ok":true}`)}},
		{name: "success output is compacted JSON", call: call{kind: "success", output: " [1, 2,\n3] "},
			want: Task{Status: StatusSucceeded, Output: json.RawMessage(`[1,2,3]`)}},
		{name: "success null output is kept", call: call{kind: "success", output: "null"},
			want: Task{Status: StatusSucceeded, Output: json.RawMessage(`null`)}},
		{name: "success output at the size limit", call: call{kind: "success", output: atLimit},
			want: Task{Status: StatusSucceeded, Output: json.RawMessage(atLimit)}},
		{name: "failure closes", call: fail,
			want: Task{Status: StatusFailed, Error: "Rejected", Cause: "no"}},
		{name: "failure without error or cause", call: call{kind: "failure"},
			want: Task{Status: StatusFailed}},
		{name: "failure keeps long error and cause as given",
			call: call{kind: "failure", errCode: longError, cause: longCause},
			want: Task{Status: StatusFailed, Error: longError, Cause: longCause}},
		{name: "heartbeat counts", before: []call{beat, beat}, call: beat,
			want: Task{Status: StatusOpen, Heartbeats: 3}},
		{name: "success after heartbeats", before: []call{beat}, call: succeed,
			want: Task{Status: StatusSucceeded, Output: json.RawMessage(`{"ok":true}`), Heartbeats: 1}},

		{name: "second success", before: []call{succeed}, call: call{kind: "success", output: "2"},
			wantCode: callbackurls.TaskTimedOut,
			want:     Task{Status: StatusSucceeded, Output: json.RawMessage(`{"ok":true}`)}},
		{name: "failure after success", before: []call{succeed}, call: fail,
			wantCode: callbackurls.TaskTimedOut,
			want:     Task{Status: StatusSucceeded, Output: json.RawMessage(`{"ok":true}`)}},
		{name: "heartbeat after success", before: []call{succeed}, call: beat,
			wantCode: callbackurls.TaskTimedOut,
			want:     Task{Status: StatusSucceeded, Output: json.RawMessage(`{"ok":true}`)}},
		{name: "success after failure", before: []call{fail}, call: succeed,
			wantCode: callbackurls.TaskTimedOut,
			want:     Task{Status: StatusFailed, Error: "Rejected", Cause: "no"}},
		{name: "second failure", before: []call{fail}, call: call{kind: "failure", errCode: "Other"},
			wantCode: callbackurls.TaskTimedOut,
			want:     Task{Status: StatusFailed, Error: "Rejected", Cause: "no"}},
		{name: "heartbeat after failure", before: []call{fail}, call: beat,
			wantCode: callbackurls.TaskTimedOut,
			want:     Task{Status: StatusFailed, Error: "Rejected", Cause: "no"}},

		{name: "success unknown token", call: call{kind: "success", output: "1", tokenOverride: unknown},
			wantCode: callbackurls.TaskDoesNotExist, want: Task{Status: StatusOpen}},
		{name: "failure unknown token", call: call{kind: "failure", tokenOverride: unknown},
			wantCode: callbackurls.TaskDoesNotExist, want: Task{Status: StatusOpen}},
		{name: "heartbeat unknown token", call: call{kind: "heartbeat", tokenOverride: unknown},
			wantCode: callbackurls.TaskDoesNotExist, want: Task{Status: StatusOpen}},
		{name: "unknown token at the length limit",
			call:     call{kind: "heartbeat", tokenOverride: ptr(strings.Repeat("A", callbackurls.MaxTokenLength))},
			wantCode: callbackurls.TaskDoesNotExist, want: Task{Status: StatusOpen}},

		{name: "success empty token", call: call{kind: "success", output: "1", tokenOverride: ptr("")},
			wantCode: callbackurls.InvalidToken, want: Task{Status: StatusOpen}},
		{name: "failure empty token", call: call{kind: "failure", tokenOverride: ptr("")},
			wantCode: callbackurls.InvalidToken, want: Task{Status: StatusOpen}},
		{name: "heartbeat empty token", call: call{kind: "heartbeat", tokenOverride: ptr("")},
			wantCode: callbackurls.InvalidToken, want: Task{Status: StatusOpen}},
		{name: "token over the length limit",
			call:     call{kind: "success", output: "1", tokenOverride: ptr(strings.Repeat("A", callbackurls.MaxTokenLength+1))},
			wantCode: callbackurls.InvalidToken, want: Task{Status: StatusOpen}},

		{name: "empty output", call: call{kind: "success", output: ""},
			wantCode: callbackurls.InvalidOutput, want: Task{Status: StatusOpen}},
		{name: "output not JSON", call: call{kind: "success", output: "approved"},
			wantCode: callbackurls.InvalidOutput, want: Task{Status: StatusOpen}},
		{name: "output truncated JSON", call: call{kind: "success", output: `{"a":`},
			wantCode: callbackurls.InvalidOutput, want: Task{Status: StatusOpen}},
		{name: "output two JSON values", call: call{kind: "success", output: `1 2`},
			wantCode: callbackurls.InvalidOutput, want: Task{Status: StatusOpen}},
		{name: "output not UTF-8", call: call{kind: "success", output: "\"\xff\""},
			wantCode: callbackurls.InvalidOutput, want: Task{Status: StatusOpen}},
		{name: "output over the size limit",
			call:     call{kind: "success", output: `"` + strings.Repeat("x", callbackurls.MaxOutputBytes-1) + `"`},
			wantCode: callbackurls.InvalidOutput, want: Task{Status: StatusOpen}},
		{name: "invalid output on a closed task", before: []call{fail}, call: call{kind: "success", output: "{"},
			wantCode: callbackurls.InvalidOutput,
			want:     Task{Status: StatusFailed, Error: "Rejected", Cause: "no"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openTemp(t)
			task := mustCreate(t, s, "approval")
			for i, c := range tt.before {
				if err := c.do(s, task.Token); err != nil {
					t.Fatalf("before[%d]: %v", i, err)
				}
			}
			start := time.Now().UTC()
			err := tt.call.do(s, task.Token)
			if got := taskCode(t, err); got != tt.wantCode {
				t.Fatalf("error code = %q (%v), want %q", got, err, tt.wantCode)
			}
			if err != nil {
				if strings.Contains(err.Error(), task.Token) ||
					(tt.call.tokenOverride != nil && *tt.call.tokenOverride != "" && strings.Contains(err.Error(), *tt.call.tokenOverride)) {
					t.Errorf("error message quotes the token: %.100s...", err.Error())
				}
			}

			got, err := s.Get(context.Background(), task.Token)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			want.Token, want.Name = task.Token, "approval"
			if diff := cmp.Diff(want, got, cmpTask); diff != "" {
				t.Errorf("task (-want +got):\n%s", diff)
			}
			if !got.Created.Equal(task.Created) {
				t.Errorf("created = %v, want %v", got.Created, task.Created)
			}
			switch {
			case got.Status == StatusOpen && !got.Closed.IsZero():
				t.Errorf("open task has closed time %v", got.Closed)
			case got.Status != StatusOpen && got.Closed.Before(got.Created):
				t.Errorf("closed %v before created %v", got.Closed, got.Created)
			case got.Status != StatusOpen && tt.wantCode == "" && got.Closed.Before(start.Add(-time.Second)):
				t.Errorf("closed time %v is not the completion time (~%v)", got.Closed, start)
			}
		})
	}
}

func TestCreateTask(t *testing.T) {
	s, _ := openTemp(t)
	tests := []struct {
		name     string
		taskName string
		wantErr  error
	}{
		{name: "no name", taskName: ""},
		{name: "name", taskName: "expense 42"},
		{name: "name at the limit", taskName: strings.Repeat("n", MaxNameLength)},
		{name: "multibyte name at the limit", taskName: strings.Repeat("é", MaxNameLength)},
		{name: "name over the limit", taskName: strings.Repeat("n", MaxNameLength+1), wantErr: ErrNameTooLong},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := time.Now().UTC()
			task, err := s.CreateTask(context.Background(), tt.taskName)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			want := Task{Token: task.Token, Name: tt.taskName, Status: StatusOpen}
			if diff := cmp.Diff(want, task, cmpTask); diff != "" {
				t.Errorf("task (-want +got):\n%s", diff)
			}
			if len(task.Token) != 684 {
				t.Errorf("token is %d characters, want 684", len(task.Token))
			}
			if _, err := base64.StdEncoding.DecodeString(task.Token); err != nil {
				t.Errorf("token is not standard base64: %v", err)
			}
			if seen[task.Token] {
				t.Errorf("token repeated")
			}
			seen[task.Token] = true
			if task.Created.Before(before) || task.Created.After(time.Now()) || task.Created.Location() != time.UTC {
				t.Errorf("created = %v, want UTC time of the call", task.Created)
			}
			got, err := s.Get(context.Background(), task.Token)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(task, got); diff != "" {
				t.Errorf("stored task (-created +stored):\n%s", diff)
			}
		})
	}
}

func TestTaskJSON(t *testing.T) {
	created := time.Date(2025, 3, 1, 10, 0, 0, 123456789, time.UTC)
	closed := created.Add(90 * time.Second)
	tests := []struct {
		name string
		task Task
		want string
	}{
		{name: "open",
			task: Task{Token: "T", Name: "n", Status: StatusOpen, Heartbeats: 2, Created: created},
			want: `{"token":"T","name":"n","status":"open","heartbeats":2,"created":"2025-03-01T10:00:00.123456789Z"}`},
		{name: "succeeded",
			task: Task{Token: "T", Status: StatusSucceeded, Output: json.RawMessage(`{"a":[1]}`), Created: created, Closed: closed},
			want: `{"token":"T","name":"","status":"succeeded","output":{"a":[1]},"heartbeats":0,` +
				`"created":"2025-03-01T10:00:00.123456789Z","closed":"2025-03-01T10:01:30.123456789Z"}`},
		{name: "failed",
			task: Task{Token: "T", Status: StatusFailed, Error: "E", Cause: "C", Created: created, Closed: closed},
			want: `{"token":"T","name":"","status":"failed","error":"E","cause":"C","heartbeats":0,` +
				`"created":"2025-03-01T10:00:00.123456789Z","closed":"2025-03-01T10:01:30.123456789Z"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.task)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(b)); diff != "" {
				t.Errorf("JSON (-want +got):\n%s", diff)
			}
			var back Task
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.task, back); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGetUnknown(t *testing.T) {
	s, _ := openTemp(t)
	for _, token := range []string{"", "nope", strings.Repeat("A", 684)} {
		if _, err := s.Get(context.Background(), token); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%.10q) error = %v, want ErrNotFound", token, err)
		}
	}
}

func TestList(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()

	got, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || len(got) != 0 {
		t.Fatalf("empty store List = %#v, want empty non-nil", got)
	}

	var made []Task
	for i := range 3 {
		made = append(made, mustCreate(t, s, fmt.Sprint("task", i)))
	}
	if err := s.SendTaskSuccess(ctx, made[1].Token, `"done"`); err != nil {
		t.Fatal(err)
	}
	got, err = s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := func(ts []Task) []string {
		var n []string
		for _, t := range ts {
			n = append(n, t.Name)
		}
		return n
	}
	if diff := cmp.Diff([]string{"task2", "task1", "task0"}, names(got)); diff != "" {
		t.Errorf("List order (-want +got):\n%s", diff)
	}
	if got[1].Status != StatusSucceeded || string(got[1].Output) != `"done"` {
		t.Errorf("List shows %+v, want the completed task", got[1])
	}

	// Fill past the bound in one commit; fsync per task would make this slow.
	err = s.db.Update(func(tx *bolt.Tx) error {
		for i := 3; i < MaxListedTasks+5; i++ {
			if _, err := createTask(tx, fmt.Sprint("task", i), mustRandom(t), time.Now()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{-1, 0, 2, MaxListedTasks + 1} {
		newest, err := s.Newest(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		if want := max(0, min(n, MaxListedTasks)); len(newest) != want || newest == nil {
			t.Errorf("Newest(%d): %d tasks, want %d", n, len(newest), want)
		} else if want > 0 && newest[0].Name != fmt.Sprint("task", MaxListedTasks+4) {
			t.Errorf("Newest(%d) starts with %s", n, newest[0].Name)
		}
	}
	got, err = s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != MaxListedTasks {
		t.Fatalf("List returned %d tasks, want %d", len(got), MaxListedTasks)
	}
	if first, last := got[0].Name, got[len(got)-1].Name; first != fmt.Sprint("task", MaxListedTasks+4) || last != "task5" {
		t.Errorf("List spans %s..%s, want task%d..task5", first, last, MaxListedTasks+4)
	}
}

func TestConcurrentCompletion(t *testing.T) {
	s, _ := openTemp(t)
	task := mustCreate(t, s, "race")
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ctx := context.Background()
			if i%2 == 0 {
				errs[i] = s.SendTaskSuccess(ctx, task.Token, fmt.Sprint(i))
			} else {
				errs[i] = s.SendTaskFailure(ctx, task.Token, fmt.Sprint("E", i), "")
			}
		}()
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		switch code := taskCode(t, err); code {
		case "":
			if winner >= 0 {
				t.Errorf("goroutines %d and %d both completed the task", winner, i)
			}
			winner = i
		case callbackurls.TaskTimedOut:
		default:
			t.Errorf("goroutine %d: code %s, want TaskTimedOut", i, code)
		}
	}
	if winner < 0 {
		t.Fatal("no goroutine completed the task")
	}
	got, err := s.Get(context.Background(), task.Token)
	if err != nil {
		t.Fatal(err)
	}
	want := Task{Token: task.Token, Name: "race", Status: StatusSucceeded, Output: json.RawMessage(fmt.Sprint(winner))}
	if winner%2 == 1 {
		want = Task{Token: task.Token, Name: "race", Status: StatusFailed, Error: fmt.Sprint("E", winner)}
	}
	if diff := cmp.Diff(want, got, cmpTask); diff != "" {
		t.Errorf("stored outcome is not the winner's (-want +got):\n%s", diff)
	}
}

func TestDurability(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tasks.db")
	ctx := context.Background()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	done, open := mustCreate(t, s, "done"), mustCreate(t, s, "open")
	if err := s.SendTaskSuccess(ctx, done.Token, `{"approved":true}`); err != nil {
		t.Fatal(err)
	}
	if err := s.SendTaskHeartbeat(ctx, open.Token); err != nil {
		t.Fatal(err)
	}
	before, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	after, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("tasks after reopening (-before +after):\n%s", diff)
	}
	if code := taskCode(t, s.SendTaskFailure(ctx, done.Token, "late", "")); code != callbackurls.TaskTimedOut {
		t.Errorf("completing the reopened closed task: code %q, want TaskTimedOut", code)
	}
	// New tasks keep sorting after the old ones.
	mustCreate(t, s, "new")
	after, err = s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after[0].Name != "new" {
		t.Errorf("newest task after reopening is %q, want new", after[0].Name)
	}
}

func TestFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "tasks.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range []struct {
		path string
		want os.FileMode
	}{{path, 0o600}, {dir, 0o700 | os.ModeDir}, {filepath.Dir(dir), 0o700 | os.ModeDir}} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != c.want {
			t.Errorf("%s mode = %v, want %v", c.path, fi.Mode(), c.want)
		}
	}
}

func TestOpenInUse(t *testing.T) {
	_, path := openTemp(t)
	start := time.Now()
	s2, err := Open(path)
	if err == nil {
		s2.Close()
		t.Fatal("second Open of an open store succeeded")
	}
	// The wait is openTimeout by design; a loaded machine must not fail
	// the test for taking longer.
	t.Logf("second Open failed after %v (openTimeout %v)", time.Since(start), openTimeout)
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "store is in use by another process") {
		t.Errorf("error = %v, want ErrInUse", err)
	}
}

func TestContextCancelled(t *testing.T) {
	s, _ := openTemp(t)
	task := mustCreate(t, s, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	errs := map[string]error{
		"success":   s.SendTaskSuccess(ctx, task.Token, "1"),
		"failure":   s.SendTaskFailure(ctx, task.Token, "", ""),
		"heartbeat": s.SendTaskHeartbeat(ctx, task.Token),
	}
	_, errs["get"] = s.Get(ctx, task.Token)
	_, errs["list"] = s.List(ctx)
	_, errs["create"] = s.CreateTask(ctx, "")
	for op, err := range errs {
		if !errors.Is(err, callbackurls.ErrUnavailable) || !errors.Is(err, context.Canceled) {
			t.Errorf("%s: error = %v, want ErrUnavailable wrapping context.Canceled", op, err)
		}
	}
	got, err := s.Get(context.Background(), task.Token)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusOpen || got.Heartbeats != 0 {
		t.Errorf("cancelled calls changed the task: %+v", got)
	}
}

func TestClosedStore(t *testing.T) {
	s, _ := openTemp(t)
	task := mustCreate(t, s, "")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	err := s.SendTaskSuccess(context.Background(), task.Token, "1")
	var te *callbackurls.TargetError
	if err == nil || errors.As(err, &te) || errors.Is(err, callbackurls.ErrUnavailable) {
		t.Errorf("call on a closed store: error = %v, want a plain storage error", err)
	}
}

// BenchmarkSendTaskSuccess measures one durable completion (a write
// transaction with its fsync). Tasks are made beforehand in one commit.
func BenchmarkSendTaskSuccess(b *testing.B) {
	s, _ := openTemp(b)
	tokens := make([]string, b.N)
	err := s.db.Update(func(tx *bolt.Tx) error {
		for i := range tokens {
			t, err := createTask(tx, "bench", mustRandom(b), time.Now())
			if err != nil {
				return err
			}
			tokens[i] = t.Token
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	output := `{"approved":true,"by":"someone@example.com"}`
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.SendTaskSuccess(ctx, tokens[i], output); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateAndComplete is the full local cycle: two commits per task.
func BenchmarkCreateAndComplete(b *testing.B) {
	s, _ := openTemp(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		task, err := s.CreateTask(ctx, "bench")
		if err != nil {
			b.Fatal(err)
		}
		if err := s.SendTaskSuccess(ctx, task.Token, `{"approved":true}`); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateAndCompleteParallel is the full local cycle from many
// goroutines at once (64 per CPU), where group commit shares fsyncs.
func BenchmarkCreateAndCompleteParallel(b *testing.B) {
	s, _ := openTemp(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(64)
	commits := s.commits.Load()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			task, err := s.CreateTask(ctx, "bench")
			if err != nil {
				b.Error(err)
				return
			}
			if err := s.SendTaskSuccess(ctx, task.Token, `{"approved":true}`); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(2*b.N)/float64(s.commits.Load()-commits), "changes/commit")
}
