// Package localstore is an embedded task store with Step Functions callback
// semantics, kept in a single bbolt file.
//
// It exists so the service runs on a laptop with no AWS account: the local
// server hands this store to the same handlers that talk to Step Functions in
// Lambda, and a developer creates tasks, opens their callback URLs and sees
// the outcome without deploying anything.
//
// Guarantees:
//   - Step Functions semantics: a task is open until its first success or
//     failure; heartbeats are counted while it is open; any call on a closed
//     task gets TaskTimedOut, an unknown token TaskDoesNotExist, a malformed
//     token InvalidToken and bad success output InvalidOutput, all as
//     *callbackurls.TargetError whose messages never quote the token.
//   - Durability: a call that changes a task returns only after its change
//     is committed and fsynced, so an acknowledged outcome survives a crash.
//   - Group commit: changes that arrive while a commit is being written
//     wait for it and then share the next write transaction and its fsync,
//     in arrival order. One caller waits for one commit, as before; many
//     callers share them, so throughput grows with concurrency instead of
//     queueing on the disk (bbolt's own DB.Batch would also add up to
//     MaxBatchDelay, 10 ms, to a lone caller).
//   - Concurrency: a task's open-to-closed check and its write are made in
//     the same transaction, after the changes queued before it, so of
//     several concurrent completions of one task exactly one wins and the
//     others get TaskTimedOut. A refusal (TaskTimedOut and the rest) is a
//     result, not a failed transaction: it never undoes its neighbours'
//     changes.
//   - Exclusivity: one process owns the file; a second Open fails quickly
//     with ErrInUse instead of hanging.
//   - Compatibility: a file of the earlier layout (tasks keyed by their
//     token) is moved to the current one when opened; its tokens keep
//     working.
package localstore

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

var _ callbackurls.Target = (*Store)(nil)

// The store's own limits. Tokens and outputs are held to Step Functions'
// limits, callbackurls.MaxTokenLength and callbackurls.MaxOutputBytes.
const (
	MaxNameLength  = 256  // characters
	MaxListedTasks = 1000 // List returns at most this many, newest first
)

// maxGroup bounds how many changes share one commit, so that one
// transaction (outputs are up to 256 KiB) stays a few megabytes at most.
const maxGroup = 128

// openTimeout bounds the wait for the file lock; another process holding it
// is a configuration mistake to report, not something to wait out.
const openTimeout = time.Second

var (
	// ErrNotFound is returned by Get for an unknown token.
	ErrNotFound = errors.New("localstore: task not found")
	// ErrInUse is returned by Open when another process has the file open.
	ErrInUse = errors.New("store is in use by another process")
	// ErrNameTooLong is returned by CreateTask for a name over MaxNameLength.
	ErrNameTooLong = errors.New("localstore: task name is too long")
)

// Status is the state of a task.
type Status string

// Task states. Only StatusOpen accepts callbacks.
const (
	StatusOpen      Status = "open"
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
)

// Task is a stored task and its outcome. Its JSON form is also the stored
// record and what the local server shows.
type Task struct {
	// Token is a task's token; CallbackID a durable callback's id (Kind
	// KindDurableCallback): one of the two is set.
	Token      string          `json:"token,omitempty"`
	CallbackID string          `json:"callback_id,omitempty"`
	Kind       Kind            `json:"kind,omitempty"`
	Name       string          `json:"name"`
	Status     Status          `json:"status"`
	Output     json.RawMessage `json:"output,omitempty"`
	Error      string          `json:"error,omitempty"`
	Cause      string          `json:"cause,omitempty"`
	Heartbeats int             `json:"heartbeats"`
	Created    time.Time       `json:"created"`
	Closed     time.Time       `json:"closed,omitzero"`
}

// The file's layout. records maps a big-endian creation sequence to the
// Task's JSON, so that new tasks are appended at the end of the tree and
// a commit of many changes to recent tasks writes few pages (a layout
// keyed by the random token wrote about three random pages per change).
// A token carries its record's sequence (see tokenWithSeq), so finding a
// task needs no index. Tasks of files made before this layout keep their
// tokens; legacyTokens maps those to their sequence.
var (
	recordsBucket      = []byte("records")
	legacyTokensBucket = []byte("legacy-tokens")
	// The layout before: token -> Task JSON, and sequence -> token.
	oldTasksBucket = []byte("tasks")
	oldOrderBucket = []byte("order")
)

