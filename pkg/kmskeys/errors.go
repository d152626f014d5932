package kmskeys

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
)

// How KMS errors become API errors.
//
// Creating URLs (the caller is IAM-authorised, and usually the operator):
// a refusal that only the operator can fix (access denied, disabled,
// missing or unusable key, rejected credentials) is a 500 EncryptionFailed
// whose message names the permission, the key and its state. It is a 5xx
// because the request was fine; it is not a 503 because retrying will not
// help until someone changes the deployment. Throttling and outages are a
// 503 EncryptionFailed wrapping callbackurls.ErrUnavailable.
//
// Opening URLs (the caller is anyone holding a URL): an encrypted data key
// KMS will not decrypt under our key and context is the URL's fault, a 400
// InvalidPayload. Everything else, the operator's problems included, is a
// 503 ServiceError wrapping ErrUnavailable: the URL may work once the
// deployment is fixed, and its holder is not told about our key.

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

// transientCodes are worth retrying later (the SDK has already retried).
var transientCodes = func() map[string]bool {
	m := map[string]bool{
		"KMSInternalException":       true,
		"KeyUnavailableException":    true,
		"DependencyTimeoutException": true,
		"ServiceUnavailable":         true,
		"InternalFailure":            true,
	}
	for code := range retry.DefaultThrottleErrorCodes {
		m[code] = true
	}
	for code := range retry.DefaultRetryableErrorCodes {
		m[code] = true
	}
	return m
}()

func createError(keyID string, err error) error {
	if isTransient(err) {
		return &callbackurls.Error{Code: callbackurls.CodeEncryptionFailed, Status: http.StatusServiceUnavailable,
			Message: "KMS is throttling or unavailable (GenerateDataKey): try again later",
			Err:     unavailable("GenerateDataKey", err)}
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
	return &callbackurls.Error{Code: callbackurls.CodeEncryptionFailed, Status: http.StatusInternalServerError,
		Message: msg, Err: fmt.Errorf("kmskeys: GenerateDataKey: %w", err)}
}

func openError(err error) error {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && payloadCodes[apiErr.ErrorCode()] {
		e := invalidPayload("the URL's encrypted data key was altered or was not made with this deployment's KMS key")
		e.Err = err
		return e
	}
	msg := "the service cannot decrypt URLs right now: try again later"
	if !isTransient(err) {
		// For the operator's logs; the caller sees only msg.
		err = fmt.Errorf("deployment problem, check KEY_ID, the key's state and kms:Decrypt: %w", err)
	}
	return &callbackurls.Error{Code: callbackurls.CodeServiceError, Status: http.StatusServiceUnavailable,
		Message: msg, Err: unavailable("Decrypt", err)}
}

func unavailable(op string, err error) error {
	return fmt.Errorf("kmskeys: %s: %w: %w", op, callbackurls.ErrUnavailable, err)
}

func invalidPayload(msg string) *callbackurls.Error {
	return &callbackurls.Error{Code: callbackurls.CodeInvalidPayload, Status: http.StatusBadRequest, Message: msg}
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// sdkRetryables is the SDK's own judgement of transient failures, so the
// classification agrees with what the SDK retried.
var sdkRetryables = retry.IsErrorRetryables(retry.DefaultRetryables)

func isTransient(err error) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		if transientCodes[apiErr.ErrorCode()] || apiErr.ErrorFault() == smithy.FaultServer {
			return true
		}
		if _, known := deploymentText[apiErr.ErrorCode()]; known || payloadCodes[apiErr.ErrorCode()] {
			return false
		}
	}
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &respErr) && respErr.HTTPStatusCode() >= 500 {
		return true // also 5xx pages that are not AWS JSON (a proxy's)
	}
	var quota ratelimit.QuotaExceededError
	if errors.As(err, &quota) {
		return true // the client's retry budget is spent: KMS is failing
	}
	if isContextErr(err) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	return sdkRetryables.IsErrorRetryable(err) == aws.TrueTernary
}
