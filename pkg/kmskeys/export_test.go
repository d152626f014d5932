package kmskeys

// Stats are the Source's cache counters, for tests.
type Stats struct {
	CachedKeys int // decrypted data keys held
}

// Stats returns the current counters.
func (s *Source) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{CachedKeys: s.cache.Len()}
}

// ARNRegion is arnRegion, for its table test.
var ARNRegion = arnRegion
