// Package kmskeys is envelope encryption with AWS KMS for the payload codec:
// a payload.KeySource whose keys are KMS data keys.
//
// Creating URLs: one GenerateDataKey call yields a 256-bit data key and its
// 184-byte KMS-encrypted form. Payloads are sealed with the data key and
// carry the encrypted form in their header. The data key is cached and
// reused for a bounded time and number of URLs (Options.DataKeyMaxAge,
// Options.DataKeyMaxUses), as the AWS Encryption SDK's caching materials
// manager does, so a warm function makes no KMS call at all.
//
// Opening URLs: the encrypted data key is sent to KMS Decrypt, pinned to the
// configured key, and the result is kept in an LRU cache keyed by the
// encrypted form (bounded by Options.CacheSize and Options.CacheMaxAge), so
// a warm function makes no KMS call for URLs made with a data key it has
// seen. Concurrent misses for one encrypted key share a single call.
//
// Every call carries the encryption context {"service": "sfn-callback-urls"}
// (EncryptionContext), which KMS binds to the data key: key policies and
// CloudTrail can tell this service's calls apart, and a data key made for
// another purpose does not decrypt here.
//
// Errors (see errors.go) follow the service's contract: a deployment problem
// while creating URLs (access denied, disabled or missing key) is an
// Internal (500) EncryptionFailed naming the permission or key state; an
// encrypted key KMS will not decrypt is a BadInput (400) InvalidPayload;
// throttling and outages are Unavailable (503) and wrap
// callbackurls.ErrUnavailable.
//
// New takes any client implementing API (tests pass the kmstest stand-in's);
// NewFromAWSConfig builds the SDK client from a loaded configuration.
package kmskeys

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/awserr"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/lru"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// The encryption context of every KMS call, as the SAM template's key
// policy conditions expect it (kms:EncryptionContext:service).
const (
	ContextKey   = "service"
	ContextValue = "sfn-callback-urls"
)

// EncryptionContext returns a fresh copy of the encryption context.
func EncryptionContext() map[string]string {
	return map[string]string{ContextKey: ContextValue}
}

// DataKeySize is the data key length: AES-256.
const DataKeySize = 32

// Defaults of Options.
const (
	DefaultDataKeyMaxAge  = 5 * time.Minute
	DefaultDataKeyMaxUses = 10000
	DefaultCacheSize      = 1000
	DefaultCacheMaxAge    = time.Hour
)

