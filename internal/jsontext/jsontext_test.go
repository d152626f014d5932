package jsontext

import (
	"encoding/json"
	"testing"
)

func TestMarshal(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{map[string]string{"u": "https://x/?a=1&b=<2>"}, `{"u":"https://x/?a=1&b=<2>"}`},
		{[]int{1, 2}, `[1,2]`},
		{"\u2028", `"\u2028"`}, // still escaped: JavaScript line separators
		{nil, `null`},
	}
	for _, tt := range tests {
		got, err := Marshal(tt.in)
		if err != nil || string(got) != tt.want {
			t.Errorf("Marshal(%v) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
		if !json.Valid(got) {
			t.Errorf("Marshal(%v) = %s: not JSON", tt.in, got)
		}
	}
	if _, err := Marshal(func() {}); err == nil {
		t.Error("Marshal(func) gave no error")
	}
}

// TestMarshalReuse: results do not share the pooled buffer.
func TestMarshalReuse(t *testing.T) {
	a, _ := Marshal("first")
	b, _ := Marshal("second")
	if string(a) != `"first"` || string(b) != `"second"` {
		t.Errorf("%s %s", a, b)
	}
}

func BenchmarkMarshal(b *testing.B) {
	v := map[string]any{"transaction_id": "4f6e1c0b8d0a4c3e9a3b6d2f1e0c9b8a", "action": map[string]string{"name": "approve", "type": "success"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Marshal(v); err != nil {
			b.Fatal(err)
		}
	}
}
