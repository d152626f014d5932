package samtemplate

import (
	"slices"
	"testing"
)

// TestSlackGrants: the Slack app's secrets reach the functions that need
// them and no other: the signing secret ProcessCallback alone (CreateUrls
// gets its ARN, to know clicks are taken, and cannot read it), the bot
// token both; without them, neither variable nor grant.
func TestSlackGrants(t *testing.T) {
	const (
		secretArn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:slack/signing-AbCdEf"
		tokenArn  = "arn:aws:secretsmanager:us-east-1:123456789012:secret:slack/bot-AbCdEf"
	)
	doc := loadTemplate(t)
	read := func(arn string) string { return "secretsmanager:GetSecretValue on " + arn }
	cases := []struct {
		name                  string
		params                map[string]string
		createReads, procRead []string
		env                   map[string]string
	}{
		{"none", nil, nil, nil, nil},
		{"signing secret", map[string]string{"SlackSigningSecretArn": secretArn}, nil, []string{secretArn},
			map[string]string{"SLACK_SIGNING_SECRET_ARN": secretArn}},
		{"both", map[string]string{"SlackSigningSecretArn": secretArn, "SlackBotTokenArn": tokenArn}, []string{tokenArn}, []string{secretArn, tokenArn},
			map[string]string{"SLACK_SIGNING_SECRET_ARN": secretArn, "SLACK_BOT_TOKEN_ARN": tokenArn}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := evaluate(t, doc, c.params)
			if f := s.ruleFailures(); len(f) > 0 {
				t.Fatalf("rules: %v", f)
			}
			for fn, arns := range map[string][]string{"CreateUrlsFunction": c.createReads, "ProcessCallbackFunction": c.procRead} {
				grants := s.grants(fn)
				for _, arn := range []string{secretArn, tokenArn} {
					if has, want := slices.Contains(grants, read(arn)), slices.Contains(arns, arn); has != want {
						t.Errorf("%s may read %s: %v, want %v", fn, arn, has, want)
					}
				}
				env := s.functionEnv(fn)
				for _, name := range []string{"SLACK_SIGNING_SECRET_ARN", "SLACK_BOT_TOKEN_ARN"} {
					if env[name] != c.env[name] {
						t.Errorf("%s: %s = %q, want %q", fn, name, env[name], c.env[name])
					}
				}
			}
			if _, ok := s.output("SlackRequestUrl"); ok != (c.params["SlackSigningSecretArn"] != "") {
				t.Errorf("SlackRequestUrl output: %v", ok)
			}
		})
	}
}
