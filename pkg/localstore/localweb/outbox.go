package localweb

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/pages"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/localstore"
)

// maxShownLetters is how many letters the dashboard shows.
const maxShownLetters = 20

// letterCSP lets a letter's HTML show as a mail client would: its inline
// styles, no script, nothing fetched, and links that open in a new tab
// (the sandbox keeps the page from acting on this origin).
const letterCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; " +
	"sandbox allow-popups allow-popups-to-escape-sandbox"

// serveOutbox answers GET /local/outbox (the letters as JSON, newest
// first) and GET /local/outbox/<id> (a letter's HTML).
func (h *handler) serveOutbox(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		httpapi.MethodNotAllowed(w, r, "GET, HEAD")
		return
	}
	id, one := strings.CutPrefix(r.URL.Path, outboxPath+"/")
	if !one {
		letters, err := h.outbox.Outbox(r.Context(), localstore.MaxOutbox)
		if err != nil {
			httpapi.Fail(w, r, err, "")
			return
		}
		httpapi.NoStore(w)
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"letters": letters})
		return
	}
	l, err := h.outbox.Letter(r.Context(), id)
	if errors.Is(err, localstore.ErrNoLetter) || (err == nil && l.HTML == "") {
		httpapi.Fail(w, r, callbackurls.Errorf(callbackurls.CodeNotFound, "the outbox has no HTML letter %q", id), "")
		return
	}
	if err != nil {
		httpapi.Fail(w, r, err, "")
		return
	}
	pages.Private(w)
	w.Header().Set("Content-Security-Policy", letterCSP)
	httpapi.WriteRaw(w, r, "text/html", http.StatusOK, l.HTML)
}

var channelText = map[string]string{"email": "Email", "sns": "SNS", "chat": "Teams and Slack"}

func letterView(l *localstore.Letter, zone *time.Location) pages.LetterView {
	v := pages.LetterView{ID: l.ID, Kind: l.Kind, Channel: l.Channel, ChannelText: channelText[l.Channel],
		Time: timeView(l.Time, zone), Subject: l.Subject, Text: l.Text, Topic: l.Topic,
		To: strings.Join(l.To, ", "), CC: strings.Join(l.CC, ", "), From: l.From, ReplyTo: l.ReplyTo,
		Teams: indent(l.Teams), Slack: indent(l.Slack)}
	if v.ChannelText == "" {
		v.ChannelText = l.Channel
	}
	if l.HTML != "" {
		v.View = outboxPath + "/" + l.ID
	}
	return v
}

func indent(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var b bytes.Buffer
	if json.Indent(&b, raw, "", "  ") != nil {
		return string(raw)
	}
	return b.String()
}
