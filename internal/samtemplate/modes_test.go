package samtemplate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/config"
)

// Sample values for parameters that name AWS resources.
const (
	givenKeyArn    = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	oldKeyArn      = "arn:aws:kms:us-east-1:123456789012:key/0000abcd-12ab-34cd-56ef-1234567890ab"
	olderKeyArn    = "arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab"
	keyringArn     = "arn:aws:secretsmanager:us-east-1:123456789012:secret:sfn-callback-urls/keyring-AbCdEf"
	createdKey     = "<EncryptionKey>"
	createdKeyArn  = "<EncryptionKey.Arn>"
	gateKeyArn     = "arn:aws:kms:us-east-1:123456789012:key/9999abcd-12ab-34cd-56ef-1234567890ab"
	createdGate    = "<UrlGateKey>"
	createdGateArn = "<UrlGateKey.Arn>"
	sendTaskGrants = "states:SendTask*"
)

// ---------------------------------------------------------------- parameters

// The reference's parameters keep its names, values and defaults, so that
// an existing deployment's --parameter-overrides work unchanged.
func TestReferenceParameters(t *testing.T) {
	doc := loadTemplate(t)
	boolean := []any{"true", "false"}
	for name, want := range map[string]struct {
		def     string
		allowed []any
	}{
		"DisableEncryption":      {"false", boolean},
		"EncryptionKeyArn":       {"NONE", nil},
		"EnableOutputParameters": {"false", boolean},
		"EnablePostActions":      {"false", boolean},
		"VerboseLogging":         {"false", boolean},
	} {
		p := mapAt(doc, "Parameters", name)
		if p == nil {
			t.Errorf("parameter %s missing", name)
			continue
		}
		if p["Type"] != "String" || p["Default"] != want.def {
			t.Errorf("%s: Type %v, Default %v; want String, %q", name, p["Type"], p["Default"], want.def)
		}
		if want.allowed != nil && !slices.Equal(sortedStrings(p["AllowedValues"]), sortedStrings(want.allowed)) {
			t.Errorf("%s: AllowedValues %v, want %v", name, p["AllowedValues"], want.allowed)
		}
	}

	// What a reference deployment passes is accepted.
	for _, kv := range strings.Fields("DisableEncryption=false DisableEncryption=true EncryptionKeyArn=NONE " +
		"EncryptionKeyArn=" + givenKeyArn + " EnableOutputParameters=true EnablePostActions=true VerboseLogging=true") {
		name, value, _ := strings.Cut(kv, "=")
		if err := checkParameter(doc, name, value); err != nil {
			t.Error(err)
		}
	}
}

func sortedStrings(v any) []string {
	s := stringList(v)
	slices.Sort(s)
	return s
}

func TestParameterConstraints(t *testing.T) {
	doc := loadTemplate(t)
	for _, c := range []struct {
		name, value string
		ok          bool
	}{
		{"EncryptionKeyArn", givenKeyArn, true},
		{"EncryptionKeyArn", "arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab", true},
		{"EncryptionKeyArn", "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", true},
		// IAM cannot grant a key by alias: the functions' policies name the ARN.
		{"EncryptionKeyArn", "arn:aws:kms:us-east-1:123456789012:alias/my-key", false},
		{"EncryptionKeyArn", "alias/my-key", false},
		{"EncryptionKeyArn", "1234abcd-12ab-34cd-56ef-1234567890ab", false},
		{"EncryptionKeyArn", "", false},
		{"KeyringSecretArn", "NONE", true},
		{"KeyringSecretArn", keyringArn, true},
		{"KeyringSecretArn", "sfn-callback-urls/keyring", false},
		{"KeyringSecretArn", "arn:aws:ssm:us-east-1:123456789012:parameter/keyring", false},
		{"PreviousKeyArns", "NONE", true},
		{"PreviousKeyArns", oldKeyArn, true},
		{"PreviousKeyArns", oldKeyArn + "," + olderKeyArn, true},
		{"PreviousKeyArns", oldKeyArn + ", " + olderKeyArn, false},
		{"PreviousKeyArns", oldKeyArn + ",", false},
		{"KmsColdCallsPerSecond", "0.5", true},
		{"KmsColdCallsPerSecond", "0", false},
		{"KmsColdCallsBurst", "0", false},
		{"CreatedKeySpec", "HMAC_256", true},
		{"CreatedKeySpec", "SYMMETRIC_DEFAULT", true},
		{"CreatedKeySpec", "HMAC_512", false},
		{"GateKey", "NONE", true},
		{"GateKey", "CREATE", true},
		{"GateKey", gateKeyArn, true},
		{"GateKey", "alias/gate", false},
		{"GateKey", "create", false},
		{"MaxUrlLength", "2000", true},
		{"MaxUrlLength", "255", false},
		{"MaxUrlLength", "10241", false},
		{"LogRetentionInDays", "14", true},
		{"LogRetentionInDays", "10", false},
		{"StageName", "prod_2", true},
		{"StageName", "prod-2", false},
		{"ConfirmBrowserGet", "false", true},
		{"ApiAccessLogs", "false", true},
		{"CreateApiGatewayLoggingRole", "true", true},
	} {
		err := checkParameter(doc, c.name, c.value)
		if (err == nil) != c.ok {
			t.Errorf("%s=%q: accepted %v, want %v (%v)", c.name, c.value, err == nil, c.ok, err)
		}
	}
}

