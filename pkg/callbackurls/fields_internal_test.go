package callbackurls

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/text"
)

// decoderMembers is eachMember done the slow way, by encoding/json's
// tokens: names and values ("name=value").
func decoderMembers(data []byte) ([]string, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, false
		}
		keys = append(keys, tok.(string)+"="+string(bytes.TrimSpace(value)))
	}
	return keys, true
}

func FuzzObjectMembers(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":1}`, ` { "a" : [1,{"b":"}"}] , "c\"d" : "x\\", "e":{"f":{}} } `,
		`{"expira\u0074ion":null,"t":true,"n":-1.5e3}`, `[]`, `"x"`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		want, isObject := decoderMembers(data)
		var got []string
		err := eachMember(data, func(k, v []byte) error {
			got = append(got, string(k)+"="+string(v))
			return nil
		})
		if err != nil {
			t.Fatalf("eachMember(%q): %v", data, err)
		}
		if !isObject {
			if len(got) != 0 {
				t.Fatalf("eachMember(%q) = %q for a non-object", data, got)
			}
			return
		}
		if !slices.Equal(want, got) {
			t.Fatalf("eachMember(%q) = %q, want %q", data, got, want)
		}
	})
}

func TestNearestField(t *testing.T) {
	for key, want := range map[string]string{
		"expiraton": "expiration", "expiraiton": "expiration", "Expiration": "expiration", "expires": "expiration",
		"expiry": "expiration", "expire_at": "expiration", "tokens": "token", "tokn": "token", "action": "actions",
		"baseurl": "base_url", "base-url": "base_url", "baseUrl": "base_url", "tittle": "title", "desc": "",
		"descripton": "description", "enableOutputParameters": "enable_output_parameters",
		"enable_post_actions": "", "colour": "", "x": "", "": "", "output": "",
	} {
		if got := text.Nearest(key, append(targetFields(), requestFields...)); got != want {
			t.Errorf("text.Nearest(%q) = %q, want %q", key, got, want)
		}
	}
}

func FuzzParseExpiration(f *testing.F) {
	for _, s := range []string{"2030-01-02T03:04:05Z", "2030-01-02T03:04:05.5+23:59", "2030-01-02T03:04:05+24:00",
		"2030-01-02 03:04:05-0130", "2030-01-02T03:04Z", "2030-01-02T03:04:05+23:60"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseExpiration(s)
		if err != nil {
			if e := AsError(err); e.Code != CodeInvalidDate || e.Kind != BadInput {
				t.Fatalf("ParseExpiration(%q): %v, want InvalidDate", s, err)
			}
			return
		}
		_, off := got.Zone()
		if off > 23*3600+59*60 || off < -(23*3600+59*60) || off%60 != 0 {
			t.Fatalf("ParseExpiration(%q) has the offset %d s", s, off)
		}
		// What the response says parses back to the same instant.
		again, err := ParseExpiration(got.Format(time.RFC3339Nano))
		if err != nil || !again.Equal(got) {
			t.Fatalf("ParseExpiration(%q) = %v; its RFC 3339 form gives %v, %v", s, got, again, err)
		}
	})
}
