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
//     *callbackurls.TaskError whose messages never quote the token.
//   - Durability: every state change is one bbolt write transaction, which is
//     fsynced on commit, so an answered callback survives a crash.
//   - Concurrency: the open-to-closed check and write happen inside the same
//     write transaction, so of several concurrent completions of one task
//     exactly one wins and the others get TaskTimedOut.
//   - Exclusivity: one process owns the file; a second Open fails quickly
//     with ErrInUse instead of hanging.
package localstore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

var _ callbackurls.StepFunctions = (*Store)(nil)

// The store's own limits. Tokens and outputs are held to Step Functions'
// limits, callbackurls.MaxTokenLength and callbackurls.MaxOutputBytes.
const (
	MaxNameLength   = 256  // characters
	MaxListedTasks  = 1000 // List returns at most this many, newest first
	tokenRandomSize = 513  // base64 of 513 bytes is 684 characters, like a real token
)

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
	Token      string          `json:"token"`
	Name       string          `json:"name"`
	Status     Status          `json:"status"`
	Output     json.RawMessage `json:"output,omitempty"`
	Error      string          `json:"error,omitempty"`
	Cause      string          `json:"cause,omitempty"`
	Heartbeats int             `json:"heartbeats"`
	Created    time.Time       `json:"created"`
	Closed     time.Time       `json:"closed,omitzero"`
}

// Bucket names. tasks maps token -> Task JSON; order maps a big-endian
// creation sequence -> token, so List walks newest first without sorting.
var (
	tasksBucket = []byte("tasks")
	orderBucket = []byte("order")
)

// Store is a task store in one bbolt file. It is safe for concurrent use.
type Store struct {
	db *bolt.DB
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
		for _, name := range [][]byte{tasksBucket, orderBucket} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("localstore: initialise %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close releases the file.
func (s *Store) Close() error { return s.db.Close() }

// CreateTask makes a new open task with a fresh random token.
func (s *Store) CreateTask(ctx context.Context, name string) (Task, error) {
	if err := ctxErr(ctx); err != nil {
		return Task{}, err
	}
	var t Task
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		t, err = createTask(tx, name, time.Now())
		return err
	})
	if errors.Is(err, ErrNameTooLong) {
		return Task{}, err
	}
	if err != nil {
		return Task{}, wrap("create task", err)
	}
	return t, nil
}

// createTask does CreateTask's work inside tx, so tests and benchmarks can
// make many tasks in one commit.
func createTask(tx *bolt.Tx, name string, now time.Time) (Task, error) {
	if n := utf8.RuneCountInString(name); n > MaxNameLength {
		return Task{}, fmt.Errorf("%w: %d characters, at most %d allowed", ErrNameTooLong, n, MaxNameLength)
	}
	token, err := newToken()
	if err != nil {
		return Task{}, err
	}
	tasks, order := tx.Bucket(tasksBucket), tx.Bucket(orderBucket)
	if tasks.Get([]byte(token)) != nil {
		// 4104 random bits never collide; if they do, the RNG is broken.
		return Task{}, errors.New("random token collided with an existing one")
	}
	seq, err := order.NextSequence()
	if err != nil {
		return Task{}, err
	}
	t := Task{Token: token, Name: name, Status: StatusOpen, Created: now.UTC()}
	if err := putTask(tasks, &t); err != nil {
		return Task{}, err
	}
	var key [8]byte
	binary.BigEndian.PutUint64(key[:], seq)
	if err := order.Put(key[:], []byte(token)); err != nil {
		return Task{}, err
	}
	return t, nil
}

func newToken() (string, error) {
	b := make([]byte, tokenRandomSize)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// Get returns the task with the given token, or ErrNotFound.
func (s *Store) Get(ctx context.Context, token string) (Task, error) {
	if err := ctxErr(ctx); err != nil {
		return Task{}, err
	}
	var t Task
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(tasksBucket).Get([]byte(token))
		if v == nil {
			return ErrNotFound
		}
		return json.Unmarshal(v, &t)
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
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	list := []Task{} // non-nil, so it encodes as [] rather than null
	err := s.db.View(func(tx *bolt.Tx) error {
		tasks := tx.Bucket(tasksBucket)
		c := tx.Bucket(orderBucket).Cursor()
		for k, token := c.Last(); k != nil && len(list) < MaxListedTasks; k, token = c.Prev() {
			v := tasks.Get(token)
			if v == nil {
				return fmt.Errorf("index entry %x has no task", k)
			}
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

// SendTaskSuccess closes an open task as succeeded with output, which must
// be JSON of at most callbackurls.MaxOutputBytes.
func (s *Store) SendTaskSuccess(ctx context.Context, token string, output string) error {
	if err := checkToken(token); err != nil {
		return err
	}
	// Checked before the write lock: bad output never costs a transaction.
	if len(output) > callbackurls.MaxOutputBytes {
		return &callbackurls.TaskError{Code: callbackurls.InvalidOutput,
			Message: fmt.Sprintf("output is %d bytes; at most %d are allowed", len(output), callbackurls.MaxOutputBytes)}
	}
	// Step Functions only takes UTF-8, and json.Valid does not check it.
	if !utf8.ValidString(output) || !json.Valid([]byte(output)) {
		return &callbackurls.TaskError{Code: callbackurls.InvalidOutput, Message: "output is not valid JSON"}
	}
	return s.update(ctx, token, func(t *Task, now time.Time) error {
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
	return s.update(ctx, token, func(t *Task, now time.Time) error {
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
	return s.update(ctx, token, func(t *Task, _ time.Time) error {
		if err := checkOpen(t); err != nil {
			return err
		}
		t.Heartbeats++
		return nil
	})
}

// update reads, changes and writes one task in a single write transaction,
// which is what makes the open check and the close atomic.
func (s *Store) update(ctx context.Context, token string, change func(t *Task, now time.Time) error) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		tasks := tx.Bucket(tasksBucket)
		v := tasks.Get([]byte(token))
		if v == nil {
			return &callbackurls.TaskError{Code: callbackurls.TaskDoesNotExist, Message: "no task has this token"}
		}
		var t Task
		if err := json.Unmarshal(v, &t); err != nil {
			return err
		}
		if err := change(&t, time.Now().UTC()); err != nil {
			return err
		}
		return putTask(tasks, &t)
	})
	var te *callbackurls.TaskError
	if errors.As(err, &te) {
		return te
	}
	if err != nil {
		return wrap("update task", err)
	}
	return nil
}

func putTask(tasks *bolt.Bucket, t *Task) error {
	v, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return tasks.Put([]byte(t.Token), v)
}

func checkToken(token string) error {
	if token == "" {
		return &callbackurls.TaskError{Code: callbackurls.InvalidToken, Message: "the token is empty"}
	}
	if n := utf8.RuneCountInString(token); n > callbackurls.MaxTokenLength {
		return &callbackurls.TaskError{Code: callbackurls.InvalidToken,
			Message: fmt.Sprintf("the token is %d characters; at most %d are allowed", n, callbackurls.MaxTokenLength)}
	}
	return nil
}

func checkOpen(t *Task) error {
	if t.Status != StatusOpen {
		return &callbackurls.TaskError{Code: callbackurls.TaskTimedOut,
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
