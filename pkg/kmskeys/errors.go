package kmskeys

import (
	"errors"
	"fmt"

	"github.com/aws/smithy-go"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/awserr"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// How KMS errors become API errors.
//
// Creating URLs (the caller is IAM-authorised, and usually the operator):
// a refusal that only the operator can fix (access denied, disabled,
// missing or unusable key, rejected credentials) is an Internal (500)
// EncryptionFailed whose message names the permission, the key and its
// state. It is not BadInput because the request was fine; it is not
// Unavailable because retrying will not help until someone changes the
// deployment. Throttling and outages are an Unavailable (503)
// EncryptionFailed wrapping callbackurls.ErrUnavailable.
//
// Opening URLs (the caller is anyone holding a URL): an encrypted data key
// KMS will not decrypt under our key and context is the URL's fault, a
// BadInput (400) InvalidPayload. Everything else, the operator's problems
// included, is an Unavailable (503) ServiceError wrapping ErrUnavailable:
// the URL may work once the deployment is fixed, and its holder is not told
// about our key.
//
// Which failures are transient is package awserr's judgement; only KMS's
// own codes are here.

// deploymentText explains the codes only an operator can fix, at creation.
// accessText says which permission creating URLs needs, by operation.
var deploymentText = map[string]string{
	"DisabledException":           "KMS key %s is disabled: enable it to create URLs",
	"NotFoundException":           "KMS key %s was not found: check KEY_ID (key ARN, key id or alias) and the region",
	"KMSInvalidStateException":    "KMS key %s is not in a usable state (pending deletion, pending import or unavailable)",
	"InvalidArnException":         "KEY_ID %s is not a valid KMS key reference",
	"ValidationException":         "KMS refused the request for key %s as invalid: check KEY_ID",
	"UnrecognizedClientException": "KMS rejected this function's credentials while using key %s",
	"InvalidSignatureException":   "KMS rejected this function's request signature while using key %s (clock skew or credentials)",
	"ExpiredTokenException":       "KMS rejected this function's expired credentials while using key %s",
	"IncompleteSignature":         "KMS rejected this function's request signature while using key %s",
	"MissingAuthenticationToken":  "KMS received no credentials while using key %s",
	// Both are per operation (accessText, usageText).
	"AccessDeniedException":    "",
	"InvalidKeyUsageException": "",
}

var accessText = map[string]string{
	"GenerateDataKey": "KMS denied kms:GenerateDataKey on key %s: the CreateUrls role (IAM policy or key policy) needs " +
		"kms:GenerateDataKey with the encryption context service=" + ContextValue,
	"GenerateMac": "KMS denied kms:GenerateMac on key %s: the CreateUrls role (IAM policy or key policy) needs " +
		"kms:GenerateMac with the condition kms:MacAlgorithm = HMAC_SHA_256",
}

var usageText = map[string]string{
	"GenerateDataKey": "KMS key %s cannot make data keys: it must be a symmetric key with usage ENCRYPT_DECRYPT",
	"GenerateMac":     "KMS key %s cannot make HMAC_SHA_256 MACs: it must be an HMAC_256 key with usage GENERATE_VERIFY_MAC",
}

// payloadCodes are the Decrypt refusals caused by the encrypted key itself.
var payloadCodes = map[string]bool{
	"InvalidCiphertextException": true, // altered, or another encryption context
	"IncorrectKeyException":      true, // made under another KMS key
	"ValidationException":        true, // not even shaped like a ciphertext
}

// classifier adds KMS's own codes to the shared judgement: its outage
// codes are transient; the refusals above are KMS's final answer.
var classifier = awserr.Classifier{
	TransientCodes: map[string]bool{
		"KMSInternalException":       true,
		"KeyUnavailableException":    true,
		"DependencyTimeoutException": true,
	},
	FinalCodes: func() map[string]bool {
		m := make(map[string]bool, len(deploymentText)+len(payloadCodes))
		for code := range deploymentText {
			m[code] = true
		}
		for code := range payloadCodes {
			m[code] = true
		}
		return m
	}(),
}

func createError(op, keyID string, err error) error {
	if classifier.Transient(err) {
		e := callbackurls.Unavailablef(callbackurls.CodeEncryptionFailed,
			"KMS is throttling or unavailable (%s): try again later", op)
		e.Err = unavailable(op, err)
		return e
	}
	msg := "KMS refused kms:" + op + " on key " + keyID
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code := apiErr.ErrorCode()
		text := deploymentText[code]
		switch code {
		case "AccessDeniedException":
			text = accessText[op]
		case "InvalidKeyUsageException":
			text = usageText[op]
		}
		if text != "" {
			msg = fmt.Sprintf(text, keyID)
		} else {
			msg += " (" + code + ")"
		}
	}
	e := callbackurls.Errorf(callbackurls.CodeEncryptionFailed, "%s", msg)
	e.Err = fmt.Errorf("kmskeys: %s: %w", op, err)
	return e
}

