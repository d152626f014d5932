package payload

import (
	"slices"
	"strings"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// Approvers in the binary form (tags 15 to 17, docs/FORMAT.md). Every
// byte here is in each URL of a request's success and failure actions,
// whose goal is to stay within the 998 characters of a mail line: the
// addresses of one domain store the domain once, and a requester at the
// domain of the list's last address stores only its local part.
//
//	approvers = item *("," item)
//	item      = local-part            ; at the domain of the next item
//	          | local-part "@" domain | "@" domain | "slack:" id
//
// An item of local part alone is followed by another, or by the address
// whose domain it shares. Addresses come in groups by domain, the groups
// sorted by domain but for the requester's, which is last; then domain
// entries, then Slack ids, each sorted. There is one spelling: a field that
// is not the one encodeApprovers writes is refused.
const (
	fieldApprovers = 15
	fieldRequester = 16
	// fieldApprovalFlags is one byte of flags, never 0: absent when none
	// is set.
	fieldApprovalFlags = 17
	flagReceipt        = 1 << 0
)

// encodeApprovers writes the normal entries (callbackurls.NormalApprovers)
// and the requester's field value.
func encodeApprovers(entries []string, requester string) (list, req []byte) {
	reqDomain := ""
	if at := strings.LastIndexByte(requester, '@'); at >= 0 {
		reqDomain = requester[at+1:]
	}
	type group struct {
		domain string
		locals []string
	}
	var groups []group
	var domains, slack []string
	for _, e := range entries {
		switch {
		case strings.HasPrefix(e, "slack:"):
			slack = append(slack, e)
		case strings.HasPrefix(e, "@"):
			domains = append(domains, e)
		default:
			at := strings.LastIndexByte(e, '@')
			local, domain := e[:at], e[at+1:]
			i := slices.IndexFunc(groups, func(g group) bool { return g.domain == domain })
			if i < 0 {
				groups = append(groups, group{domain: domain})
				i = len(groups) - 1
			}
			groups[i].locals = append(groups[i].locals, local)
		}
	}
	slices.SortFunc(groups, func(a, b group) int {
		// The requester's domain last, so that it can refer to it.
		if (a.domain == reqDomain) != (b.domain == reqDomain) {
			if a.domain == reqDomain {
				return 1
			}
			return -1
		}
		return strings.Compare(a.domain, b.domain)
	})
	slices.Sort(domains)
	slices.Sort(slack)
	var b []byte
	item := func(s string) {
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = append(b, s...)
	}
	for _, g := range groups {
		slices.Sort(g.locals)
		for i, l := range g.locals {
			if i == len(g.locals)-1 {
				item(l + "@" + g.domain)
			} else {
				item(l)
			}
		}
	}
	// Domain entries and Slack ids come after the addresses, so the last
	// item is an address only when the requester's group is the last group.
	lastDomain := ""
	if len(groups) > 0 && len(domains) == 0 && len(slack) == 0 {
		lastDomain = groups[len(groups)-1].domain
	}
	for _, d := range domains {
		item(d)
	}
	for _, s := range slack {
		item(s)
	}
	switch {
	case requester == "":
	case reqDomain != "" && reqDomain == lastDomain:
		req = []byte(requester[:len(requester)-len(reqDomain)-1])
	default:
		req = []byte(requester)
	}
	return b, req
}

// decodeApprovers reads the fields encodeApprovers writes (either may be
// nil) back into normal entries, sorted, and the requester.
func decodeApprovers(list, req []byte) ([]string, string, error) {
	var entries []string
	lastDomain := ""
	if list != nil {
		items := strings.Split(string(list), ",")
		domain := ""
		for i := len(items) - 1; i >= 0; i-- {
			it := items[i]
			switch at := strings.LastIndexByte(it, '@'); {
			case strings.HasPrefix(it, "slack:") || at == 0:
				domain = ""
			case at > 0:
				domain = it[at+1:]
				if i == len(items)-1 {
					lastDomain = domain
				}
			case domain == "":
				return nil, "", errDamaged
			default:
				it += "@" + domain
			}
			n, _, err := callbackurls.ParseApprover(it)
			if err != nil || n != it {
				return nil, "", errDamaged
			}
			entries = append(entries, it)
		}
		slices.Sort(entries)
		if len(entries) == 0 || len(slices.Compact(slices.Clone(entries))) != len(entries) {
			return nil, "", errDamaged
		}
	}
	requester := string(req)
	if req != nil && !strings.Contains(requester, "@") {
		if lastDomain == "" {
			return nil, "", errDamaged
		}
		requester += "@" + lastDomain
	}
	if req != nil {
		if n, err := callbackurls.ParseEmail(requester); err != nil || n != requester {
			return nil, "", errDamaged
		}
	}
	// One spelling: what encodeApprovers writes for these values.
	l2, r2 := encodeApprovers(entries, requester)
	if string(l2) != string(list) || string(r2) != string(req) {
		return nil, "", errDamaged
	}
	return entries, requester, nil
}