// ---------------------------------------------------------------- key modes

// keyMode is one way to deploy the template, and what it must give.
type keyMode struct {
	name      string
	overrides map[string]string
	// refused: the template's Rules refuse these values (the conditions
	// must still give one key source, in case a tool skips the rules).
	refused bool
	// keySource is the setting config.Config.KeySource picks ("" for
	// DISABLE_ENCRYPTION=true), value its value.
	keySource, value string
	previous         []string // ProcessCallback's PREVIOUS_KEY_IDS
	gate             string   // both functions' GATE_KEY_ID, "" for none
	gateCreated      bool     // the stack creates the gate key
	output           string   // the KeyMode output
	keySpec          string   // the created key's KeySpec, "" for none
	create, process  []string
}

var keyModes = []keyMode{
	{
		name:      "default: created HMAC key",
		keySource: "KEY_ID", value: createdKeyArn, output: "kms-hmac", keySpec: "HMAC_256",
		create: []string{
			"kms:DescribeKey on " + createdKey,
			"kms:GenerateMac on " + createdKey + " if StringEquals kms:MacAlgorithm=HMAC_SHA_256",
		},
		process: []string{
			"kms:DescribeKey on " + createdKey,
			"kms:GenerateMac on " + createdKey + " if StringEquals kms:MacAlgorithm=HMAC_SHA_256",
			sendTaskGrants,
		},
	},
	{
		name:      "created symmetric key: envelope",
		overrides: map[string]string{"CreatedKeySpec": "SYMMETRIC_DEFAULT"},
		keySource: "KEY_ID", value: createdKeyArn, output: "kms-envelope", keySpec: "SYMMETRIC_DEFAULT",
		create: []string{
			"kms:DescribeKey on " + createdKey,
			"kms:GenerateDataKey on " + createdKey + " if StringEquals kms:EncryptionContext:service=sfn-callback-urls",
		},
		process: []string{
			"kms:Decrypt on " + createdKey + " if StringEquals kms:EncryptionContext:service=sfn-callback-urls",
			"kms:DescribeKey on " + createdKey,
			sendTaskGrants,
		},
	},
	{
		name:      "given key of either kind",
		overrides: map[string]string{"EncryptionKeyArn": givenKeyArn},
		keySource: "KEY_ID", value: givenKeyArn, output: "kms-given",
		create: []string{
			"kms:DescribeKey on " + givenKeyArn,
			"kms:GenerateDataKey on " + givenKeyArn + " if StringEquals kms:EncryptionContext:service=sfn-callback-urls",
			"kms:GenerateMac on " + givenKeyArn + " if StringEquals kms:MacAlgorithm=HMAC_SHA_256",
		},
		process: []string{
			"kms:Decrypt on " + givenKeyArn + " if StringEquals kms:EncryptionContext:service=sfn-callback-urls",
			"kms:DescribeKey on " + givenKeyArn,
			"kms:GenerateMac on " + givenKeyArn + " if StringEquals kms:MacAlgorithm=HMAC_SHA_256",
			sendTaskGrants,
		},
	},
	{
		name:      "created symmetric key gated by a created HMAC key",
		overrides: map[string]string{"CreatedKeySpec": "SYMMETRIC_DEFAULT", "GateKey": "CREATE"},
		keySource: "KEY_ID", value: createdKeyArn, output: "kms-envelope", keySpec: "SYMMETRIC_DEFAULT",
		gate: createdGateArn, gateCreated: true,
		create: []string{
			"kms:DescribeKey on " + createdKey,
			"kms:DescribeKey on " + createdGate,
			"kms:GenerateDataKey on " + createdKey + " if StringEquals kms:EncryptionContext:service=sfn-callback-urls",
			"kms:GenerateMac on " + createdGate + " if StringEquals kms:MacAlgorithm=HMAC_SHA_256",
		},
		process: []string{
			"kms:Decrypt on " + createdKey + " if StringEquals kms:EncryptionContext:service=sfn-callback-urls",
			"kms:DescribeKey on " + createdKey,
			"kms:DescribeKey on " + createdGate,
			"kms:GenerateMac on " + createdGate + " if StringEquals kms:MacAlgorithm=HMAC_SHA_256",
			sendTaskGrants,
		},
	},
	{
		name:      "given key gated by a given HMAC key",
		overrides: map[string]string{"EncryptionKeyArn": givenKeyArn, "GateKey": gateKeyArn},
		keySource: "KEY_ID", value: givenKeyArn, output: "kms-given", gate: gateKeyArn,
		create: []string{
			"kms:DescribeKey on " + gateKeyArn,
			"kms:DescribeKey on " + givenKeyArn,
			"kms:GenerateDataKey on " + givenKeyArn + " if StringEquals kms:EncryptionContext:service=sfn-callback-urls",
			"kms:GenerateMac on " + gateKeyArn + " if StringEquals kms:MacAlgorithm=HMAC_SHA_256",
			"kms:GenerateMac on " + givenKeyArn + " if StringEquals kms:MacAlgorithm=HMAC_SHA_256",
		},
		process: []string{
			"kms:Decrypt on " + givenKeyArn + " if StringEquals kms:EncryptionContext:service=sfn-callback-urls",
			"kms:DescribeKey on " + gateKeyArn,
			"kms:DescribeKey on " + givenKeyArn,
			"kms:GenerateMac on " + gateKeyArn + " if StringEquals kms:MacAlgorithm=HMAC_SHA_256",
			"kms:GenerateMac on " + givenKeyArn + " if StringEquals kms:MacAlgorithm=HMAC_SHA_256",
			sendTaskGrants,
		},
	},
	{
		name:      "created HMAC key and a gate key: refused, the key gates itself",
		overrides: map[string]string{"GateKey": "CREATE"},
		refused:   true,
		keySource: "KEY_ID", value: createdKeyArn, output: "kms-hmac", keySpec: "HMAC_256",
		create: []string{
			"kms:DescribeKey on " + createdKey,
			"kms:GenerateMac on " + createdKey + " if StringEquals kms:MacAlgorithm=HMAC_SHA_256",
		},
		process: []string{
			"kms:DescribeKey on " + createdKey,
			"kms:GenerateMac on " + createdKey + " if StringEquals kms:MacAlgorithm=HMAC_SHA_256",
			sendTaskGrants,
		},
	},
	{
		name:      "created key, after a move from two others",
		overrides: map[string]string{"PreviousKeyArns": oldKeyArn + "," + olderKeyArn},
		keySource: "KEY_ID", value: createdKeyArn, output: "kms-hmac", keySpec: "HMAC_256",
		previous: []string{oldKeyArn, olderKeyArn},
		create: []string{
			"kms:DescribeKey on " + createdKey,
			"kms:GenerateMac on " + createdKey + " if StringEquals kms:MacAlgorithm=HMAC_SHA_256",
		},
		process: []string{
			"kms:Decrypt on " + oldKeyArn + " if StringEquals kms:EncryptionContext:service=sfn-callback-urls",
			"kms:Decrypt on " + olderKeyArn + " if StringEquals kms:EncryptionContext:service=sfn-callback-urls",
			"kms:DescribeKey on " + createdKey,
			"kms:DescribeKey on " + oldKeyArn,
			"kms:DescribeKey on " + olderKeyArn,
			"kms:GenerateMac on " + createdKey + " if StringEquals kms:MacAlgorithm=HMAC_SHA_256",
			"kms:GenerateMac on " + oldKeyArn + " if StringEquals kms:MacAlgorithm=HMAC_SHA_256",
			"kms:GenerateMac on " + olderKeyArn + " if StringEquals kms:MacAlgorithm=HMAC_SHA_256",
			sendTaskGrants,
		},
	},
	{
		name:      "static keyring in Secrets Manager",
		overrides: map[string]string{"KeyringSecretArn": keyringArn},
		keySource: "KEYRING_SECRET_ID", value: keyringArn, output: "keyring-secret",
		create:  []string{"secretsmanager:GetSecretValue on " + keyringArn},
		process: []string{"secretsmanager:GetSecretValue on " + keyringArn, sendTaskGrants},
	},
	{
		name:      "keyring and key ARN: refused, the keyring wins",
		overrides: map[string]string{"KeyringSecretArn": keyringArn, "EncryptionKeyArn": givenKeyArn},
		refused:   true,
		keySource: "KEYRING_SECRET_ID", value: keyringArn, output: "keyring-secret",
		create:  []string{"secretsmanager:GetSecretValue on " + keyringArn},
		process: []string{"secretsmanager:GetSecretValue on " + keyringArn, sendTaskGrants},
	},
	{
		name:      "keyring and previous KMS keys: refused, no previous keys",
		overrides: map[string]string{"KeyringSecretArn": keyringArn, "PreviousKeyArns": oldKeyArn},
		refused:   true,
		keySource: "KEYRING_SECRET_ID", value: keyringArn, output: "keyring-secret",
		create:  []string{"secretsmanager:GetSecretValue on " + keyringArn},
		process: []string{"secretsmanager:GetSecretValue on " + keyringArn, sendTaskGrants},
	},
	{
		name:      "encryption disabled",
		overrides: map[string]string{"DisableEncryption": "true"},
		output:    "unencrypted",
		process:   []string{sendTaskGrants},
	},
	{
		name:      "encryption disabled ignores the key ARN, as the reference does",
		overrides: map[string]string{"DisableEncryption": "true", "EncryptionKeyArn": givenKeyArn},
		output:    "unencrypted",
		process:   []string{sendTaskGrants},
	},
	{
		name:      "encryption disabled ignores the keyring too",
		overrides: map[string]string{"DisableEncryption": "true", "KeyringSecretArn": keyringArn},
		output:    "unencrypted",
		process:   []string{sendTaskGrants},
	},
	{
		name:      "keyring and a gate key: refused, no KMS key to gate",
		overrides: map[string]string{"KeyringSecretArn": keyringArn, "GateKey": gateKeyArn},
		refused:   true,
		keySource: "KEYRING_SECRET_ID", value: keyringArn, output: "keyring-secret",
		create:  []string{"secretsmanager:GetSecretValue on " + keyringArn},
		process: []string{"secretsmanager:GetSecretValue on " + keyringArn, sendTaskGrants},
	},
	{
		name:      "encryption disabled and a gate key: refused",
		overrides: map[string]string{"DisableEncryption": "true", "CreatedKeySpec": "SYMMETRIC_DEFAULT", "GateKey": "CREATE"},
		refused:   true,
		output:    "unencrypted",
		process:   []string{sendTaskGrants},
	},
}

