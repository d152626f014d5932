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