// Store is a task store in one bbolt file. It is safe for concurrent use.
type Store struct {
	db *bolt.DB
	// writes feeds the committer, the one goroutine that writes. mu is
	// held shared while a change is queued and exclusively by Close, so
	// nothing is queued after writes is closed.
	writes    chan *change
	mu        sync.RWMutex
	closed    bool
	committed chan struct{} // closed when the committer has stopped
	commits   atomic.Uint64 // write transactions run, for tests
}

// change is one caller's part of a commit. apply makes it in tx and may
// run more than once (again in a later transaction when the one it ran in
// was rolled back), so it sets its results afresh on every run. An error
// from apply is a storage failure and rolls the transaction back;
// refusals are results it records and returns nil for.
type change struct {
	apply func(tx *bolt.Tx) error
	done  chan error
}

// Open opens the store at path, creating its parent directories (0700) and
// the file (0600) if missing.
func Open(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("localstore: create directory for %s: %w", path, err)
	}
	opts := *bolt.DefaultOptions
	opts.Timeout = openTimeout
	db, err := bolt.Open(path, 0o600, &opts)
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("localstore: open %s: %w", path, ErrInUse)
	}
	if err != nil {
		return nil, fmt.Errorf("localstore: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(recordsBucket); err != nil {
			return err
		}
		return migrate(tx)
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("localstore: initialise %s: %w", path, err)
	}
	s := &Store{db: db, writes: make(chan *change, maxGroup), committed: make(chan struct{})}
	go s.commitLoop()
	return s, nil
}

// Close waits for the changes already queued to be committed and releases
// the file. Changes asked for after Close fail.
func (s *Store) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.writes)
	}
	s.mu.Unlock()
	<-s.committed
	return s.db.Close()
}

// write queues apply for the next commit and returns when that commit is
// on disk (or has failed). It does not give up when the caller's context
// ends: once queued, the change may already be committed, and saying
// otherwise would be wrong.
func (s *Store) write(apply func(tx *bolt.Tx) error) error {
	c := &change{apply: apply, done: make(chan error, 1)}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return bolterrors.ErrDatabaseNotOpen
	}
	s.writes <- c
	s.mu.RUnlock()
	return <-c.done
}

// commitLoop commits the queued changes: whatever arrived while the last
// commit was being written goes into the next one. A lone change is
// committed at once, without waiting for company.
func (s *Store) commitLoop() {
	defer close(s.committed)
	group := make([]*change, 0, maxGroup)
	for c := range s.writes {
		group = append(group[:0], c)
	more:
		for len(group) < maxGroup {
			select {
			case c, ok := <-s.writes:
				if !ok {
					break more
				}
				group = append(group, c)
			default:
				break more
			}
		}
		s.commit(group)
		clear(group) // let the changes' closures go
	}
}

// commit writes a group in one transaction. If a change fails, the
// transaction (with its neighbours' changes) is rolled back, and each
// change is then committed alone, so only the failing one fails.
func (s *Store) commit(group []*change) {
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, c := range group {
			if err := safeApply(c.apply, tx); err != nil {
				return err
			}
		}
		return nil
	})
	s.commits.Add(1)
	if err == nil || len(group) == 1 {
		for _, c := range group {
			c.done <- err
		}
		return
	}
	for _, c := range group {
		c.done <- s.db.Update(func(tx *bolt.Tx) error { return safeApply(c.apply, tx) })
		s.commits.Add(1)
	}
}

// safeApply turns a panic in a change into its error: the committer
// serves every caller and must not die with one of them.
func safeApply(apply func(tx *bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in a change: %v", p)
		}
	}()
	return apply(tx)
}

