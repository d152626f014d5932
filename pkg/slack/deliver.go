package slack

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// hints say what to do about the refusals a delivery meets most.
var hints = map[string]string{
	"channel_not_found": "the channel does not exist, or the app cannot see it (for a private channel, invite the app first)",
	"not_in_channel":    "the app is not in the channel: invite it (/invite @app-name)",
	"is_archived":       "the channel is archived",
	"invalid_auth":      "the bot token is not valid (SLACK_BOT_TOKEN)",
	"not_authed":        "the bot token is missing (SLACK_BOT_TOKEN)",
	"missing_scope":     "the app lacks the chat:write scope",
	"msg_too_long":      "the message is too long for Slack",
	"invalid_blocks":    "Slack refused the message's blocks",
}

// Post posts an ask to a channel for package delivery: the message's ts,
// or a *callbackurls.DeliveryError naming Slack's error code (transient
// for a rate limit, whose wait it carries, or an outage).
func (c *Client) Post(ctx context.Context, channel string, message json.RawMessage) (string, error) {
	posted, err := c.PostMessage(ctx, channel, message)
	if err == nil {
		return posted.TS, nil
	}
	de := &callbackurls.DeliveryError{Channel: callbackurls.ChannelSlack, Code: "request_failed", Err: err}
	var ae *APIError
	if errors.As(err, &ae) {
		de.Code, de.Transient, de.Message = ae.Code, ae.Transient(), hints[ae.Code]
		if ae.Code == "ratelimited" && ae.Wait > 0 {
			de.Message = "Slack asks to wait " + strconv.Itoa(int(ae.Wait.Seconds())) + " s"
		}
	} else {
		// The token's read failed: an outage of Secrets Manager.
		de.Transient, de.Message = true, "the bot token could not be read"
	}
	return "", de
}