// Each mode's environment, read by the code's own settings, gives exactly
// one key source (or none with DISABLE_ENCRYPTION=true), the one intended.
func TestKeyModesReachTheCode(t *testing.T) {
	doc := loadTemplate(t)
	for _, m := range keyModes {
		t.Run(m.name, func(t *testing.T) {
			s := evaluate(t, doc, m.overrides)
			if failed := s.ruleFailures(); (len(failed) > 0) != m.refused {
				t.Errorf("rules failed: %v; want refused %v", failed, m.refused)
			}
			for _, id := range functionIDs {
				env := s.functionEnv(id)
				settings, err := config.FromEnv(func(k string) string { return env[k] })
				if err != nil {
					t.Fatalf("%s: config.FromEnv: %v", id, err)
				}
				if err := settings.Check(); err != nil {
					t.Fatalf("%s: the code refuses its environment: %v\n%v", id, err, env)
				}
				if got := settings.KeySource(); got != m.keySource {
					t.Errorf("%s: key source %q, want %q", id, got, m.keySource)
				}
				if m.keySource != "" && env[m.keySource] != m.value {
					t.Errorf("%s: %s=%q, want %q", id, m.keySource, env[m.keySource], m.value)
				}
				if settings.DisableEncryption != (m.keySource == "") {
					t.Errorf("%s: DisableEncryption %v with key source %q", id, settings.DisableEncryption, m.keySource)
				}
				// Only callbacks open URLs of previous keys.
				var previous []string
				if id == "ProcessCallbackFunction" {
					previous = m.previous
				}
				if !slices.Equal(settings.PreviousKeyIDs, previous) {
					t.Errorf("%s: previous keys %v, want %v", id, settings.PreviousKeyIDs, previous)
				}
				if settings.GateKeyID != m.gate {
					t.Errorf("%s: GATE_KEY_ID %q, want %q", id, settings.GateKeyID, m.gate)
				}
			}
			if got, _ := s.output("KeyMode"); got != m.output {
				t.Errorf("KeyMode output %q, want %q", got, m.output)
			}
			key, created := s.resources()["EncryptionKey"]
			if created != (m.keySpec != "") {
				t.Fatalf("key created %v, want KeySpec %q", created, m.keySpec)
			}
			if created {
				props := mapAt(key, "Properties")
				usage := map[string]string{"HMAC_256": "GENERATE_VERIFY_MAC", "SYMMETRIC_DEFAULT": "ENCRYPT_DECRYPT"}[m.keySpec]
				// KMS rotates only symmetric encryption keys.
				rotation := m.keySpec == "SYMMETRIC_DEFAULT"
				if props["KeySpec"] != m.keySpec || props["KeyUsage"] != usage || props["EnableKeyRotation"] != rotation {
					t.Errorf("key: KeySpec %v, KeyUsage %v, EnableKeyRotation %v; want %s, %s, %v",
						props["KeySpec"], props["KeyUsage"], props["EnableKeyRotation"], m.keySpec, usage, rotation)
				}
				// Outstanding URLs outlive a replaced key or a deleted stack.
				if key["DeletionPolicy"] != "Retain" || key["UpdateReplacePolicy"] != "Retain" {
					t.Errorf("key: DeletionPolicy %v, UpdateReplacePolicy %v; want Retain", key["DeletionPolicy"], key["UpdateReplacePolicy"])
				}
			}
			// A created gate key is an HMAC key, kept as the encryption
			// key is (its URLs outlive the stack's choice).
			gateKey, gateCreated := s.resources()["UrlGateKey"]
			if gateCreated != m.gateCreated {
				t.Errorf("gate key created %v, want %v", gateCreated, m.gateCreated)
			}
			if gateCreated {
				props := mapAt(gateKey, "Properties")
				if props["KeySpec"] != "HMAC_256" || props["KeyUsage"] != "GENERATE_VERIFY_MAC" ||
					gateKey["DeletionPolicy"] != "Retain" || gateKey["UpdateReplacePolicy"] != "Retain" {
					t.Errorf("gate key: %v %v, DeletionPolicy %v, UpdateReplacePolicy %v", props["KeySpec"], props["KeyUsage"], gateKey["DeletionPolicy"], gateKey["UpdateReplacePolicy"])
				}
			}
			if got, ok := s.output("GateKeyArn"); ok != m.gateCreated || (ok && got != createdGateArn) {
				t.Errorf("GateKeyArn output %q (present %v), want it only for a created gate key", got, ok)
			}
			arn, hasArn := s.output("KeyArn")
			if wantArn := m.keySource == "KEY_ID"; hasArn != wantArn || (hasArn && arn != m.value) {
				t.Errorf("KeyArn output %q (present %v), want %q", arn, hasArn, m.value)
			}
		})
	}
}

// Least privilege in every mode: each role may do exactly what its function
// needs with the key, the keyring and Step Functions, and nothing else.
func TestKeyModePermissions(t *testing.T) {
	doc := loadTemplate(t)
	for _, m := range keyModes {
		t.Run(m.name, func(t *testing.T) {
			s := evaluate(t, doc, m.overrides)
			for id, want := range map[string][]string{"CreateUrlsFunction": m.create, "ProcessCallbackFunction": m.process} {
				got := s.grants(id)
				// The three Send* actions, on "*" (task tokens are not IAM
				// resources), read as one line.
				sends := []string{"states:SendTaskFailure on *", "states:SendTaskHeartbeat on *", "states:SendTaskSuccess on *"}
				if i := slices.Index(got, sends[0]); i >= 0 && len(got) >= i+3 && slices.Equal(got[i:i+3], sends) {
					got = slices.Replace(got, i, i+3, sendTaskGrants)
				}
				// Every mode: the function's own log group, for Lambda.
				want = append(slices.Clone(want), ownLogGrants(id)...)
				want = slices.Sorted(slices.Values(want))
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s grants (-want +got):\n%s", id, diff)
				}
			}
		})
	}
}

// ownLogGrants is what a function's role may do with logs: write to the
// streams of the function's own log group, which the stack creates.
func ownLogGrants(functionID string) []string {
	streams := "arn:aws:logs:us-east-1:123456789012:log-group:<" + strings.TrimSuffix(functionID, "Function") + "LogGroup>:*"
	return []string{"logs:CreateLogStream on " + streams, "logs:PutLogEvents on " + streams}
}

// Settings beside the keys reach the function that uses them.
func TestSettingsReachTheCode(t *testing.T) {
	doc := loadTemplate(t)
	read := func(s *stack, id string) config.Config {
		env := s.functionEnv(id)
		settings, err := config.FromEnv(func(k string) string { return env[k] })
		if err == nil {
			err = settings.Check()
		}
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		return settings
	}

	def := evaluate(t, doc, nil)
	for _, id := range functionIDs {
		c := read(def, id)
		if c.EnableOutputParameters || c.EnablePostActions || c.Verbose || (c.BrowserGET == callbackurls.ActOnBrowserGET) {
			t.Errorf("%s: defaults give output parameters %v, post actions %v, verbose %v, one click %v; want all off",
				id, c.EnableOutputParameters, c.EnablePostActions, c.Verbose, (c.BrowserGET == callbackurls.ActOnBrowserGET))
		}
	}
	create := read(def, "CreateUrlsFunction")
	if create.APIID != "<Api>" || create.Stage != "v1" {
		t.Errorf("CreateUrls: API_ID %q, STAGE %q; want the API and stage v1 (direct invokes build URLs from them)", create.APIID, create.Stage)
	}
	if create.MaxURLLength != 8192 {
		t.Errorf("CreateUrls: MaxURLLength %d, want 8192", create.MaxURLLength)
	}

	if c := read(def, "ProcessCallbackFunction"); c.KMSColdCallsPerSecond != 10 || c.KMSColdCallsBurst != 20 {
		t.Errorf("ProcessCallback: cold KMS calls %v/s, burst %d; want 10, 20", c.KMSColdCallsPerSecond, c.KMSColdCallsBurst)
	}

	on := evaluate(t, doc, map[string]string{
		"EnableOutputParameters": "true", "EnablePostActions": "true", "VerboseLogging": "true",
		"ConfirmBrowserGet": "false", "MaxUrlLength": "2000", "StageName": "prod",
		"KmsColdCallsPerSecond": "2.5", "KmsColdCallsBurst": "5",
	})
	for _, id := range functionIDs {
		c := read(on, id)
		if !c.EnableOutputParameters || !c.EnablePostActions || !c.Verbose {
			t.Errorf("%s: output parameters %v, post actions %v, verbose %v; want all on", id, c.EnableOutputParameters, c.EnablePostActions, c.Verbose)
		}
	}
	if c := read(on, "ProcessCallbackFunction"); !(c.BrowserGET == callbackurls.ActOnBrowserGET) || c.KMSColdCallsPerSecond != 2.5 || c.KMSColdCallsBurst != 5 {
		t.Errorf("ProcessCallback: one click %v, cold KMS calls %v/s, burst %d; want true, 2.5, 5", (c.BrowserGET == callbackurls.ActOnBrowserGET), c.KMSColdCallsPerSecond, c.KMSColdCallsBurst)
	}
	if c := read(on, "CreateUrlsFunction"); c.MaxURLLength != 2000 || c.Stage != "prod" {
		t.Errorf("CreateUrls: MaxURLLength %d, STAGE %q; want 2000, prod", c.MaxURLLength, c.Stage)
	}
}

