package mail_test

import (
	"context"
	"errors"
	"net/http"
	neturl "net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/examples/internal/awstest"
	"github.com/sfncallbackurls/sfn-callback-urls/examples/internal/mail"
)

func approvalMessage(approveURL, rejectURL string) *mail.Message {
	return &mail.Message{
		Subject:    "Approval needed: Expense report #4821",
		Paragraphs: []string{"Alice Martin asks for EUR 1,240.00 for the Berlin team offsite, for the three days of workshops and the dinner on the last evening."},
		Buttons: []mail.Button{
			{Label: "Approve", URL: approveURL, Style: mail.Positive},
			{Label: "Reject", URL: rejectURL, Hint: "you can add a comment", Style: mail.Negative},
		},
		Footer: []string{"The links work until 4 January 2030 at 12:00 UTC."},
	}
}

func TestText(t *testing.T) {
	m := approvalMessage("https://api.example.com/v1/respond?action=approve&type=success&data=3-AAA",
		"https://api.example.com/v1/respond?action=reject&type=failure&data=3-BBB")
	got, err := m.Text(mail.MaxLineLength)
	if err != nil {
		t.Fatal(err)
	}
	want := `Alice Martin asks for EUR 1,240.00 for the Berlin team offsite, for the
three days of workshops and the dinner on the last evening.

Approve:
https://api.example.com/v1/respond?action=approve&type=success&data=3-AAA

Reject (you can add a comment):
https://api.example.com/v1/respond?action=reject&type=failure&data=3-BBB

The links work until 4 January 2030 at 12:00 UTC.
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Text (-want +got):\n%s", diff)
	}
}

func TestTextLinkLengths(t *testing.T) {
	base := "https://abc123defg.execute-api.us-east-1.amazonaws.com/v1/respond?action=approve&type=success&data=3-"
	for _, tc := range []struct {
		length  int
		wantErr bool
	}{
		{900, false},
		{mail.MaxLineLength, false},
		{mail.MaxLineLength + 1, true},
		{1136, true}, // a KMS envelope URL of the corpus's mean length
	} {
		url := base + strings.Repeat("A", tc.length-len(base))
		text, err := approvalMessage(url, "https://example.com/r").Text(mail.MaxLineLength)
		var tooLong *mail.LinkTooLongError
		if tc.wantErr {
			if !errors.As(err, &tooLong) || tooLong.Length != tc.length || tooLong.Label != "Approve" || tooLong.Limit != mail.MaxLineLength {
				t.Errorf("%d characters: err = %v, want a LinkTooLongError for Approve", tc.length, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%d characters: %v", tc.length, err)
		}
		if !strings.Contains(text, "\n"+url+"\n") {
			t.Errorf("%d characters: the link is not whole on a line of its own", tc.length)
		}
	}
}

func TestTextLineLimit(t *testing.T) {
	long := strings.Repeat("x", 3000) + " " + strings.Repeat("é", 2000)
	m := &mail.Message{Paragraphs: []string{long, "a\r\nb"}, Buttons: []mail.Button{{Label: strings.Repeat("label ", 40), URL: "https://a.test"}}}
	text, err := m.Text(mail.MaxLineLength)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(text, "\n") {
		if len(line) > mail.MaxLineLength {
			t.Errorf("line %d is %d bytes", i, len(line))
		}
	}
	if strings.Count(text, "x")+strings.Count(text, "é") != 5000 {
		t.Error("wrapping lost characters")
	}
	if !strings.Contains(text, "\na\nb\n") || strings.Contains(text, "\r") {
		t.Errorf("line breaks not kept as LF: %q", text)
	}
}

func TestHTML(t *testing.T) {
	m := approvalMessage("https://api.example.com/v1/respond?action=approve&type=success&data=3-AAA", "https://api.example.com/r?x=1")
	m.Paragraphs = append(m.Paragraphs, `<script>alert("x")</script> & more`)
	html, err := m.HTML()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<title>Approval needed: Expense report #4821</title>`,
		`href="https://api.example.com/v1/respond?action=approve&amp;type=success&amp;data=3-AAA"`,
		`>Approve</a>`, `>Reject</a>`,
		`background:#1a7f37`, `background:#cf222e`,
		`Reject: you can add a comment`,
		`&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; more`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %s", want)
		}
	}
	if strings.Contains(html, "<script>") {
		t.Error("text is not escaped")
	}
}

