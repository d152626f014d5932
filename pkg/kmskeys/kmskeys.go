// Package kmskeys roots the payload codec's keys in AWS KMS: a
// payload.KeySource whose AES-256 data keys come from a KMS key, in one of
// two modes chosen by the key's own type (one DescribeKey at start):
//
//   - Envelope mode, a symmetric encryption key (SYMMETRIC_DEFAULT,
//     ENCRYPT_DECRYPT): GenerateDataKey yields a data key and its 184-byte
//     KMS-encrypted form, which every URL carries (header mode 2). A
//     callback sends that blob to Decrypt, pinned to the key.
//   - HMAC mode, an HMAC key (HMAC_256, GENERATE_VERIFY_MAC): the data key
//     is GenerateMac(HMAC_SHA_256) over a fixed label, a version and a
//     random 96-bit identifier, and a URL carries only a 4-byte tag of the
//     key and the identifier (header mode 3, docs/FORMAT.md). A callback
//     derives the same key with the same call.
//
// Creating URLs: a data key is reused for a bounded time and number of
// URLs (Options.DataKeyMaxAge, Options.DataKeyMaxUses), as the AWS
// Encryption SDK's caching materials manager does, so a warm function
// makes no KMS call at all. Concurrent callers share one call.
//
// Opening URLs: data keys are kept in an LRU cache keyed by the URL's key
// reference (bounded by Options.CacheSize and Options.CacheMaxAge), so a
// warm function makes no KMS call for URLs of a data key it has seen.
// Concurrent misses for one reference share a single call, and the calls
// for references not in the cache are bounded by a token bucket per
// Source (Options.ColdCallsPerSecond, Options.ColdCallsBurst): beyond it a
// callback is told to come back later (503) rather than spend KMS calls
// on whatever an anonymous caller sends.
//
// Migration: Options.PreviousKeyIDs are keys of either kind used only to
// open URLs, so that a deployment moving to a new key keeps accepting its
// old key's URLs.
//
// Every data-key call carries the encryption context {"service":
// "sfn-callback-urls"} (EncryptionContext), which KMS binds to the data
// key. GenerateMac takes no context: the label in its message keeps its
// MACs apart from any other use of the key (see docs/SECURITY.md).
//
// Errors (see errors.go) follow the service's contract: a deployment
// problem while creating URLs (access denied, disabled or missing key) is
// an Internal (500) EncryptionFailed naming the permission or key state; a
// reference KMS will not accept is a BadInput (400) InvalidPayload;
// throttling and outages are Unavailable (503) and wrap
// callbackurls.ErrUnavailable.
//
// New takes any client implementing API (tests pass the kmstest
// stand-in's); NewFromAWSConfig builds the SDK clients from a loaded
// configuration.
package kmskeys

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/awserr"
	"github.com/sfncallbackurls/sfn-callback-urls/internal/lru"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/payload"
)

// The encryption context of every data-key call, as the SAM template's key
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
	DefaultDataKeyMaxAge      = 5 * time.Minute
	DefaultDataKeyMaxUses     = 10000
	DefaultCacheSize          = 1000
	DefaultCacheMaxAge        = time.Hour
	DefaultColdCallsPerSecond = 10
	DefaultColdCallsBurst     = 20
)

// API is the part of the KMS API used here; *kms.Client implements it.
type API interface {
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
	GenerateMac(ctx context.Context, in *kms.GenerateMacInput, optFns ...func(*kms.Options)) (*kms.GenerateMacOutput, error)
	DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, optFns ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
}

var _ API = (*kms.Client)(nil)