// ---------------------------------------------------------------- outputs

func TestOutputs(t *testing.T) {
	doc := loadTemplate(t)
	ref := func(s string) any { return map[string]any{"Ref": s} }
	att := func(r, a string) any { return map[string]any{"Fn::GetAtt": []any{r, a}} }
	// The reference's outputs and the ones the examples' templates take as
	// parameters keep their names and meanings.
	for name, want := range map[string]any{
		"Api":         map[string]any{"Fn::Sub": "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${StageName}"},
		"Function":    ref("CreateUrlsFunction"),
		"FunctionArn": att("CreateUrlsFunction", "Arn"),
		"Policy":      ref("CreateUrlsCallerPolicy"),
		"ApiId":       ref("Api"),
	} {
		if got := mapAt(doc, "Outputs", name)["Value"]; !reflect.DeepEqual(got, want) {
			t.Errorf("output %s = %#v, want %#v", name, got, want)
		}
	}
	for name, o := range section(doc, "Outputs") {
		if d, _ := mapAt(o)["Description"].(string); d == "" {
			t.Errorf("output %s has no description", name)
		}
	}
	s := evaluate(t, doc, nil)
	for _, name := range []string{"CreateUrlsLogGroup", "ProcessCallbackLogGroup", "ApiAccessLogGroup", "KeyAlias", "CreateUrlsRoleArn", "ProcessCallbackRoleArn", "CallbackFunction"} {
		if _, ok := s.output(name); !ok {
			t.Errorf("output %s missing from a default deployment", name)
		}
	}
}

// ---------------------------------------------------------------- logs

func TestLogGroups(t *testing.T) {
	doc := loadTemplate(t)
	s := evaluate(t, doc, map[string]string{"LogRetentionInDays": "14"})
	res := s.resources()
	for _, id := range functionIDs {
		fn := res[id]
		name, _ := mapAt(fn, "Properties")["FunctionName"].(string)
		group := mapAt(fn, "Properties", "LoggingConfig")["LogGroup"]
		groupID := strings.Trim(group.(string), "<>")
		lg := res[groupID]
		if lg["Type"] != "AWS::Logs::LogGroup" {
			t.Errorf("%s logs to %v, not a log group of the stack", id, group)
			continue
		}
		props := mapAt(lg, "Properties")
		if props["LogGroupName"] != "/aws/lambda/"+name {
			t.Errorf("%s: log group %v, want /aws/lambda/%s", id, props["LogGroupName"], name)
		}
		if props["RetentionInDays"] != "14" {
			t.Errorf("%s: retention %v, want LogRetentionInDays", id, props["RetentionInDays"])
		}
	}
	if r := mapAt(res["ApiAccessLogGroup"], "Properties")["RetentionInDays"]; r != "14" {
		t.Errorf("access log retention %v, want LogRetentionInDays", r)
	}

	off := evaluate(t, doc, map[string]string{"ApiAccessLogs": "false"}).resources()
	if _, ok := off["ApiAccessLogGroup"]; ok {
		t.Error("ApiAccessLogs=false still creates the access log group")
	}
	if _, ok := mapAt(off["Api"], "Properties")["AccessLogSetting"]; ok {
		t.Error("ApiAccessLogs=false still sets AccessLogSetting")
	}
	if _, ok := off["ApiGatewayAccount"]; ok {
		t.Error("the account's logging role is set without CreateApiGatewayLoggingRole")
	}

	// Setting the region's logging role: the role stays for the region's
	// other APIs, and the stage is created after the setting.
	withRole := evaluate(t, doc, map[string]string{"CreateApiGatewayLoggingRole": "true"}).resources()
	for _, id := range []string{"ApiGatewayLoggingRole", "ApiGatewayAccount"} {
		r, ok := withRole[id]
		if !ok {
			t.Fatalf("CreateApiGatewayLoggingRole=true makes no %s", id)
		}
		if r["DeletionPolicy"] != "Retain" || r["UpdateReplacePolicy"] != "Retain" {
			t.Errorf("%s: DeletionPolicy %v, UpdateReplacePolicy %v; want Retain", id, r["DeletionPolicy"], r["UpdateReplacePolicy"])
		}
	}
	if got := mapAt(withRole["ApiAccessLogGroup"], "Metadata")["AfterAccountSetting"]; got != "<ApiGatewayAccount>" {
		t.Errorf("the access log group does not wait for the account setting: Metadata %v", got)
	}
	if c := findCycle(dependencies(doc)); c != nil {
		t.Errorf("cycle: %v", c)
	}
}