// API is the part of the KMS API used here; *kms.Client implements it.
type API interface {
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

var _ API = (*kms.Client)(nil)

// Options configure a Source. Zero values take the defaults.
type Options struct {
	// KeyID names the KMS key: key ARN, key id, alias name (alias/...) or
	// alias ARN. Required.
	KeyID string
	// DataKeyMaxAge and DataKeyMaxUses bound the reuse of one data key for
	// new URLs: after either, the next URL gets a new data key. A negative
	// DataKeyMaxUses or DataKeyMaxAge disables reuse (one call per URL).
	DataKeyMaxAge  time.Duration
	DataKeyMaxUses int
	// CacheSize and CacheMaxAge bound the cache of decrypted data keys
	// used to open URLs. A negative CacheSize disables it.
	CacheSize   int
	CacheMaxAge time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Source is a payload.KeySource backed by KMS. It is safe for concurrent
// use.
type Source struct {
	kms  operations
	opts Options

	mu      sync.Mutex
	current *dataKey    // the data key new URLs are sealed with
	pending *createCall // the GenerateDataKey in flight, if any
	// cache holds decrypted data keys by encrypted form; used under mu.
	cache   *lru.Cache[string, cipher.AEAD]
	flights map[string]*decryptCall
}

var _ payload.KeySource = (*Source)(nil)

// operations are the KMS operations a Source calls, as method values.
// Holding the client itself would keep every KMS operation in a binary
// that also links text/template: its reflection keeps all exported
// methods of every type reachable from an interface (about 1 MB here).
type operations struct {
	generateDataKey func(context.Context, *kms.GenerateDataKeyInput, ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	decrypt         func(context.Context, *kms.DecryptInput, ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// New returns a Source using api (usually a *kms.Client).
func New(api API, opts Options) (*Source, error) {
	if api == nil {
		return nil, errors.New("kmskeys: no KMS client")
	}
	return newSource(operations{generateDataKey: api.GenerateDataKey, decrypt: api.Decrypt}, opts)
}

func newSource(ops operations, opts Options) (*Source, error) {
	if opts.KeyID == "" {
		return nil, errors.New("kmskeys: no KMS key id")
	}
	if opts.DataKeyMaxAge == 0 {
		opts.DataKeyMaxAge = DefaultDataKeyMaxAge
	}
	if opts.DataKeyMaxUses == 0 {
		opts.DataKeyMaxUses = DefaultDataKeyMaxUses
	}
	if opts.CacheSize == 0 {
		opts.CacheSize = DefaultCacheSize
	}
	if opts.CacheMaxAge == 0 {
		opts.CacheMaxAge = DefaultCacheMaxAge
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Source{
		kms:  ops,
		opts: opts,
		// An entry is dropped past CacheMaxAge, so that a key KMS no
		// longer honours (disabled, deleted) stops working here too.
		cache:   lru.New[string, cipher.AEAD](opts.CacheSize, lru.MaxAge(opts.CacheMaxAge, opts.Now)),
		flights: make(map[string]*decryptCall),
	}, nil
}

// NewFromAWSConfig returns a Source on a KMS client built from cfg (the
// SDK's loaded configuration: credentials, AWS_ENDPOINT_URL_KMS and the
// rest apply). A key ARN's own region wins over cfg's, since KMS only
// answers for a key in its region.
func NewFromAWSConfig(cfg aws.Config, opts Options) (*Source, error) {
	if region := arnRegion(opts.KeyID); region != "" {
		// On a copy, so that everything the SDK derives from the region
		// (its "auto" defaults mode too) follows the key's.
		cfg = cfg.Copy()
		cfg.Region = region
	}
	client := kms.NewFromConfig(cfg)
	return newSource(operations{generateDataKey: client.GenerateDataKey, decrypt: client.Decrypt}, opts)
}

// arnRegion is the region of an ARN ("arn:aws:kms:eu-west-1:..."), or "".
func arnRegion(s string) string {
	parts := strings.SplitN(s, ":", 5)
	if len(parts) == 5 && parts[0] == "arn" {
		return parts[3]
	}
	return ""
}

// dataKey is a data key ready to seal with.
type dataKey struct {
	blob    []byte
	aead    cipher.AEAD
	created time.Time
	uses    int
}

type createCall struct {
	done chan struct{}
	err  error
}

// EncryptionKey implements payload.KeySource: the cached data key while it
// is young and unspent, else a new one from a single GenerateDataKey call
// shared by every caller waiting for it.
func (s *Source) EncryptionKey(ctx context.Context) (byte, []byte, cipher.AEAD, error) {
	for {
		s.mu.Lock()
		if k := s.current; k != nil && s.usable(k) {
			k.uses++
			s.mu.Unlock()
			return payload.ModeKMS, k.blob, k.aead, nil
		}
		if c := s.pending; c != nil {
			s.mu.Unlock()
			select {
			case <-c.done:
			case <-ctx.Done():
				return 0, nil, nil, unavailable("GenerateDataKey", ctx.Err())
			}
			// The leader's own deadline is not ours: try again then.
			if c.err != nil && !(awserr.IsContextErr(c.err) && ctx.Err() == nil) {
				return 0, nil, nil, c.err
			}
			continue
		}
		c := &createCall{done: make(chan struct{})}
		s.pending = c
		s.mu.Unlock()

		k, err := s.generate(ctx)

		s.mu.Lock()
		s.pending = nil
		c.err = err
		if err == nil {
			s.current = k
		}
		s.mu.Unlock()
		close(c.done)
		if err != nil {
			return 0, nil, nil, err
		}
		// Loop to take a use under the lock like everyone else: a burst of
		// waiters may already have spent a small DataKeyMaxUses.
	}
}

func (s *Source) usable(k *dataKey) bool {
	if s.opts.DataKeyMaxUses < 0 || s.opts.DataKeyMaxAge < 0 {
		return k.uses == 0 // fresh from generate, for exactly one URL
	}
	return k.uses < s.opts.DataKeyMaxUses && s.opts.Now().Sub(k.created) < s.opts.DataKeyMaxAge
}

func (s *Source) generate(ctx context.Context) (*dataKey, error) {
	out, err := s.kms.generateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId:             aws.String(s.opts.KeyID),
		KeySpec:           types.DataKeySpecAes256,
		EncryptionContext: EncryptionContext(),
	})
	if err != nil {
		return nil, createError(s.opts.KeyID, err)
	}
	defer clear(out.Plaintext)
	if len(out.Plaintext) != DataKeySize || len(out.CiphertextBlob) == 0 || len(out.CiphertextBlob) > payload.MaxKeyRef {
		return nil, createError(s.opts.KeyID, fmt.Errorf("GenerateDataKey returned a %d-byte key and a %d-byte encrypted key",
			len(out.Plaintext), len(out.CiphertextBlob)))
	}
	aead, err := newAEAD(out.Plaintext)
	if err != nil {
		return nil, createError(s.opts.KeyID, err)
	}
	now := s.opts.Now()
	blob := clone(out.CiphertextBlob)
	// A server that also opens URLs (the local one) need not ask KMS for
	// a key it made itself.
	s.mu.Lock()
	s.cache.Add(string(blob), aead)
	s.mu.Unlock()
	return &dataKey{blob: blob, aead: aead, created: now}, nil
}

type decryptCall struct {
	done chan struct{}
	aead cipher.AEAD
	err  error
}

// DecryptionKey implements payload.KeySource: the data key named by an
// encrypted key from the cache, else from one KMS Decrypt call shared by
// every caller asking for the same encrypted key.
func (s *Source) DecryptionKey(ctx context.Context, mode byte, ref []byte) (cipher.AEAD, error) {
	if mode != payload.ModeKMS {
		return nil, invalidPayload("the URL was encrypted with a static key but this deployment uses KMS")
	}
	key := string(ref)
	for {
		s.mu.Lock()
		if aead, ok := s.cache.Get(key); ok {
			s.mu.Unlock()
			return aead, nil
		}
		if c := s.flights[key]; c != nil {
			s.mu.Unlock()
			select {
			case <-c.done:
			case <-ctx.Done():
				return nil, unavailable("Decrypt", ctx.Err())
			}
			if c.err != nil && awserr.IsContextErr(c.err) && ctx.Err() == nil {
				continue
			}
			return c.aead, c.err
		}
		c := &decryptCall{done: make(chan struct{})}
		s.flights[key] = c
		s.mu.Unlock()

		c.aead, c.err = s.decrypt(ctx, ref)

		s.mu.Lock()
		delete(s.flights, key)
		if c.err == nil {
			s.cache.Add(key, c.aead)
		}
		s.mu.Unlock()
		close(c.done)
		return c.aead, c.err
	}
}

func (s *Source) decrypt(ctx context.Context, blob []byte) (cipher.AEAD, error) {
	out, err := s.kms.decrypt(ctx, &kms.DecryptInput{
		CiphertextBlob: blob,
		// Pinning the key makes KMS refuse data keys of any other key
		// rather than use whatever key the blob names.
		KeyId:             aws.String(s.opts.KeyID),
		EncryptionContext: EncryptionContext(),
	})
	if err != nil {
		return nil, openError(err)
	}
	defer clear(out.Plaintext)
	if len(out.Plaintext) != DataKeySize {
		return nil, invalidPayload("the URL's encrypted data key is not a data key of this service")
	}
	return newAEAD(out.Plaintext)
}

// newAEAD builds AES-256-GCM from key. The caller clears key afterwards:
// the cipher keeps only its own expanded copy, which Go offers no way to
// wipe, so the raw key bytes are not kept anywhere.
func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }
