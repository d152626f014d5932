package lambdaapi

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func BenchmarkProxyEvent(b *testing.B) {
	data, _ := os.ReadFile("testdata/post-urls.json")
	var m map[string]any
	_ = json.Unmarshal(data, &m)
	m["body"] = strings.Repeat("x", 64<<10)
	raw, _ := json.Marshal(m)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := proxyEvent(raw); !ok {
			b.Fatal("not a proxy event")
		}
	}
}
