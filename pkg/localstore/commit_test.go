package localstore

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// holdCommits blocks the committer until the returned release is called,
// so that a test can line changes up for one commit. It returns once the
// committer is held.
func holdCommits(t *testing.T, s *Store) (release func()) {
	t.Helper()
	held, gate := make(chan struct{}), make(chan struct{})
	go func() {
		_ = s.write(func(*bolt.Tx) error {
			select {
			case <-held:
			default:
				close(held)
			}
			<-gate
			return nil
		})
	}()
	<-held
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release)
	return release
}

// queue starts f in a goroutine and returns once its change is queued
// (the committer must be held), so that changes queue in a known order.
func queue(t *testing.T, s *Store, f func() error) <-chan error {
	t.Helper()
	n := len(s.writes)
	done := make(chan error, 1)
	go func() { done <- f() }()
	for deadline := time.Now().Add(10 * time.Second); len(s.writes) == n; time.Sleep(100 * time.Microsecond) {
		if time.Now().After(deadline) {
			t.Fatal("the change was never queued")
		}
	}
	return done
}

// TestGroupCommit lines up changes behind a held commit: they share one
// commit, in order, and a refusal among them undoes nothing.
func TestGroupCommit(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	a, b := mustCreate(t, s, "a"), mustCreate(t, s, "b")
	release := holdCommits(t, s)
	before := s.commits.Load()
	results := []<-chan error{
		queue(t, s, func() error { return s.SendTaskHeartbeat(ctx, a.Token) }),
		queue(t, s, func() error { return s.SendTaskSuccess(ctx, a.Token, `"first"`) }),
		queue(t, s, func() error { return s.SendTaskFailure(ctx, a.Token, "second", "") }),
		queue(t, s, func() error { return s.SendTaskHeartbeat(ctx, a.Token) }),
		queue(t, s, func() error { return s.SendTaskFailure(ctx, b.Token, "E", "C") }),
		queue(t, s, func() error { _, err := s.CreateTask(ctx, "c"); return err }),
	}
	release()
	var codes []string
	for _, r := range results {
		codes = append(codes, taskCode(t, <-r))
	}
	want := []string{"", "", callbackurls.TaskTimedOut, callbackurls.TaskTimedOut, "", ""}
	if diff := cmp.Diff(want, codes); diff != "" {
		t.Errorf("results in queue order (-want +got):\n%s", diff)
	}
	// The held commit and one for the six.
	if n := s.commits.Load() - before; n != 2 {
		t.Errorf("%d commits, want 2 (the held one and one for the group)", n)
	}
	got, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantTasks := []Task{
		{Name: "c", Status: StatusOpen},
		{Token: b.Token, Name: "b", Status: StatusFailed, Error: "E", Cause: "C"},
		{Token: a.Token, Name: "a", Status: StatusSucceeded, Output: json.RawMessage(`"first"`), Heartbeats: 1},
	}
	if len(got) == 3 {
		wantTasks[0].Token = got[0].Token
	}
	if diff := cmp.Diff(wantTasks, got, cmpTask); diff != "" {
		t.Errorf("tasks (-want +got):\n%s", diff)
	}
}

// TestFailedChangeIsIsolated: a change that fails (here on a damaged
// record) rolls its group back; the others are then committed alone and
// succeed, each exactly once, in order.
func TestFailedChangeIsIsolated(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	a, b := mustCreate(t, s, "a"), mustCreate(t, s, "b")
	damaged := tokenWithSeq(mustRandom(t), 1<<40)
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(recordsBucket).Put(seqKey(1<<40), []byte("{not json"))
	}); err != nil {
		t.Fatal(err)
	}
	release := holdCommits(t, s)
	results := []<-chan error{
		queue(t, s, func() error { return s.SendTaskHeartbeat(ctx, a.Token) }),
		queue(t, s, func() error { return s.SendTaskSuccess(ctx, a.Token, `1`) }),
		queue(t, s, func() error { return s.SendTaskHeartbeat(ctx, damaged) }),
		queue(t, s, func() error { return s.SendTaskSuccess(ctx, a.Token, `2`) }),
		queue(t, s, func() error { return s.SendTaskFailure(ctx, b.Token, "E", "") }),
	}
	release()
	errs := make([]error, len(results))
	for i, r := range results {
		errs[i] = <-r
	}
	var te *callbackurls.TargetError
	if errs[2] == nil || errors.As(errs[2], &te) || !strings.Contains(errs[2].Error(), "localstore: update task") {
		t.Errorf("change on the damaged record: %v, want a storage error", errs[2])
	}
	errs[2] = nil
	var codes []string
	for _, err := range errs {
		codes = append(codes, taskCode(t, err))
	}
	if diff := cmp.Diff([]string{"", "", "", callbackurls.TaskTimedOut, ""}, codes); diff != "" {
		t.Errorf("results in queue order (-want +got):\n%s", diff)
	}
	gotA, err := s.Get(ctx, a.Token)
	if err != nil {
		t.Fatal(err)
	}
	// One heartbeat: the rolled-back run of the group left no trace.
	wantA := Task{Token: a.Token, Name: "a", Status: StatusSucceeded, Output: json.RawMessage(`1`), Heartbeats: 1}
	if diff := cmp.Diff(wantA, gotA, cmpTask); diff != "" {
		t.Errorf("task a (-want +got):\n%s", diff)
	}
	if gotB, _ := s.Get(ctx, b.Token); gotB.Status != StatusFailed {
		t.Errorf("task b %+v, want failed", gotB)
	}
}

