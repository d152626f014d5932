package localstore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// Kind is what a stored task stands in for: a Step Functions task waiting
// on its token (the zero value, as every task of files made before kinds),
// or a Lambda durable function's callback waiting on its id.
type Kind string

// The kinds.
const (
	KindTask            Kind = ""
	KindDurableCallback Kind = "durable_callback"
)

// Ref is the task's reference: its token or its callback id.
func (t *Task) Ref() string {
	if t.Kind == KindDurableCallback {
		return t.CallbackID
	}
	return t.Token
}

// Callback ids are callbackBytes random bytes in standard base64, 192
// characters, of which the 8 bytes at callbackSeqOffset hold the record's
// sequence (as in tokens: see tokenBytes).
const (
	callbackBytes     = 144
	callbackSeqOffset = 60
	callbackSeqChar   = callbackSeqOffset / 3 * 4
	callbackChars     = callbackBytes / 3 * 4
)

func (k Kind) seqOf(ref string) (uint64, bool) {
	if k == KindDurableCallback {
		return seqAt(ref, callbackChars, callbackSeqChar)
	}
	return seqOfToken(ref)
}

// unknown is the refusal for a reference of kind k that no task has.
func (k Kind) unknown() *callbackurls.TargetError {
	if k == KindDurableCallback {
		return &callbackurls.TargetError{Code: callbackurls.ResourceNotFoundException, Refusal: callbackurls.Unknown,
			Message: "no durable callback has this id"}
	}
	return &callbackurls.TargetError{Code: callbackurls.TaskDoesNotExist, Refusal: callbackurls.Unknown, Message: "no task has this token"}
}

// CreateCallback makes a new open durable callback with a fresh random
// id, as a durable function's createCallback does in Lambda.
func (s *Store) CreateCallback(ctx context.Context, name string) (Task, error) {
	if err := ctxErr(ctx); err != nil {
		return Task{}, err
	}
	if err := checkName(name); err != nil {
		return Task{}, err
	}
	random, err := newRandom(callbackBytes)
	if err != nil {
		return Task{}, wrap("create callback", err)
	}
	now := time.Now().UTC()
	var t Task
	err = s.write(func(tx *bolt.Tx) error {
		records := tx.Bucket(recordsBucket)
		seq, err := records.NextSequence()
		if err != nil {
			return err
		}
		binary.BigEndian.PutUint64(random[callbackSeqOffset:], seq)
		t = Task{CallbackID: base64.StdEncoding.EncodeToString(random), Kind: KindDurableCallback, Name: name,
			Status: StatusOpen, Created: now}
		key := seqKey(seq)
		if records.Get(key) != nil {
			return fmt.Errorf("sequence %d is already taken", seq)
		}
		return putTask(records, key, &t)
	})
	if err != nil {
		return Task{}, wrap("create callback", err)
	}
	return t, nil
}

// Durable is the store as the target of durable callback ids, with
// Lambda's semantics: a callback is open until its first success or
// failure; heartbeats are counted while it is open; any call on a closed
// callback gets CallbackTimeoutException, an unknown id
// ResourceNotFoundException, an id outside Lambda's pattern or a result
// over 262,144 bytes InvalidParameterValueException.
func (s *Store) Durable() callbackurls.Target { return durableTarget{s} }

type durableTarget struct{ s *Store }

// maxResultBytes is Lambda's limit on a callback's result.
const maxResultBytes = 262144

func (d durableTarget) Send(ctx context.Context, id string, dec callbackurls.Decision) error {
	if !callbackurls.DurableCallback.Spec().Valid(id) {
		return &callbackurls.TargetError{Code: callbackurls.InvalidParameterValueException, Refusal: callbackurls.InvalidRef,
			Message: "the callback id is not valid"}
	}
	var edit func(t *Task, now time.Time) error
	switch dec.Type {
	case callbackurls.Success:
		if len(dec.Output) > maxResultBytes {
			return &callbackurls.TargetError{Code: callbackurls.InvalidParameterValueException, Refusal: callbackurls.InvalidDecision,
				Message: fmt.Sprintf("the result is %d bytes; at most %d are allowed", len(dec.Output), maxResultBytes)}
		}
		// Lambda takes any bytes; this store keeps results as JSON, and
		// the service only sends JSON.
		if !utf8.Valid(dec.Output) || !json.Valid(dec.Output) {
			return &callbackurls.TargetError{Code: callbackurls.InvalidParameterValueException, Refusal: callbackurls.InvalidDecision,
				Message: "the result is not JSON"}
		}
		edit = func(t *Task, now time.Time) error {
			if err := checkCallbackOpen(t); err != nil {
				return err
			}
			t.Status, t.Output, t.Closed = StatusSucceeded, json.RawMessage(dec.Output), now
			return nil
		}
	case callbackurls.Failure:
		edit = func(t *Task, now time.Time) error {
			if err := checkCallbackOpen(t); err != nil {
				return err
			}
			t.Status, t.Error, t.Cause, t.Closed = StatusFailed, dec.Error, dec.Cause, now
			return nil
		}
	case callbackurls.Heartbeat:
		edit = func(t *Task, _ time.Time) error {
			if err := checkCallbackOpen(t); err != nil {
				return err
			}
			t.Heartbeats++
			return nil
		}
	default:
		return fmt.Errorf("localstore: a durable callback takes no %q decision", dec.Type)
	}
	return d.s.update(ctx, KindDurableCallback, id, edit)
}

func checkCallbackOpen(t *Task) error {
	if t.Status != StatusOpen {
		return &callbackurls.TargetError{Code: callbackurls.CallbackTimeoutException, Refusal: callbackurls.Closed,
			Message: fmt.Sprintf("the callback is already closed (%s)", t.Status)}
	}
	return nil
}

func newRandom(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return b, nil
}
