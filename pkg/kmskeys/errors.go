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
var deploymentText = map[string]string{
	"AccessDeniedException": "KMS denied kms:GenerateDataKey on key %s: the CreateUrls role (IAM policy or key policy) needs " +
		"kms:GenerateDataKey with the encryption context service=" + ContextValue,
	"DisabledException":           "KMS key %s is disabled: enable it to create URLs",
	"NotFoundException":           "KMS key %s was not found: check KEY_ID (key ARN, key id or alias) and the region",
	"KMSInvalidStateException":    "KMS key %s is not in a usable state (pending deletion, pending import or unavailable)",
	"InvalidKeyUsageException":    "KMS key %s cannot make data keys: it must be a symmetric key with usage ENCRYPT_DECRYPT",
	"InvalidArnException":         "KEY_ID %s is not a valid KMS key reference",
	"ValidationException":         "KMS refused the request for key %s as invalid: check KEY_ID",
	"UnrecognizedClientException": "KMS rejected this function's credentials while using key %s",
	"InvalidSignatureException":   "KMS rejected this function's request signature while using key %s (clock skew or credentials)",
	"ExpiredTokenException":       "KMS rejected this function's expired credentials while using key %s",
	"IncompleteSignature":         "KMS rejected this function's request signature while using key %s",
	"MissingAuthenticationToken":  "KMS received no credentials while using key %s",
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

func createError(keyID string, err error) error {
	if classifier.Transient(err) {
		e := callbackurls.NewError(callbackurls.Unavailable, callbackurls.CodeEncryptionFailed,
			"KMS is throttling or unavailable (GenerateDataKey): try again later")
		e.Err = unavailable("GenerateDataKey", err)
		return e
	}
	msg := "KMS refused kms:GenerateDataKey on key " + keyID
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		if text, ok := deploymentText[apiErr.ErrorCode()]; ok {
			msg = fmt.Sprintf(text, keyID)
		} else {
			msg += " (" + apiErr.ErrorCode() + ")"
		}
	}
	e := callbackurls.NewError(callbackurls.Internal, callbackurls.CodeEncryptionFailed, "%s", msg)
	e.Err = fmt.Errorf("kmskeys: GenerateDataKey: %w", err)
	return e
}

func openError(err error) error {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && payloadCodes[apiErr.ErrorCode()] {
		e := invalidPayload("the URL's encrypted data key was altered or was not made with this deployment's KMS key")
		e.Err = err
		return e
	}
	if !classifier.Transient(err) {
		// For the operator's logs; the caller sees only the message.
		err = fmt.Errorf("deployment problem, check KEY_ID, the key's state and kms:Decrypt: %w", err)
	}
	e := callbackurls.NewError(callbackurls.Unavailable, callbackurls.CodeServiceError,
		"the service cannot decrypt URLs right now: try again later")
	e.Err = unavailable("Decrypt", err)
	return e
}

func unavailable(op string, err error) error {
	return fmt.Errorf("kmskeys: %s: %w: %w", op, callbackurls.ErrUnavailable, err)
}

func invalidPayload(msg string) *callbackurls.Error {
	return callbackurls.Errorf(callbackurls.CodeInvalidPayload, "%s", msg)
}