// openError classifies a failure to get the data key a URL names. Only
// Decrypt can blame the URL: GenerateMac's message is ours whatever the
// URL holds.
func openError(op string, err error) error {
	var apiErr smithy.APIError
	if op == "Decrypt" && errors.As(err, &apiErr) && payloadCodes[apiErr.ErrorCode()] {
		e := invalidPayload("the URL's encrypted data key was altered or was not made with this deployment's KMS key")
		e.Err = err
		return e
	}
	if !classifier.Transient(err) {
		// For the operator's logs; the caller sees only the message.
		err = fmt.Errorf("deployment problem, check KEY_ID, PREVIOUS_KEY_IDS, the key's state and kms:%s: %w", op, err)
	}
	e := callbackurls.Unavailablef(callbackurls.CodeServiceError,
		"the service cannot open URLs right now: try again later")
	e.Err = unavailable(op, err)
	return e
}

// isIncorrectKey reports a Decrypt refused because the blob is another
// key's: the next envelope key may open it.
func isIncorrectKey(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == "IncorrectKeyException"
}

// describeError explains a DescribeKey failure at start, where it stops
// the function: the mode follows the key's type, so both roles need
// kms:DescribeKey.
func describeError(n keyName, err error) error {
	where := n.setting + " " + n.name
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "AccessDeniedException":
			return fmt.Errorf("%s: KMS denied kms:DescribeKey: both functions' roles (IAM policy or key policy) need kms:DescribeKey "+
				"on the key, whose type chooses how URLs are encrypted: %w", where, err)
		case "NotFoundException":
			return fmt.Errorf("%s: KMS key not found: check the key ARN, key id or alias and the region: %w", where, err)
		case "InvalidArnException", "ValidationException":
			return fmt.Errorf("%s is not a valid KMS key reference (key ARN, key id, alias/name or alias ARN): %w", where, err)
		}
	}
	if classifier.Transient(err) {
		return fmt.Errorf("%s: KMS DescribeKey is throttling or unavailable: %w", where, err)
	}
	return fmt.Errorf("%s: KMS DescribeKey: %w", where, err)
}

// describeCreateError is a failure to describe the keys, met while
// creating URLs: KMS throttling or unreachable is a 503 EncryptionFailed
// (the keys are described again on a later request); a key that is
// missing, denied or of the wrong kind is the deployment's problem, a 500
// EncryptionFailed saying which setting to fix.
func describeCreateError(err error) error {
	if classifier.Transient(err) {
		e := callbackurls.Unavailablef(callbackurls.CodeEncryptionFailed,
			"KMS is throttling or unavailable (DescribeKey): try again later")
		e.Err = unavailable("DescribeKey", err)
		return e
	}
	e := callbackurls.Errorf(callbackurls.CodeEncryptionFailed, "%s", err.Error())
	e.Err = fmt.Errorf("kmskeys: DescribeKey: %w", err)
	return e
}

// describeOpenError is a failure to describe the keys, met while opening
// a URL: a 503 ServiceError whatever the cause, as openError's.
func describeOpenError(err error) error {
	e := callbackurls.Unavailablef(callbackurls.CodeServiceError,
		"the service cannot open URLs right now: try again later")
	e.Err = unavailable("DescribeKey", err)
	return e
}

func unavailable(op string, err error) error {
	return fmt.Errorf("kmskeys: %s: %w: %w", op, callbackurls.ErrUnavailable, err)
}

func invalidPayload(msg string) *callbackurls.Error {
	return callbackurls.Errorf(callbackurls.CodeInvalidPayload, "%s", msg)
}