// TestPanicInChange: a panicking change fails alone and the committer
// keeps serving.
func TestPanicInChange(t *testing.T) {
	s, _ := openTemp(t)
	err := s.write(func(*bolt.Tx) error { panic("boom") })
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("error %v, want the panic", err)
	}
	task := mustCreate(t, s, "after")
	if err := s.SendTaskSuccess(context.Background(), task.Token, "1"); err != nil {
		t.Errorf("after a panic: %v", err)
	}
}

// TestRacingCompletions races many completions and heartbeats on many
// tasks at once (so they meet in shared commits): each task has exactly
// one winner, its stored outcome is the winner's, and every acknowledged
// heartbeat is counted.
func TestRacingCompletions(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	const tasks, contenders = 40, 6
	var made []Task
	for i := range tasks {
		made = append(made, mustCreate(t, s, fmt.Sprint("t", i)))
	}
	type result struct {
		kind string
		err  error
	}
	results := make([][]result, tasks)
	for i := range results {
		results[i] = make([]result, 2*contenders)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, task := range made {
		for j := range 2 * contenders {
			wg.Go(func() {
				<-start
				var r result
				switch j % 3 {
				case 0:
					r = result{"success", s.SendTaskSuccess(ctx, task.Token, strconv.Itoa(j))}
				case 1:
					r = result{"failure", s.SendTaskFailure(ctx, task.Token, fmt.Sprint("E", j), "")}
				default:
					r = result{"heartbeat", s.SendTaskHeartbeat(ctx, task.Token)}
				}
				results[i][j] = r
			})
		}
	}
	commitsBefore := s.commits.Load()
	close(start)
	wg.Wait()
	changes := uint64(tasks * 2 * contenders)
	commits := s.commits.Load() - commitsBefore
	t.Logf("%d changes in %d commits", changes, commits)
	if commits >= changes {
		t.Errorf("%d changes took %d commits: none were grouped", changes, commits)
	}

	for i, task := range made {
		winner, beats := -1, 0
		for j, r := range results[i] {
			code := taskCode(t, r.err)
			switch {
			case code == "" && r.kind == "heartbeat":
				beats++
			case code == "" && winner >= 0:
				t.Errorf("task %d: contenders %d and %d both completed it", i, winner, j)
			case code == "":
				winner = j
			case code != callbackurls.TaskTimedOut:
				t.Errorf("task %d contender %d: %s, want TaskTimedOut", i, j, code)
			}
		}
		if winner < 0 {
			t.Fatalf("task %d: nobody completed it", i)
		}
		got, err := s.Get(ctx, task.Token)
		if err != nil {
			t.Fatal(err)
		}
		want := Task{Token: task.Token, Name: task.Name, Status: StatusSucceeded, Output: json.RawMessage(strconv.Itoa(winner)), Heartbeats: beats}
		if results[i][winner].kind == "failure" {
			want = Task{Token: task.Token, Name: task.Name, Status: StatusFailed, Error: fmt.Sprint("E", winner), Heartbeats: beats}
		}
		if diff := cmp.Diff(want, got, cmpTask); diff != "" {
			t.Errorf("task %d is not its winner's (-want +got):\n%s", i, diff)
		}
	}
}

// TestCloseCommitsQueued: Close lets the queued changes finish; a change
// asked for after it fails; every acknowledged change is in the file.
func TestCloseCommitsQueued(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tasks.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	task := mustCreate(t, s, "close")
	release := holdCommits(t, s)
	beat := queue(t, s, func() error { return s.SendTaskHeartbeat(ctx, task.Token) })
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	// Close now waits for the held commit; nothing more may be queued.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Microsecond) {
		s.mu.RLock()
		c := s.closed
		s.mu.RUnlock()
		if c {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Close never started")
		}
	}
	if err := s.SendTaskSuccess(ctx, task.Token, "1"); err == nil || !strings.Contains(err.Error(), "database not open") {
		t.Errorf("a change after Close: %v, want database not open", err)
	}
	release()
	if err := <-beat; err != nil {
		t.Errorf("queued heartbeat: %v", err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, _ := s.Get(ctx, task.Token); got.Heartbeats != 1 || got.Status != StatusOpen {
		t.Errorf("after reopening: %+v, want one heartbeat", got)
	}
}

// TestSyncStaysOn: durability rests on bbolt's fsync at every commit,
// which the kill -9 test below cannot see (the kernel keeps a killed
// process's writes).
func TestSyncStaysOn(t *testing.T) {
	s, _ := openTemp(t)
	if s.db.NoSync {
		t.Error("NoSync is on: commits are not fsynced")
	}
}

// Environment of the kill -9 test's child process.
const (
	crashStoreEnv = "LOCALSTORE_CRASH_STORE"
	crashTasks    = 300
	crashWorkers  = 48
)

// TestKillKeepsAcknowledgedOutcomes starts a child process that completes
// tasks from many goroutines and reports each acknowledged change on
// stdout, kills it with SIGKILL in the middle, and checks that the
// reopened store holds every change the child acknowledged, with exactly
// one outcome per task. Three kills, at different points.
func TestKillKeepsAcknowledgedOutcomes(t *testing.T) {
	if os.Getenv(crashStoreEnv) != "" {
		t.Skip("the child of this test")
	}
	if testing.Short() {
		t.Skip("starts child processes")
	}
	for _, killAfter := range []int{1, 60, 250} {
		t.Run(fmt.Sprint("kill after ", killAfter, " acknowledgements"), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tasks.db")
			s, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			err = s.db.Update(func(tx *bolt.Tx) error {
				for i := range crashTasks {
					if _, err := createTask(tx, fmt.Sprint("t", i), mustRandom(t), time.Now()); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}

			cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), crashStoreEnv+"="+path)
			cmd.Stderr = os.Stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Every line read was written after its change was acknowledged.
			acked := map[string]string{} // task name -> succeeded or failed
			beats := map[string]int{}
			sc := bufio.NewScanner(out)
			n, killed := 0, false
			for sc.Scan() {
				kind, name, _ := strings.Cut(sc.Text(), " ")
				switch kind {
				case "heartbeat":
					beats[name]++
				case "succeeded", "failed":
					if prev, ok := acked[name]; ok {
						t.Errorf("%s acknowledged twice: %s and %s", name, prev, kind)
					}
					acked[name] = kind
				default:
					continue
				}
				if n++; n == killAfter && !killed {
					killed = true
					if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
						t.Fatal(err)
					}
				}
			}
			werr := cmd.Wait()
			if !killed {
				t.Fatalf("the child finished before the kill (%v)", werr)
			}
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("the child was not killed: %v", werr)
			}
			t.Logf("%d completions and %d heartbeats acknowledged before the kill", len(acked), sumValues(beats))

			s, err = Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.db.View(func(tx *bolt.Tx) error {
				for err := range tx.Check() {
					return err
				}
				return nil
			}); err != nil {
				t.Fatalf("the file is damaged: %v", err)
			}
			list, err := s.List(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			stored := map[string]Task{}
			for _, task := range list {
				stored[task.Name] = task
			}
			if len(stored) != crashTasks {
				t.Fatalf("%d tasks after the kill, want %d", len(stored), crashTasks)
			}
			for name, outcome := range acked {
				if got := stored[name]; string(got.Status) != outcome {
					t.Errorf("%s: acknowledged %s, stored %s", name, outcome, got.Status)
				}
			}
			for name, n := range beats {
				if got := stored[name].Heartbeats; got < n {
					t.Errorf("%s: %d heartbeats acknowledged, %d stored", name, n, got)
				}
			}
		})
	}
}