// accessLogVariables are the $context variables the access log may use:
// none of them can hold the query string or the path the client sent.
var accessLogVariables = []string{
	"requestId", "extendedRequestId", "requestTime", "requestTimeEpoch", "httpMethod", "resourcePath",
	"resourceId", "stage", "status", "protocol", "responseLength", "responseLatency", "integrationLatency",
	"integrationStatus", "identity.sourceIp", "identity.userAgent", "identity.caller", "identity.userArn",
	"identity.accountId", "error.message", "error.responseType", "apiId", "domainName", "wafResponseCode",
}

func TestAccessLogNeverRecordsTheQuery(t *testing.T) {
	doc := loadTemplate(t)
	props := mapAt(evaluate(t, doc, nil).resources()["Api"], "Properties")
	setting := mapAt(props, "AccessLogSetting")
	if setting["DestinationArn"] != "<ApiAccessLogGroup.Arn>" {
		t.Errorf("access logs go to %v", setting["DestinationArn"])
	}
	format, _ := setting["Format"].(string)
	if len(format) > 3000 || strings.Contains(format, "\n") {
		t.Errorf("format is %d bytes or spans lines; API Gateway takes one line of at most 3 KB", len(format))
	}
	var fields map[string]string
	if err := json.Unmarshal([]byte(format), &fields); err != nil {
		t.Fatalf("format is not a JSON object of strings: %v\n%s", err, format)
	}
	vars := regexp.MustCompile(`\$context\.([A-Za-z0-9_.]+)`).FindAllStringSubmatch(format, -1)
	used := map[string]bool{}
	for _, v := range vars {
		used[v[1]] = true
		if !slices.Contains(accessLogVariables, v[1]) {
			t.Errorf("$context.%s may hold the query or the client's path; allowed: %v", v[1], accessLogVariables)
		}
	}
	for _, v := range []string{"requestId", "resourcePath", "status", "httpMethod"} {
		if !used[v] {
			t.Errorf("the access log lacks $context.%s", v)
		}
	}
	if strings.Contains(format, "$input") || strings.Contains(format, "$method") {
		t.Error("the access log reads the request itself")
	}
	// The mistakes the allow-list is there to catch.
	for _, bad := range []string{"path", "requestOverride.querystring.data"} {
		if slices.Contains(accessLogVariables, bad) {
			t.Errorf("$context.%s allowed", bad)
		}
	}

	// Execution logs, which record whole requests, stay off.
	for _, ms := range props["MethodSettings"].([]any) {
		m := mapAt(ms)
		if m["LoggingLevel"] != "OFF" || m["DataTraceEnabled"] != false {
			t.Errorf("method settings %v: want LoggingLevel OFF, DataTraceEnabled false", m)
		}
		if m["ThrottlingRateLimit"] != "50" || m["ThrottlingBurstLimit"] != "100" {
			t.Errorf("throttling %v/%v, want 50/100 by default", m["ThrottlingRateLimit"], m["ThrottlingBurstLimit"])
		}
	}
}

// ---------------------------------------------------------------- publishing