// CreateTask makes a new open task with a fresh random token.
func (s *Store) CreateTask(ctx context.Context, name string) (Task, error) {
	if err := ctxErr(ctx); err != nil {
		return Task{}, err
	}
	if err := checkName(name); err != nil {
		return Task{}, err
	}
	random, err := newTokenBytes()
	if err != nil {
		return Task{}, wrap("create task", err)
	}
	now := time.Now()
	var t Task
	err = s.write(func(tx *bolt.Tx) error {
		var err error
		t, err = createTask(tx, name, random, now)
		return err
	})
	if err != nil {
		return Task{}, wrap("create task", err)
	}
	return t, nil
}

func checkName(name string) error {
	if n := utf8.RuneCountInString(name); n > MaxNameLength {
		return fmt.Errorf("%w: %d characters, at most %d allowed", ErrNameTooLong, n, MaxNameLength)
	}
	return nil
}

// createTask does CreateTask's work inside tx, so tests and benchmarks can
// make many tasks in one commit. random is the token's random bytes
// (tokenBytes long); their sequence part is overwritten.
func createTask(tx *bolt.Tx, name string, random []byte, now time.Time) (Task, error) {
	if err := checkName(name); err != nil {
		return Task{}, err
	}
	records := tx.Bucket(recordsBucket)
	seq, err := records.NextSequence()
	if err != nil {
		return Task{}, err
	}
	t := Task{Token: tokenWithSeq(random, seq), Name: name, Status: StatusOpen, Created: now.UTC()}
	key := seqKey(seq)
	if records.Get(key) != nil {
		return Task{}, fmt.Errorf("sequence %d is already taken", seq)
	}
	return t, putTask(records, key, &t)
}

// Tokens are tokenBytes random bytes in standard base64, 684 characters
// like a real token, except that the 8 bytes at seqOffset hold the
// record's sequence. In the middle, so the token's first and last
// characters (what the dashboard shows) stay random; at a multiple of 3
// bytes, so they are characters seqChar to seqChar+12 of the token.
const (
	tokenBytes = 513
	seqOffset  = 252
	seqChar    = seqOffset / 3 * 4
	tokenChars = (tokenBytes + 2) / 3 * 4
)

func newTokenBytes() ([]byte, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return b, nil
}

func tokenWithSeq(random []byte, seq uint64) string {
	binary.BigEndian.PutUint64(random[seqOffset:], seq)
	return base64.StdEncoding.EncodeToString(random)
}

// seqOfToken is the sequence a token of this store carries; any other
// string gives a sequence that finds nothing or a record of another token.
func seqOfToken(token string) (uint64, bool) { return seqAt(token, tokenChars, seqChar) }

// seqAt reads the sequence at character at of a reference of chars
// characters.
func seqAt(ref string, chars, at int) (uint64, bool) {
	if len(ref) != chars {
		return 0, false
	}
	var b [9]byte
	if n, err := base64.StdEncoding.Decode(b[:], []byte(ref[at:at+12])); err != nil || n != 9 {
		return 0, false
	}
	return binary.BigEndian.Uint64(b[:8]), true
}

func seqKey(seq uint64) []byte {
	key := make([]byte, 8)
	binary.BigEndian.PutUint64(key, seq)
	return key
}

// find returns the key and task of a reference of kind k (a token or a
// callback id), or a nil key. The candidates are the sequence the
// reference carries and, for a task of a migrated file (whose tokens have
// the same length and alphabet), its legacy entry. A reference finds only
// a task of its own kind.
func find(tx *bolt.Tx, k Kind, ref string) ([]byte, Task, error) {
	candidates := make([][]byte, 0, 2)
	if seq, ok := k.seqOf(ref); ok {
		candidates = append(candidates, seqKey(seq))
	}
	if legacy := tx.Bucket(legacyTokensBucket); legacy != nil && k == KindTask {
		if key := legacy.Get([]byte(ref)); key != nil {
			candidates = append(candidates, key)
		}
	}
	records := tx.Bucket(recordsBucket)
	for _, key := range candidates {
		v := records.Get(key)
		if v == nil {
			continue
		}
		var t Task
		if err := json.Unmarshal(v, &t); err != nil {
			return nil, Task{}, err
		}
		// The key came from the caller's reference: the record must be
		// that reference's, of its kind. Constant time: references are
		// secrets.
		if t.Kind == k && subtle.ConstantTimeCompare([]byte(t.Ref()), []byte(ref)) == 1 {
			return key, t, nil
		}
	}
	return nil, Task{}, nil
}