func sumValues(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// TestKillChild is the child of TestKillKeepsAcknowledgedOutcomes: each
// worker takes tasks in turn and sends a heartbeat, then a success and a
// failure that race, printing each change it is told succeeded.
func TestKillChild(t *testing.T) {
	path := os.Getenv(crashStoreEnv)
	if path == "" {
		t.Skip("run by TestKillKeepsAcknowledgedOutcomes")
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	report := func(kind, name string) {
		mu.Lock()
		defer mu.Unlock()
		// Unbuffered: the line is in the pipe before the next change.
		fmt.Fprintln(os.Stdout, kind, name)
	}
	ctx := context.Background()
	work := make(chan Task)
	var wg sync.WaitGroup
	for range crashWorkers {
		wg.Go(func() {
			for task := range work {
				if s.SendTaskHeartbeat(ctx, task.Token) == nil {
					report("heartbeat", task.Name)
				}
				var race sync.WaitGroup
				race.Go(func() {
					if s.SendTaskSuccess(ctx, task.Token, `{"ok":true}`) == nil {
						report("succeeded", task.Name)
					}
				})
				race.Go(func() {
					if s.SendTaskFailure(ctx, task.Token, "E", "") == nil {
						report("failed", task.Name)
					}
				})
				race.Wait()
			}
		})
	}
	for _, task := range list {
		work <- task
	}
	close(work)
	wg.Wait()
	s.Close()
}
