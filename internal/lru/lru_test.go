package lru

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// keys lists the cache's keys, most recently used first.
func keys[K comparable, V any](c *Cache[K, V]) []K {
	var out []K
	for el := c.order.Front(); el != nil; el = el.Next() {
		out = append(out, el.Value.(*entry[K, V]).key)
	}
	return out
}

// op is one call on a Cache[string, int]: "add k v", "get k", "remove k".
type op struct {
	do    string
	key   string
	value int
	// For get and remove: what it should find.
	want   int
	wantOK bool
}

func add(k string, v int) op             { return op{do: "add", key: k, value: v} }
func get(k string, want int, ok bool) op { return op{do: "get", key: k, want: want, wantOK: ok} }
func remove(k string, ok bool) op        { return op{do: "remove", key: k, wantOK: ok} }

func TestCache(t *testing.T) {
	tests := []struct {
		name string
		size int
		ops  []op
		want []string // keys after, most recently used first
	}{
		{"empty", 2, []op{get("a", 0, false)}, nil},
		{"add and get", 2, []op{add("a", 1), get("a", 1, true)}, []string{"a"}},
		{"evicts the least recently added", 2, []op{add("a", 1), add("b", 2), add("c", 3),
			get("a", 0, false), get("b", 2, true), get("c", 3, true)}, []string{"c", "b"}},
		{"a get makes an entry recent", 2, []op{add("a", 1), add("b", 2), get("a", 1, true), add("c", 3),
			get("b", 0, false)}, []string{"c", "a"}},
		{"adding again replaces and makes recent", 2, []op{add("a", 1), add("b", 2), add("a", 10), add("c", 3),
			get("a", 10, true), get("b", 0, false)}, []string{"a", "c"}},
		{"remove", 2, []op{add("a", 1), add("b", 2), remove("a", true), remove("a", false),
			get("a", 0, false)}, []string{"b"}},
		{"size 1", 1, []op{add("a", 1), add("b", 2), get("a", 0, false)}, []string{"b"}},
		{"size 0 keeps nothing", 0, []op{add("a", 1), get("a", 0, false)}, nil},
		{"negative size keeps nothing", -1, []op{add("a", 1), get("a", 0, false)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New[string, int](tt.size)
			for i, o := range tt.ops {
				switch o.do {
				case "add":
					c.Add(o.key, o.value)
				case "get":
					if v, ok := c.Get(o.key); v != o.want || ok != o.wantOK {
						t.Errorf("op %d: Get(%q) = %d, %v; want %d, %v", i, o.key, v, ok, o.want, o.wantOK)
					}
				case "remove":
					if ok := c.Remove(o.key); ok != o.wantOK {
						t.Errorf("op %d: Remove(%q) = %v, want %v", i, o.key, ok, o.wantOK)
					}
				}
			}
			if diff := cmp.Diff(tt.want, keys(c)); diff != "" {
				t.Errorf("keys, most recent first (-want +got):\n%s", diff)
			}
			if c.Len() != len(tt.want) || len(c.items) != len(tt.want) {
				t.Errorf("Len() = %d with %d indexed, want %d", c.Len(), len(c.items), len(tt.want))
			}
		})
	}
}

func TestMaxAge(t *testing.T) {
	start := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name   string
		maxAge time.Duration
		after  time.Duration // between Add and Get
		wantOK bool
	}{
		{"fresh", time.Minute, 0, true},
		{"just under the age", time.Minute, time.Minute - time.Nanosecond, true},
		{"at the age", time.Minute, time.Minute, false},
		{"past the age", time.Minute, time.Hour, false},
		{"zero age keeps nothing usable", 0, 0, false},
		{"negative age keeps nothing usable", -time.Second, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := start
			c := New[string, int](4, MaxAge(tt.maxAge, func() time.Time { return now }))
			c.Add("a", 1)
			now = now.Add(tt.after)
			v, ok := c.Get("a")
			if ok != tt.wantOK || (ok && v != 1) {
				t.Fatalf("Get = %d, %v; want 1, %v", v, ok, tt.wantOK)
			}
			if want := map[bool]int{true: 1, false: 0}[tt.wantOK]; c.Len() != want {
				t.Errorf("Len() = %d after Get, want %d: a stale entry is dropped", c.Len(), want)
			}
		})
	}

	t.Run("adding again renews the age", func(t *testing.T) {
		now := start
		c := New[string, int](4, MaxAge(time.Minute, func() time.Time { return now }))
		c.Add("a", 1)
		now = now.Add(50 * time.Second)
		c.Add("a", 2)
		now = now.Add(50 * time.Second)
		if v, ok := c.Get("a"); !ok || v != 2 {
			t.Errorf("Get = %d, %v; want 2, true", v, ok)
		}
	})
	t.Run("a get does not renew the age", func(t *testing.T) {
		now := start
		c := New[string, int](4, MaxAge(time.Minute, func() time.Time { return now }))
		c.Add("a", 1)
		now = now.Add(50 * time.Second)
		c.Get("a")
		now = now.Add(50 * time.Second)
		if _, ok := c.Get("a"); ok {
			t.Error("an entry read within its age lives past it")
		}
	})
}

// TestDropsValues: an evicted, removed or stale entry no longer holds its
// value (kmskeys relies on it not keeping key schedules alive).
func TestDropsValues(t *testing.T) {
	now := time.Unix(0, 0)
	c := New[string, *int](1, MaxAge(time.Minute, func() time.Time { return now }))
	held := func(k string) *entry[string, *int] { return c.items[k].Value.(*entry[string, *int]) }
	one, two, three := 1, 2, 3

	c.Add("a", &one)
	a := held("a")
	c.Add("b", &two) // evicts a
	if a.value != nil {
		t.Error("an evicted entry still holds its value")
	}
	b := held("b")
	c.Remove("b")
	if b.value != nil {
		t.Error("a removed entry still holds its value")
	}
	c.Add("c", &three)
	e := held("c")
	now = now.Add(time.Hour)
	c.Get("c")
	if e.value != nil {
		t.Error("a stale entry still holds its value")
	}
}

func BenchmarkGet(b *testing.B) {
	c := New[[32]byte, int](256)
	var k [32]byte
	for i := range 256 {
		k[0] = byte(i)
		c.Add(k, i)
	}
	b.ReportAllocs()
	for b.Loop() {
		c.Get(k)
	}
}