// Options configure a Source. Zero values take the defaults.
type Options struct {
	// KeyID names the KMS key new URLs are made with: key ARN, key id,
	// alias name (alias/...) or alias ARN. Required. Its type chooses the
	// mode.
	KeyID string
	// PreviousKeyIDs name keys, of either kind, whose URLs are still
	// opened but with which no URL is made.
	PreviousKeyIDs []string
	// DataKeyMaxAge and DataKeyMaxUses bound the reuse of one data key for
	// new URLs: after either, the next URL gets a new data key. A negative
	// DataKeyMaxUses or DataKeyMaxAge disables reuse (one call per URL).
	DataKeyMaxAge  time.Duration
	DataKeyMaxUses int
	// CacheSize and CacheMaxAge bound the cache of data keys used to open
	// URLs. A negative CacheSize disables it.
	CacheSize   int
	CacheMaxAge time.Duration
	// ColdCallsPerSecond and ColdCallsBurst bound the KMS calls made to
	// open URLs whose data key is not cached (a token bucket). A negative
	// ColdCallsPerSecond removes the bound.
	ColdCallsPerSecond float64
	ColdCallsBurst     int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Source is a payload.KeySource backed by KMS. It is safe for concurrent
// use.
type Source struct {
	opts    Options
	current *key
	// envelope are the keys that open mode 2 URLs, in the order tried;
	// byTag the HMAC keys by tag.
	envelope []*key
	byTag    map[keyTag]*key
	cold     *bucket

	mu      sync.Mutex
	dataKey *dataKey    // the data key new URLs are sealed with
	pending *createCall // the call for a new one in flight, if any
	// cache holds data keys by mode and key reference; used under mu.
	cache   *lru.Cache[string, cipher.AEAD]
	flights map[string]*openCall
}

var _ payload.KeySource = (*Source)(nil)

// operations are the KMS operations a Source calls, as method values.
// Holding the client itself would keep every KMS operation in a binary
// that also links text/template: its reflection keeps all exported
// methods of every type reachable from an interface (about 1 MB here).
type operations struct {
	generateDataKey func(context.Context, *kms.GenerateDataKeyInput, ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	decrypt         func(context.Context, *kms.DecryptInput, ...func(*kms.Options)) (*kms.DecryptOutput, error)
	generateMac     func(context.Context, *kms.GenerateMacInput, ...func(*kms.Options)) (*kms.GenerateMacOutput, error)
	describeKey     func(context.Context, *kms.DescribeKeyInput, ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
}

// New describes the keys opts names with api (usually a *kms.Client) and
// returns a Source using them.
func New(ctx context.Context, api API, opts Options) (*Source, error) {
	if api == nil {
		return nil, errors.New("kmskeys: no KMS client")
	}
	ops := &operations{generateDataKey: api.GenerateDataKey, decrypt: api.Decrypt, generateMac: api.GenerateMac, describeKey: api.DescribeKey}
	return newSource(ctx, func(string) *operations { return ops }, opts)
}

// NewFromAWSConfig returns a Source on KMS clients built from cfg (the
// SDK's loaded configuration: credentials, AWS_ENDPOINT_URL_KMS and the
// rest apply). A key ARN's own region wins over cfg's, since KMS only
// answers for a key in its region: keys of several regions get a client
// each.
func NewFromAWSConfig(ctx context.Context, cfg aws.Config, opts Options) (*Source, error) {
	clients := map[string]*operations{}
	opsFor := func(keyID string) *operations {
		region := arnRegion(keyID)
		if ops := clients[region]; ops != nil {
			return ops
		}
		c := cfg
		if region != "" {
			// On a copy, so that everything the SDK derives from the
			// region (its "auto" defaults mode too) follows the key's.
			c = cfg.Copy()
			c.Region = region
		}
		client := kms.NewFromConfig(c)
		ops := &operations{generateDataKey: client.GenerateDataKey, decrypt: client.Decrypt, generateMac: client.GenerateMac, describeKey: client.DescribeKey}
		clients[region] = ops
		return ops
	}
	return newSource(ctx, opsFor, opts)
}

func newSource(ctx context.Context, opsFor func(keyID string) *operations, opts Options) (*Source, error) {
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
	if opts.ColdCallsPerSecond == 0 {
		opts.ColdCallsPerSecond = DefaultColdCallsPerSecond
	}
	if opts.ColdCallsBurst <= 0 {
		opts.ColdCallsBurst = DefaultColdCallsBurst
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	keys, err := describeAll(ctx, opsFor, opts.KeyID, opts.PreviousKeyIDs)
	if err != nil {
		return nil, err
	}
	s := &Source{
		opts:    opts,
		current: keys[0],
		byTag:   map[keyTag]*key{},
		cold:    newBucket(opts.ColdCallsPerSecond, opts.ColdCallsBurst, opts.Now),
		// An entry is dropped past CacheMaxAge, so that a key KMS no
		// longer honours (disabled, deleted) stops working here too.
		cache:   lru.New[string, cipher.AEAD](opts.CacheSize, lru.MaxAge(opts.CacheMaxAge, opts.Now)),
		flights: make(map[string]*openCall),
	}
	for _, k := range keys {
		switch k.kind {
		case Envelope:
			s.envelope = append(s.envelope, k)
		case HMAC:
			if other := s.byTag[k.tag]; other != nil {
				return nil, errTagCollision(other, k)
			}
			s.byTag[k.tag] = k
		}
	}
	return s, nil
}

// Kind is the mode of the key new URLs are made with.
func (s *Source) Kind() Kind { return s.current.kind }

// KeyARN is the ARN of the key new URLs are made with, as DescribeKey
// resolved KEY_ID at start.
func (s *Source) KeyARN() string { return s.current.arn }

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
	mode    byte
	ref     []byte
	aead    cipher.AEAD
	created time.Time
	uses    int
}

type createCall struct {
	done chan struct{}
	err  error
}

// EncryptionKey implements payload.KeySource: the cached data key while it
// is young and unspent, else a new one from a single KMS call shared by
// every caller waiting for it.
func (s *Source) EncryptionKey(ctx context.Context) (byte, []byte, cipher.AEAD, error) {
	for {
		s.mu.Lock()
		if k := s.dataKey; k != nil && s.usable(k) {
			k.uses++
			s.mu.Unlock()
			return k.mode, k.ref, k.aead, nil
		}
		if c := s.pending; c != nil {
			s.mu.Unlock()
			select {
			case <-c.done:
			case <-ctx.Done():
				return 0, nil, nil, unavailable(s.current.createOp(), ctx.Err())
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

		k, err := s.newDataKey(ctx)

		s.mu.Lock()
		s.pending = nil
		c.err = err
		if err == nil {
			s.dataKey = k
			// A server that also opens URLs (the local one) need not ask
			// KMS for a key it made itself.
			s.cache.Add(cacheKey(k.mode, k.ref), k.aead)
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
		return k.uses == 0 // fresh from newDataKey, for exactly one URL
	}
	return k.uses < s.opts.DataKeyMaxUses && s.opts.Now().Sub(k.created) < s.opts.DataKeyMaxAge
}

func (s *Source) newDataKey(ctx context.Context) (*dataKey, error) {
	var (
		k   = &dataKey{created: s.opts.Now()}
		err error
	)
	switch s.current.kind {
	case HMAC:
		k.mode = payload.ModeKMSHMAC
		k.ref, k.aead, err = s.current.newDerivedKey(ctx)
	default:
		k.mode = payload.ModeKMS
		k.ref, k.aead, err = s.current.generateDataKey(ctx)
	}
	if err != nil {
		return nil, err
	}
	return k, nil
}

type openCall struct {
	done chan struct{}
	aead cipher.AEAD
	err  error
}

// DecryptionKey implements payload.KeySource: the data key a header names,
// from the cache, else from KMS: Decrypt for an encrypted data key (mode
// 2), GenerateMac for a derived one (mode 3). A reference naming no key of
// this deployment is refused without calling KMS.
func (s *Source) DecryptionKey(ctx context.Context, mode byte, ref []byte) (cipher.AEAD, error) {
	var fetch func(context.Context) (cipher.AEAD, error)
	switch mode {
	case payload.ModeKMS:
		if len(s.envelope) == 0 {
			return nil, invalidPayload("the URL was made with a KMS data key, which this deployment's keys do not open")
		}
		fetch = func(ctx context.Context) (cipher.AEAD, error) { return s.decryptWithAny(ctx, ref) }
	case payload.ModeKMSHMAC:
		if len(ref) != payload.HMACKeyRefSize {
			return nil, invalidPayload("the URL's key reference is damaged")
		}
		k := s.byTag[keyTag(ref[:tagSize])]
		if k == nil {
			return nil, invalidPayload("the URL was made with a KMS key this deployment does not use")
		}
		fetch = func(ctx context.Context) (cipher.AEAD, error) { return k.deriveKey(ctx, ref[tagSize:]) }
	default:
		return nil, invalidPayload("the URL was encrypted with a static key but this deployment uses KMS")
	}
	return s.open(ctx, cacheKey(mode, ref), fetch)
}

// open is the cache, the single flight and the bound on cold calls that
// every mode shares: the data key under name from the cache, else from
// one call of fetch shared by every caller asking for the same name. Only
// the caller that makes the call spends a token of the bucket.
func (s *Source) open(ctx context.Context, name string, fetch func(context.Context) (cipher.AEAD, error)) (cipher.AEAD, error) {
	for {
		s.mu.Lock()
		if aead, ok := s.cache.Get(name); ok {
			s.mu.Unlock()
			return aead, nil
		}
		if c := s.flights[name]; c != nil {
			s.mu.Unlock()
			select {
			case <-c.done:
			case <-ctx.Done():
				return nil, unavailable("opening a URL", ctx.Err())
			}
			if c.err != nil && awserr.IsContextErr(c.err) && ctx.Err() == nil {
				continue
			}
			return c.aead, c.err
		}
		if !s.cold.take() {
			s.mu.Unlock()
			return nil, s.cold.refusal()
		}
		c := &openCall{done: make(chan struct{})}
		s.flights[name] = c
		s.mu.Unlock()

		c.aead, c.err = fetch(ctx)

		s.mu.Lock()
		delete(s.flights, name)
		if c.err == nil {
			s.cache.Add(name, c.aead)
		}
		s.mu.Unlock()
		close(c.done)
		return c.aead, c.err
	}
}

// decryptWithAny opens an encrypted data key with the envelope keys in
// order. KMS reads the blob's key from the blob, so a key after the first
// is asked only when the one before answers IncorrectKeyException (the
// blob is a real ciphertext of another key), and each such call spends a
// token of the bucket like the first.
func (s *Source) decryptWithAny(ctx context.Context, blob []byte) (cipher.AEAD, error) {
	var err error
	for i, k := range s.envelope {
		if i > 0 && !s.cold.take() {
			return nil, s.cold.refusal()
		}
		var aead cipher.AEAD
		if aead, err = k.decrypt(ctx, blob); err == nil || !isIncorrectKey(err) {
			return aead, err
		}
	}
	return nil, err
}

// cacheKey names a data key in the cache and the flights: its header's
// mode and key reference.
func cacheKey(mode byte, ref []byte) string {
	var b strings.Builder // one allocation, whatever ref's length
	b.Grow(1 + len(ref))
	b.WriteByte(mode)
	b.Write(ref)
	return b.String()
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

// KeyFor names the key of this deployment a URL's header refers to, for
// people (sfn-callback-urls inspect): the ARN of the HMAC key a mode 3
// tag names, or of the only envelope key for mode 2; else "" (an
// encrypted data key names its key to KMS only, and an unknown tag names
// none).
func (s *Source) KeyFor(mode byte, ref []byte) string {
	switch {
	case mode == payload.ModeKMS && len(s.envelope) == 1:
		return s.envelope[0].arn
	case mode == payload.ModeKMSHMAC && len(ref) == payload.HMACKeyRefSize:
		if k := s.byTag[keyTag(ref[:tagSize])]; k != nil {
			return k.arn
		}
	}
	return ""
}
