package localstore

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// TestTokensFindOnlyTheirTask: a token finds its task by the sequence it
// carries, and nothing else does: another token with the same sequence,
// the token with one character changed, or a sequence past the end.
func TestTokensFindOnlyTheirTask(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	a, b := mustCreate(t, s, "a"), mustCreate(t, s, "b")
	if a.Token[:seqChar] == b.Token[:seqChar] || a.Token[seqChar+12:] == b.Token[seqChar+12:] {
		t.Error("tokens share more than their sequence")
	}
	if got, err := s.Get(ctx, a.Token); err != nil || got.Name != "a" {
		t.Fatalf("Get(a) = %+v, %v", got, err)
	}
	change := func(token string, i int) string {
		c := byte('A')
		if token[i] == 'A' {
			c = 'B'
		}
		return token[:i] + string(c) + token[i+1:]
	}
	withSeqOf := func(token, from string) string {
		return token[:seqChar] + from[seqChar:seqChar+12] + token[seqChar+12:]
	}
	for name, token := range map[string]string{
		"b with a's sequence":            withSeqOf(b.Token, a.Token),
		"a changed at the start":         change(a.Token, 0),
		"a changed at the end":           change(a.Token, len(a.Token)-2),
		"a changed next to its sequence": change(a.Token, seqChar-1),
		"a sequence past the end":        tokenWithSeq(mustRandom(t), 99),
		"a shorter token":                a.Token[:len(a.Token)-4],
	} {
		if _, err := s.Get(ctx, token); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: Get error %v, want ErrNotFound", name, err)
		}
		if code := taskCode(t, s.SendTaskHeartbeat(ctx, token)); code != callbackurls.TaskDoesNotExist {
			t.Errorf("%s: heartbeat %q, want TaskDoesNotExist", name, code)
		}
	}
	if got, _ := s.Get(ctx, a.Token); got.Heartbeats != 0 {
		t.Errorf("a got %d heartbeats from other tokens", got.Heartbeats)
	}
}

// oldLayoutTask writes a task the way the store did before records: the
// JSON under its token, and its sequence in the order bucket.
func oldLayoutTask(t *testing.T, tx *bolt.Tx, task Task) {
	t.Helper()
	tasks, err := tx.CreateBucketIfNotExists(oldTasksBucket)
	if err != nil {
		t.Fatal(err)
	}
	order, err := tx.CreateBucketIfNotExists(oldOrderBucket)
	if err != nil {
		t.Fatal(err)
	}
	seq, _ := order.NextSequence()
	v, _ := json.Marshal(task)
	var key [8]byte
	binary.BigEndian.PutUint64(key[:], seq)
	if err := tasks.Put([]byte(task.Token), v); err != nil {
		t.Fatal(err)
	}
	if err := order.Put(key[:], []byte(task.Token)); err != nil {
		t.Fatal(err)
	}
}

// TestMigrateOldLayout opens a file of the layout before: its tasks keep
// their tokens, contents and order, accept callbacks, and new tasks sort
// after them; the old buckets are gone and a second Open changes nothing.
func TestMigrateOldLayout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tasks.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	oldToken := func() string { return base64.StdEncoding.EncodeToString(mustRandom(t)) }
	old := []Task{
		{Token: oldToken(), Name: "first", Status: StatusSucceeded, Output: json.RawMessage(`{"ok":true}`), Created: created, Closed: created.Add(time.Minute)},
		{Token: oldToken(), Name: "second", Status: StatusOpen, Heartbeats: 2, Created: created.Add(time.Hour)},
		{Token: "short-token", Name: "third", Status: StatusOpen, Created: created.Add(2 * time.Hour)},
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, task := range old {
			oldLayoutTask(t, tx, task)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	want := []Task{old[2], old[1], old[0]}
	got, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, cmpTask); diff != "" {
		t.Errorf("migrated tasks (-want +got):\n%s", diff)
	}
	for _, task := range old {
		if got, err := s.Get(ctx, task.Token); err != nil || got.Name != task.Name {
			t.Errorf("Get(%s) = %+v, %v", task.Name, got, err)
		}
	}
	if err := s.SendTaskFailure(ctx, old[1].Token, "E", ""); err != nil {
		t.Errorf("completing a migrated task: %v", err)
	}
	if code := taskCode(t, s.SendTaskSuccess(ctx, old[0].Token, "1")); code != callbackurls.TaskTimedOut {
		t.Errorf("completing a migrated closed task: %q, want TaskTimedOut", code)
	}
	if err := s.SendTaskHeartbeat(ctx, old[2].Token); err != nil {
		t.Errorf("heartbeat on a migrated task: %v", err)
	}
	mustCreate(t, s, "new")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err = s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, task := range got {
		names = append(names, task.Name)
	}
	if diff := cmp.Diff([]string{"new", "third", "second", "first"}, names); diff != "" {
		t.Errorf("order after reopening (-want +got):\n%s", diff)
	}
	if got[2].Status != StatusFailed || got[1].Heartbeats != 1 {
		t.Errorf("changes to migrated tasks were lost: %+v", got[1:3])
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(oldTasksBucket) != nil || tx.Bucket(oldOrderBucket) != nil {
			return errors.New("the old buckets are still there")
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

// FuzzTokenLookup: any string finds a task only if it is that task's
// token, and never panics.
func FuzzTokenLookup(f *testing.F) {
	s, _ := openTemp(f)
	ctx := context.Background()
	a, b := mustCreate(f, s, "a"), mustCreate(f, s, "b")
	f.Add(a.Token)
	f.Add(b.Token[:seqChar] + a.Token[seqChar:seqChar+12] + b.Token[seqChar+12:])
	f.Add(a.Token[:len(a.Token)-1] + "=")
	f.Add("")
	f.Add(strings.Repeat("A", tokenChars))
	f.Fuzz(func(t *testing.T, token string) {
		got, err := s.Get(ctx, token)
		switch {
		case token == a.Token || token == b.Token:
			if err != nil || got.Token != token {
				t.Fatalf("Get of a real token: %+v, %v", got, err)
			}
		case !errors.Is(err, ErrNotFound):
			t.Fatalf("Get(%q) = %+v, %v; want ErrNotFound", token, got, err)
		}
	})
}