// migrate moves the tasks of the layout before (keyed by token) into
// records, keeping their sequence and so their order, and indexes their
// tokens in legacyTokens. It runs once, when Open finds the old buckets.
func migrate(tx *bolt.Tx) error {
	oldTasks := tx.Bucket(oldTasksBucket)
	if oldTasks == nil {
		return nil
	}
	records := tx.Bucket(recordsBucket)
	legacy, err := tx.CreateBucketIfNotExists(legacyTokensBucket)
	if err != nil {
		return err
	}
	var last uint64
	if order := tx.Bucket(oldOrderBucket); order != nil {
		last = order.Sequence()
		err := order.ForEach(func(key, token []byte) error {
			v := oldTasks.Get(token)
			if v == nil {
				return fmt.Errorf("index entry %x has no task", key)
			}
			if err := records.Put(key, v); err != nil {
				return err
			}
			return legacy.Put(token, key)
		})
		if err != nil {
			return fmt.Errorf("moving the tasks to the current layout: %w", err)
		}
		if err := tx.DeleteBucket(oldOrderBucket); err != nil {
			return err
		}
	}
	if err := records.SetSequence(max(records.Sequence(), last)); err != nil {
		return err
	}
	return tx.DeleteBucket(oldTasksBucket)
}

// Get returns the task with the given token or callback id, or
// ErrNotFound.
func (s *Store) Get(ctx context.Context, ref string) (Task, error) {
	if err := ctxErr(ctx); err != nil {
		return Task{}, err
	}
	var t Task
	err := s.db.View(func(tx *bolt.Tx) error {
		for _, k := range []Kind{KindTask, KindDurableCallback} {
			key, task, err := find(tx, k, ref)
			if err != nil || key != nil {
				t = task
				return err
			}
		}
		return ErrNotFound
	})
	if errors.Is(err, ErrNotFound) {
		return Task{}, ErrNotFound
	}
	if err != nil {
		return Task{}, wrap("get task", err)
	}
	return t, nil
}

// List returns the MaxListedTasks most recently created tasks, newest first.
func (s *Store) List(ctx context.Context) ([]Task, error) {
	return s.Newest(ctx, MaxListedTasks)
}

// Newest returns the n (at most MaxListedTasks) most recently created
// tasks, newest first.
func (s *Store) Newest(ctx context.Context, n int) ([]Task, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	n = max(0, min(n, MaxListedTasks))
	list := []Task{} // non-nil, so it encodes as [] rather than null
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(recordsBucket).Cursor()
		for k, v := c.Last(); k != nil && len(list) < n; k, v = c.Prev() {
			var t Task
			if err := json.Unmarshal(v, &t); err != nil {
				return err
			}
			list = append(list, t)
		}
		return nil
	})
	if err != nil {
		return nil, wrap("list tasks", err)
	}
	return list, nil
}

// Send sends a decision for a task token, as Step Functions takes it.
func (s *Store) Send(ctx context.Context, token string, d callbackurls.Decision) error {
	switch d.Type {
	case callbackurls.Success:
		return s.SendTaskSuccess(ctx, token, string(d.Output))
	case callbackurls.Failure:
		return s.SendTaskFailure(ctx, token, d.Error, d.Cause)
	case callbackurls.Heartbeat:
		return s.SendTaskHeartbeat(ctx, token)
	}
	return fmt.Errorf("localstore: a task takes no %q decision", d.Type)
}

