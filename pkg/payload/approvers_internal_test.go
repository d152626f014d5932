package payload

import (
	"bytes"
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

func TestApproversField(t *testing.T) {
	tests := []struct {
		name       string
		approvers  []string
		requester  string
		list, req  string
		absentList bool
	}{
		{name: "one address", approvers: []string{"alice@example.com"}, list: "alice@example.com"},
		{name: "a domain's addresses share it", approvers: []string{"alice@example.com", "bob@example.com", "carol@example.com"},
			list: "alice,bob,carol@example.com"},
		{name: "the requester's domain last, and its local part alone",
			approvers: []string{"alice@example.com", "bob@example.com", "zed@aaa.example"}, requester: "dave@example.com",
			list: "zed@aaa.example,alice,bob@example.com", req: "dave"},
		{name: "requester at another domain", approvers: []string{"alice@example.com"}, requester: "dave@example.org",
			list: "alice@example.com", req: "dave@example.org"},
		{name: "domain entries and Slack ids after the addresses",
			approvers: []string{"@ops.example.com", "alice@example.com", "slack:U0123ABCD", "slack:U0000AAAA"}, requester: "dave@example.com",
			list: "alice@example.com,@ops.example.com,slack:U0000AAAA,slack:U0123ABCD", req: "dave@example.com"},
		{name: "requester alone", requester: "dave@example.com", absentList: true, req: "dave@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			approvers, err := callbackurls.NormalApprovers(tt.approvers)
			if err != nil {
				t.Fatal(err)
			}
			list, req := encodeApprovers(approvers, tt.requester)
			if string(list) != tt.list || (list == nil) != tt.absentList || string(req) != tt.req {
				t.Fatalf("encoded %q, %q; want %q, %q", list, req, tt.list, tt.req)
			}
			gotApprovers, gotRequester, err := decodeApprovers(list, req)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(approvers, gotApprovers); diff != "" || gotRequester != tt.requester {
				t.Errorf("decoded (-want +got):\n%s requester %q", diff, gotRequester)
			}
		})
	}
}

func TestApproversFieldRejectsDamage(t *testing.T) {
	for _, tt := range []struct{ list, req string }{
		{"", ""},
		{",", ""},
		{"alice", ""},                 // no domain to share
		{"alice,@example.com", ""},    // a domain entry lends none
		{"alice,slack:U0123ABCD", ""}, // nor a Slack id
		{"alice@example.com,alice@example.com", ""}, // twice
		{"alice@example.com,alice", ""},
		{"Alice@example.com", ""},                 // not the normal form
		{"alice@example.com,bob@example.com", ""}, // another spelling of alice,bob@example.com
		{"alice@example.org,bob@example.com", ""}, // groups out of order
		{"@ops.example.com,alice@example.com", ""},
		{"alice@example.com", "dave@example.com"}, // the short form exists
		{"alice@example.com", "da ve"},
		{"@example.com", "dave"}, // no address to share a domain with
		{"alice@example.com", "@example.com"},
		{"slack:u0123abcd", ""},
		{"bob@evil.example@example.com", ""},
	} {
		var req []byte
		if tt.req != "" {
			req = []byte(tt.req)
		}
		if a, r, err := decodeApprovers([]byte(tt.list), req); err == nil {
			t.Errorf("decodeApprovers(%q, %q) = %q, %q", tt.list, tt.req, a, r)
		}
	}
	if a, r, err := decodeApprovers(nil, []byte("dave")); err == nil {
		t.Errorf("a short requester without approvers: %q, %q", a, r)
	}
}

// TestApprovalFlags: the receipt switch is one byte in tag 17, absent
// when off; any other value is damage.
func TestApprovalFlags(t *testing.T) {
	p := callbackurls.Payload{Target: callbackurls.TargetRef{ID: "t"}, Action: "a", Type: callbackurls.Failure}
	without, err := marshalBinary(&p)
	if err != nil {
		t.Fatal(err)
	}
	p.Receipt = true
	with, err := marshalBinary(&p)
	if err != nil {
		t.Fatal(err)
	}
	if want := append(bytes.Clone(without), fieldApprovalFlags, 1, flagReceipt); !bytes.Equal(with, want) {
		t.Errorf("plaintext with a receipt is\n% x, want\n% x", with, want)
	}
	k := newStaticKeys(t, "kt")
	for _, v := range [][]byte{{}, {0}, {2}, {flagReceipt, 0}} {
		plain := append(bytes.Clone(without), appendField(nil, fieldApprovalFlags, v)...)
		if _, err := unmarshalBinary(plain); err == nil {
			t.Errorf("flags % x accepted", v)
		}
		_, err := (&Codec{Keys: k}).Decode(context.Background(), sealPlain(t, k, plain))
		wantInvalid(t, err)
	}
}

// FuzzApproversField: any field either is refused or decodes to entries
// in normal form that encode back to exactly the same bytes.
func FuzzApproversField(f *testing.F) {
	f.Add("alice,bob@example.com", "dave")
	f.Add("zed@aaa.example,alice,bob@example.com", "dave")
	f.Add("alice@example.com,@ops.example.com,slack:U0123ABCD", "dave@example.com")
	f.Add("", "x@y.z")
	f.Fuzz(func(t *testing.T, list, req string) {
		var l, r []byte
		if list != "" {
			l = []byte(list)
		}
		if req != "" {
			r = []byte(req)
		}
		entries, requester, err := decodeApprovers(l, r)
		if err != nil {
			return
		}
		for _, e := range entries {
			if n, _, err := callbackurls.ParseApprover(e); err != nil || n != e {
				t.Fatalf("entry %q is not in normal form (%v)", e, err)
			}
		}
		l2, r2 := encodeApprovers(entries, requester)
		if string(l2) != string(l) || string(r2) != string(r) {
			t.Fatalf("%q, %q decode to %q, %q, which encode to %q, %q", list, req, entries, requester, l2, r2)
		}
	})
}