func TestSNSSubject(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Approval needed: Expense #4821", "Approval needed: Expense #4821"},
		{"  Genehmigung für\nReise  ", "Genehmigung f?r Reise"},
		{"", "Notification"},
		{"\t\n", "Notification"},
		{strings.Repeat("a", 120), strings.Repeat("a", 96) + "..."},
		{strings.Repeat("a", 99), strings.Repeat("a", 99)},
	} {
		if got := mail.SNSSubject(tc.in); got != tc.want {
			t.Errorf("SNSSubject(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzSNSSubject(f *testing.F) {
	f.Add("Approval needed: Expense report #4821")
	f.Add("Genehmigung für Reise \u2028 \x00")
	f.Fuzz(func(t *testing.T, s string) {
		got := mail.SNSSubject(s)
		if len(got) == 0 || len(got) > mail.MaxSNSSubjectLength || got[0] == ' ' {
			t.Fatalf("SNSSubject(%q) = %q", s, got)
		}
		for i := 0; i < len(got); i++ {
			if got[i] < ' ' || got[i] > '~' {
				t.Fatalf("SNSSubject(%q) = %q has byte %#x", s, got, got[i])
			}
		}
	})
}

func FuzzText(f *testing.F) {
	f.Add("A paragraph.\nAnother line.", "Approve", "https://example.com/respond?data=3-x")
	f.Add(strings.Repeat("ü", 600), "Reject\n", "https://x")
	f.Fuzz(func(t *testing.T, paragraph, label, url string) {
		if strings.ContainsAny(url, "\r\n") {
			return // the service's URLs never hold line breaks
		}
		m := &mail.Message{Subject: paragraph, Paragraphs: []string{paragraph}, Buttons: []mail.Button{{Label: label, URL: url}}}
		text, err := m.Text(mail.MaxLineLength)
		if u, perr := neturl.Parse(url); perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			if err == nil {
				t.Fatalf("a button whose link is %q was accepted", url)
			}
			return
		}
		if len(url) > mail.MaxLineLength {
			if err == nil {
				t.Fatal("a link over the limit was accepted")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(text, "\n") {
			if len(line) > mail.MaxLineLength {
				t.Fatalf("a line of %d bytes", len(line))
			}
		}
		if !strings.Contains(text, "\n"+url+"\n") {
			t.Fatal("the link is not on a line of its own")
		}
		if _, err := m.HTML(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSNSSend(t *testing.T) {
	ctx := context.Background()
	srv := awstest.NewSNS(t)
	topic := srv.AddTopic("approvals")
	sender := mail.NewSNS(srv.Client(), topic, 0)
	m := approvalMessage("https://example.com/a", "https://example.com/r")
	m.Subject = "Genehmigung für Reise " + strings.Repeat("!", 100)
	if err := sender.Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	text, _ := m.Text(0)
	want := []awstest.SNSMessage{{Subject: mail.SNSSubject(m.Subject), Message: text}}
	if diff := cmp.Diff(want, srv.Messages(topic)); diff != "" {
		t.Errorf("published (-want +got):\n%s", diff)
	}

	// Throttling is retried by the SDK; a missing topic is not.
	srv.FailNext(1, http.StatusBadRequest, "Throttling")
	if err := sender.Send(ctx, m); err != nil {
		t.Errorf("after one throttle: %v", err)
	}
	var notFound *types.NotFoundException
	if err := mail.NewSNS(srv.Client(), topic+"-gone", 0).Send(ctx, m); !errors.As(err, &notFound) {
		t.Errorf("missing topic: err = %v, want NotFoundException", err)
	}

	// A link plain text would break is never published.
	before := srv.Requests()
	long := approvalMessage("https://example.com/"+strings.Repeat("a", 1000), "https://example.com/r")
	var tooLong *mail.LinkTooLongError
	if err := sender.Send(ctx, long); !errors.As(err, &tooLong) {
		t.Errorf("long link: err = %v", err)
	}
	if srv.Requests() != before {
		t.Error("a message with a broken link was published")
	}
	// Unless the limit is raised, or lifted.
	if err := mail.NewSNS(srv.Client(), topic, 1100).Send(ctx, long); err != nil {
		t.Errorf("limit 1100: %v", err)
	}
	if err := mail.NewSNS(srv.Client(), topic, -1).Send(ctx, long); err != nil {
		t.Errorf("no limit: %v", err)
	}
	if sender.HTML() || !mail.NewSES(nil, "a@example.com").HTML() {
		t.Error("HTML() is wrong")
	}
}

func TestSESSend(t *testing.T) {
	ctx := context.Background()
	srv := awstest.NewSES(t)
	srv.Verify("example.com")
	long := "https://example.com/" + strings.Repeat("a", 1200) // too long for plain text, fine in HTML
	m := approvalMessage(long, "https://example.com/r")
	if err := mail.NewSES(srv.Client(), "approvals@example.com", "boss@example.org").Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	emails := srv.Emails()
	if len(emails) != 1 {
		t.Fatalf("%d emails sent", len(emails))
	}
	e := emails[0]
	html, _ := m.HTML()
	if diff := cmp.Diff(awstest.Email{From: "approvals@example.com", To: []string{"boss@example.org"}, Subject: m.Subject, HTML: html, Text: e.Text}, e); diff != "" {
		t.Errorf("email (-want +got):\n%s", diff)
	}
	if !strings.Contains(e.Text, "\n"+long+"\n") {
		t.Error("the text part lacks the whole link")
	}

	// In the sandbox an unverified recipient is refused, as is an
	// unverified sender anywhere.
	srv.SetSandbox(true)
	if err := mail.NewSES(srv.Client(), "approvals@example.com", "boss@example.org").Send(ctx, m); err == nil || !strings.Contains(err.Error(), "MessageRejected") {
		t.Errorf("sandbox: err = %v, want MessageRejected", err)
	}
	srv.SetSandbox(false)
	if err := mail.NewSES(srv.Client(), "me@example.net", "boss@example.org").Send(ctx, m); err == nil || !strings.Contains(err.Error(), "not verified") {
		t.Errorf("unverified sender: err = %v", err)
	}
	srv.FailNext(1, http.StatusTooManyRequests, "TooManyRequestsException")
	if err := mail.NewSES(srv.Client(), "approvals@example.com", "boss@example.org").Send(ctx, m); err != nil {
		t.Errorf("after one throttle: %v", err)
	}
}

// TestSendReady sends a ready-made email (sfn-callback-urls' messages):
// SNS its subject and plain text, refusing a line plain text would break;
// SES all of it.
func TestSendReady(t *testing.T) {
	ctx := context.Background()
	r := &mail.Ready{Subject: "Expense report #4821", Text: "Approve:\nhttps://example.com/a\n", HTML: "<p>Approve</p>"}
	sns := awstest.NewSNS(t)
	topic := sns.AddTopic("approvals")
	if err := mail.NewSNS(sns.Client(), topic, 0).SendReady(ctx, r); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]awstest.SNSMessage{{Subject: r.Subject, Message: r.Text}}, sns.Messages(topic)); diff != "" {
		t.Errorf("published (-want +got):\n%s", diff)
	}
	long := &mail.Ready{Subject: "x", Text: "https://example.com/" + strings.Repeat("a", 1000) + "\n"}
	var tooLong *mail.LinkTooLongError
	if err := mail.NewSNS(sns.Client(), topic, 0).SendReady(ctx, long); !errors.As(err, &tooLong) || len(sns.Messages(topic)) != 1 {
		t.Errorf("a long line: %v", err)
	}
	ses := awstest.NewSES(t)
	ses.Verify("example.com")
	if err := mail.NewSES(ses.Client(), "approvals@example.com", "boss@example.org").SendReady(ctx, r); err != nil {
		t.Fatal(err)
	}
	want := []awstest.Email{{From: "approvals@example.com", To: []string{"boss@example.org"}, Subject: r.Subject, Text: r.Text, HTML: r.HTML}}
	if diff := cmp.Diff(want, ses.Emails()); diff != "" {
		t.Errorf("mailed (-want +got):\n%s", diff)
	}
}

func BenchmarkText(b *testing.B) {
	m := approvalMessage("https://abc123defg.execute-api.us-east-1.amazonaws.com/v1/respond?action=approve&type=success&data=3-"+strings.Repeat("A", 850),
		"https://abc123defg.execute-api.us-east-1.amazonaws.com/v1/respond?action=reject&type=failure&data=3-"+strings.Repeat("B", 870))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Text(mail.MaxLineLength); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHTML(b *testing.B) {
	m := approvalMessage("https://abc123defg.execute-api.us-east-1.amazonaws.com/v1/respond?action=approve&type=success&data=3-"+strings.Repeat("A", 1000),
		"https://abc123defg.execute-api.us-east-1.amazonaws.com/v1/respond?action=reject&type=failure&data=3-"+strings.Repeat("B", 1100))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.HTML(); err != nil {
			b.Fatal(err)
		}
	}
}

func TestClipAndParagraphs(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{{"short", 10, "short"}, {"Zoë approves", 4, "Zoë…"}, {"a b c", 3, "a…"}} {
		if got := mail.Clip(tt.in, tt.n); got != tt.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
	if got := mail.Paragraphs("a", " ", "", "b"); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("Paragraphs = %q", got)
	}
}

func TestInert(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://evil.example/approve?x=1", "https[:]//evil[.]example/approve?x=1"},
		{"see www.evil.example.", "see www[.]evil[.]example."},
		{"evil.co/x and bob@corp.example.org", "evil[.]co/x and bob@corp[.]example[.]org"},
		{"ftp://1.2.3.4/x", "ftp[:]//1.2.3.4/x"},
		{"xn--80ak6aa92e.com", "xn--80ak6aa92e[.]com"},
		{"пример.рф", "пример[.]рф"},
		{"evil\u3002example", "evil[\u3002]example"},
		// Left alone: amounts, abbreviations, sentences, versions.
		{"EUR 1,240.00 for the team.", "EUR 1,240.00 for the team."},
		{"e.g. this, i.e. that", "e.g. this, i.e. that"},
		{"Done. Next step", "Done. Next step"},
		{"v1.2.3 and 3.14", "v1.2.3 and 3.14"},
		{"", ""},
	} {
		if got := mail.Inert(tc.in); got != tc.want {
			t.Errorf("Inert(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzInert(f *testing.F) {
	for _, s := range []string{"https://evil.example/a", "www.x.y", "a.bc", "1.00", "e.g.", "x\uFF0Eyz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := mail.Inert(s)
		if strings.Contains(got, "://") {
			t.Fatalf("Inert(%q) = %q keeps a scheme", s, got)
		}
		if again := mail.Inert(got); again != got {
			t.Fatalf("Inert is not idempotent: %q, then %q", got, again)
		}
		undo := strings.NewReplacer("[:]//", "://", "[.]", ".", "[\u3002]", "\u3002", "[\uFF0E]", "\uFF0E", "[\uFF61]", "\uFF61")
		if undo.Replace(got) != s && !strings.Contains(s, "[") {
			t.Fatalf("Inert(%q) = %q changed more than dots and schemes", s, got)
		}
	})
}

// TestRequesterLinks: links in the text of a message (which may come from
// whoever started the execution) are never links in the mail; only the
// buttons' are.
func TestRequesterLinks(t *testing.T) {
	m := approvalMessage("https://api.example.com/v1/respond?action=approve&data=3-AAA", "https://api.example.com/v1/respond?action=reject&data=3-BBB")
	m.Subject = "Approval needed: see https://evil.example/a"
	m.Paragraphs = []string{"Urgent! Use these instead:\n\nApprove:\nhttps://evil.example/respond?action=approve\n\nor www.evil.example, or mail boss@evil.example"}
	m.Footer = append(m.Footer, "Execution evil.example.")
	text, err := m.Text(mail.MaxLineLength)
	if err != nil {
		t.Fatal(err)
	}
	html, err := m.HTML()
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"text": text, "HTML": html, "SNS subject": mail.SNSSubject(m.Subject)} {
		if strings.Contains(body, "evil.example") || strings.Contains(body, "https://evil") {
			t.Errorf("the %s has a link of the requester's:\n%s", name, body)
		}
	}
	if strings.Count(text, "://") != 2 || strings.Count(html, "href=") != 2 {
		t.Errorf("want the two buttons' links only:\n%s", text)
	}
}

// TestButtonWithoutLink: a button with no link, or one that is not an
// absolute http(s) URL, stops the message: nothing is published or sent.
func TestButtonWithoutLink(t *testing.T) {
	ctx := context.Background()
	sns := awstest.NewSNS(t)
	topic := sns.AddTopic("approvals")
	ses := awstest.NewSES(t)
	ses.Verify("example.com")
	for _, link := range []string{"", " ", "/respond?x", "evil.example/respond", "javascript:alert(1)", "mailto:a@example.com", "https:///x"} {
		m := approvalMessage("https://api.example.com/a", link)
		if _, err := m.Text(0); err == nil || !strings.Contains(err.Error(), `"Reject" button has no link`) {
			t.Errorf("%q: Text: %v", link, err)
		}
		if _, err := m.HTML(); err == nil {
			t.Errorf("%q: HTML: no error", link)
		}
		if err := mail.NewSNS(sns.Client(), topic, 0).Send(ctx, m); err == nil {
			t.Errorf("%q: SNS: no error", link)
		}
		if err := mail.NewSES(ses.Client(), "approvals@example.com", "boss@example.org").Send(ctx, m); err == nil {
			t.Errorf("%q: SES: no error", link)
		}
	}
	if n, e := len(sns.Messages(topic)), len(ses.Emails()); n+e != 0 {
		t.Errorf("%d messages published, %d emails sent", n, e)
	}
}
