package localstore

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The outbox: what the local server would have sent (asks by email and
// SNS, confirmations after decisions), kept so that the dashboard can show
// them. Nothing leaves the machine.

// MaxOutbox is how many letters the outbox keeps; older ones are dropped
// as new ones come.
const MaxOutbox = 200

var outboxBucket = []byte("outbox")

// ErrNoLetter is returned by Letter for an id the outbox does not have.
var ErrNoLetter = errors.New("localstore: no such letter in the outbox")

// Letter is one message in the outbox.
type Letter struct {
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
	// Kind is "ask" or "confirmation"; Channel is "email", "sns" or
	// "chat" (an ask's Teams and Slack messages, which no channel sends).
	Kind          string          `json:"kind"`
	Channel       string          `json:"channel"`
	TransactionID string          `json:"transaction_id,omitempty"`
	From          string          `json:"from,omitempty"`
	To            []string        `json:"to,omitempty"`
	CC            []string        `json:"cc,omitempty"`
	ReplyTo       string          `json:"reply_to,omitempty"`
	Topic         string          `json:"topic_arn,omitempty"`
	Subject       string          `json:"subject,omitempty"`
	Text          string          `json:"text,omitempty"`
	HTML          string          `json:"html,omitempty"`
	Teams         json.RawMessage `json:"teams,omitempty"`
	Slack         json.RawMessage `json:"slack,omitempty"`
}

// AddLetter puts l in the outbox with a new id (returned) and the time
// now, dropping the oldest letters beyond MaxOutbox.
func (s *Store) AddLetter(ctx context.Context, l Letter) (string, error) {
	if err := ctxErr(ctx); err != nil {
		return "", err
	}
	now := time.Now().UTC()
	var id string
	err := s.write(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(outboxBucket)
		if err != nil {
			return err
		}
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		l.ID, l.Time = strconv.FormatUint(seq, 10), now
		v, err := json.Marshal(&l)
		if err != nil {
			return err
		}
		if err := b.Put(seqKey(seq), v); err != nil {
			return err
		}
		id = l.ID
		// Drop the oldest beyond the bound (one at a time: letters come
		// one by one).
		for b.Stats().KeyN > MaxOutbox {
			k, _ := b.Cursor().First()
			if k == nil {
				break
			}
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", wrap("add letter", err)
	}
	return id, nil
}

// Outbox returns the n newest letters (at most MaxOutbox), newest first.
func (s *Store) Outbox(ctx context.Context, n int) ([]Letter, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	n = max(0, min(n, MaxOutbox))
	list := []Letter{}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(outboxBucket)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil && len(list) < n; k, v = c.Prev() {
			var l Letter
			if err := json.Unmarshal(v, &l); err != nil {
				return err
			}
			list = append(list, l)
		}
		return nil
	})
	if err != nil {
		return nil, wrap("list the outbox", err)
	}
	return list, nil
}

// Letter returns the letter with id, or ErrNoLetter.
func (s *Store) Letter(ctx context.Context, id string) (Letter, error) {
	if err := ctxErr(ctx); err != nil {
		return Letter{}, err
	}
	seq, err := strconv.ParseUint(id, 10, 64)
	if err != nil || strconv.FormatUint(seq, 10) != id {
		return Letter{}, ErrNoLetter
	}
	var l Letter
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(outboxBucket)
		if b == nil {
			return ErrNoLetter
		}
		v := b.Get(seqKey(seq))
		if v == nil {
			return ErrNoLetter
		}
		return json.Unmarshal(v, &l)
	})
	if errors.Is(err, ErrNoLetter) {
		return Letter{}, ErrNoLetter
	}
	if err != nil {
		return Letter{}, wrap("read letter", err)
	}
	return l, nil
}
