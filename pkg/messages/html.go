package messages

import (
	"html"
	"strings"
)

// The HTML mail's colours. Every element sets its own background and text
// colour, so that a client's dark mode either keeps them all (a light
// card on its dark window) or inverts them all; none is left to a default
// that could turn dark text on a dark background. Each pair has a
// contrast of at least 4.5:1 (WCAG AA).
const (
	pageBG   = "#eef1f4"
	cardBG   = "#ffffff"
	ink      = "#1f2328"
	mutedInk = "#57606a"
	border   = "#d0d7de"
	fonts    = "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"
)

func (t tone) colour() string {
	switch t {
	case positive:
		return "#1a7f37"
	case negative:
		return "#b42318"
	}
	return "#3d4650"
}

// esc escapes text for an element's content or an attribute.
func esc(s string) string { return html.EscapeString(s) }

// escLines escapes text and keeps its line breaks.
func escLines(s string) string {
	return strings.ReplaceAll(esc(strings.ReplaceAll(s, "\r\n", "\n")), "\n", "<br>\n")
}

// writeHead writes the document up to the card's content.
func writeHead(sb *strings.Builder, subject string) {
	sb.WriteString(`<!DOCTYPE html>
<html lang="en" dir="ltr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="supported-color-schemes" content="light dark">
<meta name="x-apple-disable-message-reformatting">
<title>`)
	sb.WriteString(esc(subject))
	sb.WriteString(`</title>
</head>
<body style="margin:0;padding:0;background-color:` + pageBG + `;color:` + ink + `;">
<div role="article" aria-label="`)
	sb.WriteString(esc(subject))
	sb.WriteString(`" lang="en" style="background-color:` + pageBG + `;padding:24px 12px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:560px;margin:0 auto;border-collapse:separate;background-color:` + cardBG + `;border:1px solid ` + border + `;border-radius:8px;">
<tr><td style="padding:24px;font-family:` + fonts + `;color:` + ink + `;background-color:` + cardBG + `;border-radius:8px;">
`)
}

const htmlTail = `</td></tr>
</table>
</div>
</body>
</html>
`

func writePara(sb *strings.Builder, text, size, colour, margin string) {
	sb.WriteString(`<p style="margin:` + margin + `;font-size:` + size + `;line-height:1.5;color:` + colour + `;">`)
	sb.WriteString(escLines(text))
	sb.WriteString("</p>\n")
}

// html is the HTML body: the title as a heading, the description, one
// full-width button per action (stacked: a thumb hits each on a phone),
// its hint under it, and the small print.
func (v *askView) html() string {
	var sb strings.Builder
	sb.Grow(4096 + 2*len(v.description))
	writeHead(&sb, v.subject)
	sb.WriteString(`<h1 style="margin:0 0 16px;font-size:22px;line-height:1.3;font-weight:700;color:` + ink + `;">`)
	sb.WriteString(esc(v.subject))
	sb.WriteString("</h1>\n")
	if v.description != "" {
		writePara(&sb, v.description, "16px", ink, "0 0 16px")
	}
	writePara(&sb, v.lead, "16px", ink, "0 0 12px")
	for _, b := range v.buttons {
		c := b.tone.colour()
		sb.WriteString(`<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="margin:0 0 12px;"><tr><td style="border-radius:6px;background-color:` + c + `;">`)
		sb.WriteString(`<a href="`)
		sb.WriteString(esc(b.url))
		sb.WriteString(`" target="_blank" style="display:block;padding:14px 20px;border:2px solid ` + c + `;border-radius:6px;background-color:` + c + `;color:#ffffff;font-family:` + fonts + `;font-size:17px;font-weight:700;line-height:1.2;text-align:center;text-decoration:none;">`)
		sb.WriteString(esc(b.label))
		sb.WriteString("</a></td></tr></table>\n")
		if b.hint != "" {
			writePara(&sb, b.label+": "+b.hint+".", "14px", mutedInk, "-4px 0 12px")
		}
	}
	if len(v.notes) > 0 {
		sb.WriteString(`<hr style="border:0;border-top:1px solid ` + border + `;margin:20px 0 12px;">` + "\n")
		for _, n := range v.notes {
			writePara(&sb, n, "14px", mutedInk, "0 0 6px")
		}
	}
	sb.WriteString(htmlTail)
	return sb.String()
}

// html is the confirmation's HTML body.
func (v *confirmView) html() string {
	var sb strings.Builder
	sb.Grow(4096)
	writeHead(&sb, v.subject)
	c := v.tone.colour()
	sb.WriteString(`<p style="margin:0 0 8px;font-size:14px;font-weight:700;letter-spacing:0.02em;color:` + c + `;">`)
	sb.WriteString(esc(v.heading))
	sb.WriteString("</p>\n")
	sb.WriteString(`<h1 style="margin:0 0 16px;font-size:22px;line-height:1.3;font-weight:700;color:` + ink + `;">`)
	if v.title != "" {
		sb.WriteString(esc(v.title))
	} else {
		sb.WriteString(esc(v.subject))
	}
	sb.WriteString("</h1>\n")
	for _, l := range v.lines {
		writePara(&sb, l, "16px", ink, "0 0 16px")
	}
	if len(v.values) > 0 {
		sb.WriteString(`<dl style="margin:0 0 16px;padding:12px 16px;border-left:4px solid ` + c + `;background-color:#f6f8fa;color:` + ink + `;">` + "\n")
		for _, val := range v.values {
			sb.WriteString(`<dt style="margin:0;font-size:14px;font-weight:700;color:` + ink + `;">`)
			sb.WriteString(esc(val.label))
			sb.WriteString(`</dt><dd style="margin:0 0 8px;font-size:16px;line-height:1.5;color:` + ink + `;">`)
			sb.WriteString(escLines(val.text))
			sb.WriteString("</dd>\n")
		}
		sb.WriteString("</dl>\n")
	}
	if v.description != "" {
		writePara(&sb, v.description, "15px", mutedInk, "0 0 16px")
	}
	if len(v.notes) > 0 {
		sb.WriteString(`<hr style="border:0;border-top:1px solid ` + border + `;margin:20px 0 12px;">` + "\n")
		for _, n := range v.notes {
			writePara(&sb, n, "14px", mutedInk, "0 0 6px")
		}
	}
	sb.WriteString(htmlTail)
	return sb.String()
}
