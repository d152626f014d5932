// Package kmskeys roots the payload codec's keys in AWS KMS: a
// payload.KeySource whose AES-256 data keys come from a KMS key, in one of
// two modes chosen by the key's own type (one DescribeKey, in New or at
// the first use with Options.DescribeOnFirstUse):
//
//   - Envelope mode, a symmetric encryption key (SYMMETRIC_DEFAULT,
//     ENCRYPT_DECRYPT): GenerateDataKey yields a data key and its 184-byte
//     KMS-encrypted form, which every URL carries (header mode 2, or 5
//     with a gate key). A callback sends that blob to Decrypt, pinned to
//     the key.
//   - HMAC mode, an HMAC key (HMAC_256, GENERATE_VERIFY_MAC): the data key
//     is GenerateMac(HMAC_SHA_256) over a fixed label, a version and a
//     random 96-bit identifier, and a URL carries only a 4-byte tag of the
//     key and the identifier (header mode 4, gated; 3 before gates;
//     docs/FORMAT.md). A callback derives the same key with the same call.
//
// Gates: an HMAC key's gate key (GenerateMac of another fixed label, once
// per process) tags every URL made with it, and Options.GateKeyID's does
// an envelope key's, so that a callback refuses a made-up URL before it
// looks up a data key: it costs no KMS call and takes no room in the
// cache. URLs made before gates, and an envelope key's without a gate key,
// still cost a call each (within their own bound).
//
// Creating URLs: a data key is reused for a bounded time and number of
// URLs (Options.DataKeyMaxAge, Options.DataKeyMaxUses), as the AWS
// Encryption SDK's caching materials manager does, so a warm function
// makes no KMS call at all. Concurrent callers share one call.
//
// Opening URLs: data keys are kept in an LRU cache keyed by the URL's key
// reference (bounded by Options.CacheSize and Options.CacheMaxAge), once a
// payload has authenticated under them (payload.Confirmer), so a warm
// function makes no KMS call for URLs of a data key it has seen.
// Concurrent misses for one reference share a single call, and the calls
// for references not in the cache are bounded by two token buckets per
// Source, one for gated URLs and one for the others
// (Options.ColdCallsPerSecond, Options.ColdCallsBurst): beyond it a
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
// callbackurls.ErrUnavailable. Keys described at their first use that KMS
// will not describe are a 503 until it does, tried again after a backoff.
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
	// GateKeyID names an HMAC key whose gate key tags the URLs of an
	// envelope KeyID (header mode 5), so that a made-up URL is refused
	// without a KMS call. An HMAC KeyID gates its own URLs (mode 4);
	// without GateKeyID an envelope key's URLs are not gated (mode 2).
	GateKeyID string
	// DescribeOnFirstUse describes the keys at their first use rather
	// than in New: a KMS outage at a function's start then gets 503s
	// until KMS answers, not a process that exits.
	DescribeOnFirstUse bool
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
	// open URLs whose data key is not cached: a token bucket for the
	// gated URLs and another for the others (made before gates, or by an
	// ungated envelope key), so that made-up ungated URLs cannot spend
	// what gated ones need. A negative ColdCallsPerSecond removes the
	// bound.
	ColdCallsPerSecond float64
	ColdCallsBurst     int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Source is a payload.KeySource backed by KMS. It is safe for concurrent
// use.
type Source struct {
	opts   Options
	opsFor func(keyID string) *operations
	// cold bounds the cold calls of ungated URLs, gatedCold of gated ones.
	cold, gatedCold *bucket

	// keys are the described keys, nil until they are; see keySet.
	described struct {
		sync.Mutex
		keys    *keySet
		flight  chan struct{}
		err     error
		retryAt time.Time
		fails   int
	}

	mu      sync.Mutex
	dataKey *dataKey    // the data key new URLs are sealed with
	pending *createCall // the call for a new one in flight, if any
	// cache holds data keys by mode and key reference; used under mu.
	cache   *lru.Cache[string, cipher.AEAD]
	flights map[string]*openCall
}

var (
	_ payload.KeySource = (*Source)(nil)
	_ payload.GateKeys  = (*Source)(nil)
	_ payload.Confirmer = (*Source)(nil)
)

