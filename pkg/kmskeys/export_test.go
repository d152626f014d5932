package kmskeys

// Stats are the Source's counters, for tests.
type Stats struct {
	CachedKeys   int // data keys held to open URLs
	RefusedCalls int // cold KMS calls the bound did not allow
}

// Stats returns the current counters.
func (s *Source) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{CachedKeys: s.cache.Len(), RefusedCalls: s.cold.refusedCalls() + s.gatedCold.refusedCalls()}
}

// ARNRegion is arnRegion, for its table test.
var ARNRegion = arnRegion

// TagOf, DeriveMessage and IdentifierSize expose HMAC mode's layout to
// the known-answer tests, which check it against their own reading of
// docs/FORMAT.md.
var (
	TagOf         = func(keyID string) []byte { t := tagOf(keyID); return t[:] }
	DeriveMessage = deriveMessage
)

const IdentifierSize = identifierSize