// The Serverless Application Repository's metadata, with its documented
// constraints (it takes no intrinsic functions).
func TestServerlessRepoMetadata(t *testing.T) {
	doc := loadTemplate(t)
	app := mapAt(doc, "Metadata", "AWS::ServerlessRepo::Application")
	if app == nil {
		t.Fatal("Metadata AWS::ServerlessRepo::Application missing")
	}
	str := func(k string) string {
		v, ok := app[k].(string)
		if !ok || v == "" {
			t.Errorf("%s: %#v, want a string", k, app[k])
		}
		return v
	}
	match := func(k, pattern string, maxLen int) {
		if v := str(k); !regexp.MustCompile(pattern).MatchString(v) || len(v) > maxLen {
			t.Errorf("%s %q: want %s, at most %d characters", k, v, pattern, maxLen)
		}
	}
	match("Name", `^[a-zA-Z0-9-]+$`, 140)
	match("Author", `^[a-z0-9]([a-z0-9]|-[a-z0-9])*$`, 127)
	match("SemanticVersion", `^\d+\.\d+\.\d+$`, 64)
	match("HomePageUrl", `^https://`, 1024)
	match("SourceCodeUrl", `^https://`, 1024)
	if d := str("Description"); len(d) > 256 {
		t.Errorf("Description is %d characters, over 256", len(d))
	}
	if str("SpdxLicenseId") != "Apache-2.0" {
		t.Errorf("SpdxLicenseId %v, want Apache-2.0 (the reference's licence)", app["SpdxLicenseId"])
	}
	for _, k := range []string{"LicenseUrl", "ReadmeUrl"} {
		if _, err := os.Stat(filepath.Join(filepath.Dir(templatePath), str(k))); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
	licence, err := os.ReadFile(filepath.Join(filepath.Dir(templatePath), str("LicenseUrl")))
	if err == nil && (!strings.Contains(string(licence), "Apache License") || !strings.Contains(string(licence), "Version 2.0, January 2004") ||
		!strings.Contains(string(licence), "END OF TERMS AND CONDITIONS")) {
		t.Error("LICENSE is not the full Apache License 2.0 text")
	}
	labels := stringList(app["Labels"])
	if len(labels) == 0 || len(labels) > 10 {
		t.Errorf("%d labels, want 1 to 10", len(labels))
	}
	for _, l := range labels {
		if !regexp.MustCompile(`^[a-zA-Z0-9+\-_:/@]{1,127}$`).MatchString(l) {
			t.Errorf("label %q", l)
		}
	}
	var intrinsic []reference
	collectRefs(app, "", func(r reference) { intrinsic = append(intrinsic, r) })
	if len(intrinsic) > 0 {
		t.Errorf("intrinsic functions in the application metadata: %v", intrinsic)
	}

	// The console's parameter groups name every parameter once.
	var grouped []string
	for _, g := range mapAt(doc, "Metadata", "AWS::CloudFormation::Interface")["ParameterGroups"].([]any) {
		grouped = append(grouped, stringList(mapAt(g)["Parameters"])...)
	}
	slices.Sort(grouped)
	var params []string
	for p := range section(doc, "Parameters") {
		params = append(params, p)
	}
	slices.Sort(params)
	if diff := cmp.Diff(params, grouped); diff != "" {
		t.Errorf("ParameterGroups (-parameters +grouped):\n%s", diff)
	}
}

// ---------------------------------------------------------------- API

// The routes, and who may call CreateUrls.
func TestCallerPolicy(t *testing.T) {
	s := evaluate(t, loadTemplate(t), nil)
	p := s.resources()["CreateUrlsCallerPolicy"]
	var got []string
	for _, st := range mapAt(p, "Properties", "PolicyDocument")["Statement"].([]any) {
		for _, a := range stringList(mapAt(st)["Action"]) {
			for _, r := range stringList(mapAt(st)["Resource"]) {
				got = append(got, a+" on "+r)
			}
		}
	}
	want := []string{
		"execute-api:Invoke on arn:aws:execute-api:us-east-1:123456789012:<Api>/v1/POST/urls",
		"lambda:InvokeFunction on <CreateUrlsFunction.Arn>",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("caller policy (-want +got):\n%s", diff)
	}
}

// Delivery is off by default; a sender and topics reach both functions,
// which may send only as that sender and publish only to those topics.
func TestDelivery(t *testing.T) {
	doc := loadTemplate(t)
	const topics = "arn:aws:sns:us-east-1:123456789012:approvals,arn:aws:sns:us-east-1:123456789012:ops"
	def := evaluate(t, doc, nil)
	on := evaluate(t, doc, map[string]string{"SenderEmail": "approvals@example.com", "AllowedTopicArns": topics})
	for _, id := range functionIDs {
		env := def.functionEnv(id)
		if _, ok := env["SENDER_EMAIL"]; ok {
			t.Errorf("%s: SENDER_EMAIL set by default", id)
		}
		for _, g := range def.grants(id) {
			if strings.HasPrefix(g, "ses:") || strings.HasPrefix(g, "sns:") {
				t.Errorf("%s: %s by default", id, g)
			}
		}
		env = on.functionEnv(id)
		c, err := config.FromEnv(func(k string) string { return env[k] })
		if err == nil {
			err = c.Check()
		}
		if err != nil || c.SenderEmail != "approvals@example.com" || len(c.AllowedTopicARNs) != 2 {
			t.Errorf("%s: settings %q %q, %v", id, c.SenderEmail, c.AllowedTopicARNs, err)
		}
		var got []string
		for _, g := range on.grants(id) {
			if strings.HasPrefix(g, "ses:") || strings.HasPrefix(g, "sns:") {
				got = append(got, g)
			}
		}
		want := []string{
			"ses:SendEmail on arn:aws:ses:us-east-1:123456789012:identity/approvals@example.com if StringEquals ses:FromAddress=approvals@example.com",
			"ses:SendEmail on arn:aws:ses:us-east-1:123456789012:identity/example.com if StringEquals ses:FromAddress=approvals@example.com",
			"sns:Publish on arn:aws:sns:us-east-1:123456789012:approvals",
			"sns:Publish on arn:aws:sns:us-east-1:123456789012:ops",
		}
		slices.Sort(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s delivery grants (-want +got):\n%s", id, diff)
		}
	}
	for _, c := range []struct{ name, value string }{
		{"SenderEmail", "Approvals <approvals@example.com>"},
		{"SenderEmail", "approvals@example.com\r\nBcc: x@example.com"},
		{"AllowedTopicArns", "arn:aws:sns:us-east-1:123456789012:a, arn:aws:sns:us-east-1:123456789012:b"},
		{"AllowedTopicArns", "arn:aws:sqs:us-east-1:123456789012:q"},
	} {
		p := mapAt(section(doc, "Parameters"), c.name)
		if re := regexp.MustCompile(p["AllowedPattern"].(string)); re.MatchString(c.value) {
			t.Errorf("%s accepts %q", c.name, c.value)
		}
	}
}