// keySet is what DescribeKey said of the configured keys.
type keySet struct {
	current *key
	// envelope are the keys that open mode 2 and 5 URLs, in the order
	// tried; byTag the HMAC keys by tag (data keys of modes 3 and 4, gate
	// keys of modes 4 and 5).
	envelope []*key
	byTag    map[keyTag]*key
	// gate is the key whose gate key tags an envelope key's URLs.
	gate *key
}

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
	s := &Source{
		opts:      opts,
		opsFor:    opsFor,
		cold:      newBucket(opts.ColdCallsPerSecond, opts.ColdCallsBurst, opts.Now),
		gatedCold: newBucket(opts.ColdCallsPerSecond, opts.ColdCallsBurst, opts.Now),
		// An entry is dropped past CacheMaxAge, so that a key KMS no
		// longer honours (disabled, deleted) stops working here too.
		cache:   lru.New[string, cipher.AEAD](opts.CacheSize, lru.MaxAge(opts.CacheMaxAge, opts.Now)),
		flights: make(map[string]*openCall),
	}
	if !opts.DescribeOnFirstUse {
		if err := s.Describe(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Describe describes the configured keys now, if they are not yet: one
// DescribeKey per key, whose type chooses the mode. Its error says which
// setting to fix. New calls it unless Options.DescribeOnFirstUse.
func (s *Source) Describe(ctx context.Context) error {
	_, err := s.keySet(ctx, true)
	return err
}

// keySet returns the described keys, describing them if they are not yet
// (one call for all callers, not again for a while after a failure; now
// forces an attempt whatever the backoff). The error is describe's.
func (s *Source) keySet(ctx context.Context, now bool) (*keySet, error) {
	d := &s.described
	for {
		d.Lock()
		if d.keys != nil {
			d.Unlock()
			return d.keys, nil
		}
		if c := d.flight; c != nil {
			d.Unlock()
			select {
			case <-c:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			continue
		}
		if d.err != nil && !now && s.opts.Now().Before(d.retryAt) {
			err := d.err
			d.Unlock()
			return nil, err
		}
		c := make(chan struct{})
		d.flight = c
		d.Unlock()

		ks, err := s.describeKeys(ctx)

		d.Lock()
		d.flight = nil
		switch {
		case err == nil:
			d.keys, d.err, d.fails = ks, nil, 0
		case awserr.IsContextErr(err) && ctx.Err() != nil:
		default:
			d.fails++
			d.err, d.retryAt = err, s.opts.Now().Add(backoff(d.fails))
		}
		d.Unlock()
		close(c)
		return ks, err
	}
}

func (s *Source) describeKeys(ctx context.Context) (*keySet, error) {
	names := []keyName{{s.opts.KeyID, currentSetting}}
	for _, p := range s.opts.PreviousKeyIDs {
		names = append(names, keyName{p, previousSetting})
	}
	if s.opts.GateKeyID != "" {
		names = append(names, keyName{s.opts.GateKeyID, gateSetting})
	}
	keys, err := describeAll(ctx, s.opsFor, names)
	if err != nil {
		return nil, err
	}
	ks := &keySet{current: keys[0], byTag: map[keyTag]*key{}}
	if s.opts.GateKeyID != "" {
		ks.gate = keys[len(keys)-1]
	}
	seen := map[*key]bool{}
	for _, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		switch k.kind {
		case Envelope:
			ks.envelope = append(ks.envelope, k)
		case HMAC:
			if other := ks.byTag[k.tag]; other != nil {
				return nil, errTagCollision(other, k)
			}
			ks.byTag[k.tag] = k
		}
	}
	return ks, nil
}

// Kind is the mode of the key new URLs are made with (0 until the keys
// are described).
func (s *Source) Kind() Kind {
	if ks := s.knownKeys(); ks != nil {
		return ks.current.kind
	}
	return 0
}

// KeyARN is the ARN of the key new URLs are made with, as DescribeKey
// resolved KEY_ID ("" until the keys are described).
func (s *Source) KeyARN() string {
	if ks := s.knownKeys(); ks != nil {
		return ks.current.arn
	}
	return ""
}

// knownKeys is the described keys, or nil.
func (s *Source) knownKeys() *keySet {
	s.described.Lock()
	defer s.described.Unlock()
	return s.described.keys
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
// every caller waiting for it. Its mode is gated when the key has a gate
// key (an HMAC key's own, or GateKeyID for an envelope key), which it
// derives now if it must.
func (s *Source) EncryptionKey(ctx context.Context) (byte, []byte, cipher.AEAD, error) {
	ks, err := s.keySet(ctx, false)
	if err != nil {
		return 0, nil, nil, describeCreateError(err)
	}
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
				return 0, nil, nil, unavailable(ks.current.createOp(), ctx.Err())
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

		k, err := s.newDataKey(ctx, ks)

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

func (s *Source) newDataKey(ctx context.Context, ks *keySet) (*dataKey, error) {
	var (
		k    = &dataKey{created: s.opts.Now()}
		cur  = ks.current
		gate *key
		err  error
	)
	switch cur.kind {
	case HMAC:
		k.mode, gate = payload.ModeKMSHMACGated, cur
		k.ref, k.aead, err = cur.newDerivedKey(ctx)
	default:
		k.mode = payload.ModeKMS
		var blob []byte
		blob, k.aead, err = cur.generateDataKey(ctx)
		k.ref = blob
		if gate = ks.gate; gate != nil {
			k.mode = payload.ModeKMSGated
			k.ref = append(gate.tag[:], blob...)
		}
	}
	if err != nil {
		return nil, err
	}
	if gate != nil {
		// The codec asks for it next (GateKey): derived here, its
		// failure is a creation's.
		if _, err := gate.gateKey(ctx, s.opts.Now); err != nil {
			return nil, createError("GenerateMac", gate.name, err)
		}
	}
	return k, nil
}

type openCall struct {
	done chan struct{}
	aead cipher.AEAD
	err  error
}

// DecryptionKey implements payload.KeySource: the data key a header names,
// from the cache, else from KMS: Decrypt for an encrypted data key (modes
// 2 and 5), GenerateMac for a derived one (modes 3 and 4). A reference
// naming no key of this deployment is refused without calling KMS. The
// key is kept (Opened) only once a payload has authenticated under it.
func (s *Source) DecryptionKey(ctx context.Context, mode byte, ref []byte) (cipher.AEAD, error) {
	ks, err := s.keySet(ctx, false)
	if err != nil {
		return nil, describeOpenError(err)
	}
	var fetch func(context.Context, *bucket) (cipher.AEAD, error)
	bound := s.cold
	switch mode {
	case payload.ModeKMS, payload.ModeKMSGated:
		if len(ks.envelope) == 0 {
			return nil, invalidPayload("the URL was made with a KMS data key, which this deployment's keys do not open")
		}
		blob := ref
		if mode == payload.ModeKMSGated {
			if len(ref) <= tagSize {
				return nil, invalidPayload("the URL's key reference is damaged")
			}
			blob, bound = ref[tagSize:], s.gatedCold
		}
		fetch = func(ctx context.Context, b *bucket) (cipher.AEAD, error) { return s.decryptWithAny(ctx, ks, b, blob) }
	case payload.ModeKMSHMAC, payload.ModeKMSHMACGated:
		if len(ref) != payload.HMACKeyRefSize {
			return nil, invalidPayload("the URL's key reference is damaged")
		}
		k := ks.byTag[keyTag(ref[:tagSize])]
		if k == nil {
			return nil, invalidPayload("the URL was made with a KMS key this deployment does not use")
		}
		if mode == payload.ModeKMSHMACGated {
			bound = s.gatedCold
		}
		fetch = func(ctx context.Context, _ *bucket) (cipher.AEAD, error) { return k.deriveKey(ctx, ref[tagSize:]) }
	default:
		return nil, invalidPayload("the URL was encrypted with a static key but this deployment uses KMS")
	}
	return s.open(ctx, cacheKey(mode, ref), bound, fetch)
}

// GateKey implements payload.GateKeys: the gate key of the HMAC key a
// gated header's tag names (its own in mode 4, the gate key's in mode 5),
// derived with one GenerateMac the first time, then kept. An unknown tag
// is refused without calling KMS.
func (s *Source) GateKey(ctx context.Context, mode byte, ref []byte) (*payload.GateKey, error) {
	ks, err := s.keySet(ctx, false)
	if err != nil {
		return nil, describeOpenError(err)
	}
	if !payload.Gated(mode) || len(ref) < tagSize {
		return nil, invalidPayload("the URL's key reference is damaged")
	}
	k := ks.byTag[keyTag(ref[:tagSize])]
	if k == nil {
		return nil, invalidPayload("the URL was made with a KMS key this deployment does not use")
	}
	g, err := k.gateKey(ctx, s.opts.Now)
	if err != nil {
		return nil, openError("GenerateMac", err)
	}
	return g, nil
}

// Opened implements payload.Confirmer: a payload authenticated under the
// data key of mode and ref, which is kept from now on.
func (s *Source) Opened(mode byte, ref []byte, aead cipher.AEAD) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cache.Add(cacheKey(mode, ref), aead)
}

// open is the cache, the single flight and the bound on cold calls that
// every mode shares: the data key under name from the cache, else from
// one call of fetch shared by every caller asking for the same name. Only
// the caller that makes the call spends a token of the bucket. Nothing is
// cached here: a key is kept once a payload authenticates (Opened), so
// that made-up references never push real keys out.
func (s *Source) open(ctx context.Context, name string, b *bucket, fetch func(context.Context, *bucket) (cipher.AEAD, error)) (cipher.AEAD, error) {
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
		if !b.take() {
			s.mu.Unlock()
			return nil, b.refusal()
		}
		c := &openCall{done: make(chan struct{})}
		s.flights[name] = c
		s.mu.Unlock()

		c.aead, c.err = fetch(ctx, b)

		s.mu.Lock()
		delete(s.flights, name)
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
func (s *Source) decryptWithAny(ctx context.Context, ks *keySet, b *bucket, blob []byte) (cipher.AEAD, error) {
	var err error
	for i, k := range ks.envelope {
		if i > 0 && !b.take() {
			return nil, b.refusal()
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
// people (sfn-callback-urls inspect): the ARN of the HMAC key a mode 3 or
// 4 tag names, or of the only envelope key for modes 2 and 5; else "" (an
// encrypted data key names its key to KMS only, an unknown tag names
// none, and keys not yet described name nothing).
func (s *Source) KeyFor(mode byte, ref []byte) string {
	ks := s.knownKeys()
	switch {
	case ks == nil:
	case (mode == payload.ModeKMS || mode == payload.ModeKMSGated) && len(ks.envelope) == 1:
		return ks.envelope[0].arn
	case (mode == payload.ModeKMSHMAC || mode == payload.ModeKMSHMACGated) && len(ref) == payload.HMACKeyRefSize:
		if k := ks.byTag[keyTag(ref[:tagSize])]; k != nil {
			return k.arn
		}
	}
	return ""
}