// SendTaskSuccess closes an open task as succeeded with output, which must
// be JSON of at most callbackurls.MaxOutputBytes.
func (s *Store) SendTaskSuccess(ctx context.Context, token string, output string) error {
	if err := checkToken(token); err != nil {
		return err
	}
	// Checked before the write lock: bad output never costs a transaction.
	if len(output) > callbackurls.MaxOutputBytes {
		return &callbackurls.TargetError{Code: callbackurls.InvalidOutput, Refusal: callbackurls.InvalidDecision,
			Message: fmt.Sprintf("output is %d bytes; at most %d are allowed", len(output), callbackurls.MaxOutputBytes)}
	}
	// Step Functions only takes UTF-8, and json.Valid does not check it.
	if !utf8.ValidString(output) || !json.Valid([]byte(output)) {
		return &callbackurls.TargetError{Code: callbackurls.InvalidOutput, Refusal: callbackurls.InvalidDecision, Message: "output is not valid JSON"}
	}
	return s.update(ctx, KindTask, token, func(t *Task, now time.Time) error {
		if err := checkOpen(t); err != nil {
			return err
		}
		t.Status, t.Output, t.Closed = StatusSucceeded, json.RawMessage(output), now
		return nil
	})
}

// SendTaskFailure closes an open task as failed. errorCode and cause are
// stored as given.
func (s *Store) SendTaskFailure(ctx context.Context, token, errorCode, cause string) error {
	if err := checkToken(token); err != nil {
		return err
	}
	return s.update(ctx, KindTask, token, func(t *Task, now time.Time) error {
		if err := checkOpen(t); err != nil {
			return err
		}
		t.Status, t.Error, t.Cause, t.Closed = StatusFailed, errorCode, cause, now
		return nil
	})
}

// SendTaskHeartbeat counts a heartbeat on an open task.
func (s *Store) SendTaskHeartbeat(ctx context.Context, token string) error {
	if err := checkToken(token); err != nil {
		return err
	}
	return s.update(ctx, KindTask, token, func(t *Task, _ time.Time) error {
		if err := checkOpen(t); err != nil {
			return err
		}
		t.Heartbeats++
		return nil
	})
}

// update reads, changes and writes one task of kind k in a single write
// transaction, which is what makes the open check and the close atomic.
// edit refuses with a *callbackurls.TargetError and changes nothing then.
func (s *Store) update(ctx context.Context, k Kind, ref string, edit func(t *Task, now time.Time) error) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	var refusal error
	err := s.write(func(tx *bolt.Tx) error {
		refusal = nil // this may be a second run
		key, t, err := find(tx, k, ref)
		if err != nil {
			return err
		}
		if key == nil {
			refusal = k.unknown()
			return nil
		}
		if err := edit(&t, time.Now().UTC()); err != nil {
			refusal = err
			return nil
		}
		return putTask(tx.Bucket(recordsBucket), key, &t)
	})
	if err != nil {
		return wrap("update task", err)
	}
	return refusal
}

func putTask(records *bolt.Bucket, key []byte, t *Task) error {
	v, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return records.Put(key, v)
}

func checkToken(token string) error {
	if token == "" {
		return &callbackurls.TargetError{Code: callbackurls.InvalidToken, Refusal: callbackurls.InvalidRef, Message: "the token is empty"}
	}
	if n := utf8.RuneCountInString(token); n > callbackurls.MaxTokenLength {
		return &callbackurls.TargetError{Code: callbackurls.InvalidToken, Refusal: callbackurls.InvalidRef,
			Message: fmt.Sprintf("the token is %d characters; at most %d are allowed", n, callbackurls.MaxTokenLength)}
	}
	return nil
}

func checkOpen(t *Task) error {
	if t.Status != StatusOpen {
		return &callbackurls.TargetError{Code: callbackurls.TaskTimedOut, Refusal: callbackurls.Closed,
			Message: fmt.Sprintf("the task is already closed (%s)", t.Status)}
	}
	return nil
}

// ctxErr reports a cancelled or expired context as retryable, as the AWS
// adapter does for timeouts; bbolt itself takes no context.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("localstore: %w: %w", callbackurls.ErrUnavailable, err)
	}
	return nil
}

// wrap marks storage failures; they are not retryable (a broken or closed
// file stays broken), so they become 500s, not 503s.
func wrap(op string, err error) error {
	return fmt.Errorf("localstore: %s: %w", op, err)
}
