// Package client calls sfn-callback-urls' CreateUrls from Go: a state
// machine's Lambda function, an activity worker or any program holding a
// task token, or a Lambda durable function's callback id
// (Request.CallbackID), gets one URL per outcome (Approve and Reject links,
// a webhook URL) to hand to a person or a system.
//
//	cfg, _ := config.LoadDefaultConfig(ctx)
//	c := client.NewLambda(cfg, "my-stack-CreateUrls") // the stack's Function output
//	urls, err := c.CreateURLs(ctx, client.Request{
//		Token:      token, // $$.Task.Token
//		Title:      "Expense report #4821",
//		Expiration: time.Now().Add(24 * time.Hour),
//		Actions: []client.Action{
//			client.Success("approve", map[string]any{"approved": true}),
//			client.Failure("reject", "Rejected", "Rejected by the approver"),
//		},
//	})
//	// urls.URLs["approve"], urls.URLs["reject"]
//
// On a laptop, the local server (make run) takes POST /urls without a
// signature:
//
//	c := client.NewHTTP(aws.Config{Region: "us-east-1"}, "http://127.0.0.1:8080")
//	urls, err := c.CreateURLs(ctx, client.Request{Token: token, Actions: []client.Action{
//		client.Success("approve", map[string]any{"approved": true}),
//	}})
//
// # Transports
//
// NewLambda invokes the CreateUrls function directly (lambda:InvokeFunction
// on the stack's Function or FunctionArn output); NewHTTP POSTs to
// {Api}/urls signed with SigV4 for execute-api (execute-api:Invoke; the
// stack's Policy output grants both). Both send the same JSON, that of the
// API of docs/API.md, and decode the same answers. A direct invoke has one
// hop fewer; POST /urls also reaches the local server (make run), which
// takes unsigned requests: pass an aws.Config without credentials.
//
// # Requests
//
// Actions are made with Success, Failure, Heartbeat and Post and dressed
// with WithLabel, WithConfirm, WithInput and WithResponse. Values (an
// output, a schema) are anything encoding/json marshals, or a
// json.RawMessage; they are sent without HTML escaping, so "<" costs one
// byte of the URL, not six. Expiration is sent as RFC 3339 in UTC with its
// fraction; the service enforces whole seconds and answers the instant it
// enforces. A request using only the Python sfn-callback-urls' fields
// (token, actions with name, type, output, error, cause, response and
// outcomes, expiration, enable_output_parameters, base_url) is exactly
// what that service takes; Title, Description, labels, confirm and input
// forms are this implementation's additions.
//
// # Local checks
//
// Before sending, a request is checked with the service's own rules for
// everything that does not depend on the deployment: exactly one of the
// token and the callback id, the token's length, the callback id's pattern,
// 1 to 64 actions with unique names matching ^\w+$, a success's output,
// Step Functions' limits on output, error and cause, labels, input forms,
// the response spec, the base URL's form, and the 1 MiB body limit. A
// failure is the *Error the service would answer (same code and message)
// with Local set, and nothing is sent. What depends on the deployment
// (output parameters and post actions switched on, post action schemas
// and JSONPaths, the expiration against the service's clock, URL length,
// the key) is the service's to judge. WithoutLocalChecks sends requests
// unchecked, for a deployment of another version than this package's.
//
// # Errors
//
// Every refusal is an *Error (errors.As): Code, Message and, once one was
// assigned, TransactionID; StatusCode for HTTP (0 for a direct invoke);
// FunctionError when the Lambda function itself failed (a crash, a
// timeout: Code is then ServiceError and Message has the Lambda error's
// type and message); Local for the local checks. errors.Is(err,
// client.ErrExpiredPayload) and the other Err constants test the code. An
// API Gateway refusal (an IAM denial, a bad signature) has API Gateway's
// error type as its Code (AccessDeniedException, ...). SDK and network
// errors are returned wrapped, so errors.As reaches smithy.APIError and
// the SDK's typed errors (*types.ResourceNotFoundException for an unknown
// function); an answer that is neither URLs nor an error body wraps
// ErrMalformedResponse.
//
// The codes (ErrorCode constants: go doc client.ErrorCode): the Python
// sfn-callback-urls' InvalidJSON, DuplicateActionName, InvalidAction,
// InvalidDate, ParametersDisabled, PostActionsDisabled,
// InvalidPostActionOutcome, InvalidJsonPath, OutputFormatting,
// InvalidPayload, ExpiredPayload, ActionMismatched, EncryptionRequired,
// DecryptionUnsupported, EncryptionFailed, InvalidPostActionBody,
// StepFunctionsError and ServiceError; and this implementation's
// UrlTooLong, InvalidBaseUrl, MethodNotAllowed, UnsupportedMediaType,
// RequestTooLarge, NotFound, InvalidInput, InvalidDelivery,
// DeliveryFailed, SignInRequired, NotAnApprover, SelfApproval,
// SignInDisabled, ReceiptsDisabled, SignInFailed and DurableCallbackError
// (Lambda's refusal of a durable callback's decision). CreateUrls answers
// InvalidJSON, DuplicateActionName, InvalidAction, InvalidDate,
// ParametersDisabled, PostActionsDisabled, InvalidPostActionOutcome,
// InvalidJsonPath, UrlTooLong, InvalidBaseUrl, RequestTooLarge,
// InvalidDelivery, DeliveryFailed, SignInDisabled, ReceiptsDisabled,
// EncryptionFailed and ServiceError; the others answer callbacks. A request with Deliver that
// fails through a direct invoke is a function error whose message is the
// error body: it is read back as that code, with FunctionError set. Whatever a server says (a message, a code, an id,
// a function's error) reaches an error without control characters (line
// breaks become spaces; escape sequences, NUL and bidi overrides are
// dropped) and cut to 2,048 bytes for a message, 256 for the rest: it
// can be logged or shown as it is.
//
// # Redirects
//
// CreateUrls never answers a redirect: API Gateway and Lambda do not, and
// following one would send the task token, with the signature or the
// session token, to wherever the Location says. So no redirect is
// followed, to another origin or to the same one (where the signature,
// made for the original path, would not hold anyway): any 3xx is an
// *Error with that StatusCode wrapping ErrRedirect, never retried, and
// nothing is sent to its target. This holds through both transports with
// the SDK's HTTP client, an aws.Config's BuildableClient and any
// *http.Client (WithHTTPClient, or WithLambdaOptions setting HTTPClient),
// which the client uses through a copy whose CheckRedirect stops at the
// first answer. Another aws.HTTPClient follows its own policy, which the
// client cannot change: it is given no way to re-send the body (so a 307
// or 308 is not followed by net/http), and an answer that came from
// anywhere else than the request's URL is refused with ErrRedirect; but
// what it does with a 301, 302 or 303 (net/http sends a GET, without the
// body, with the headers) is its own. Such a client should follow no
// redirect.
//
// # Timeouts
//
// A call whose context has no deadline ends after DefaultTimeout (30
// seconds), every attempt and wait included, with an error wrapping
// context.DeadlineExceeded that names the bound. A context deadline
// replaces it; WithTimeout(d) sets another bound for every call, applied
// with the context's (whichever is first), and WithTimeout(0) leaves only
// the context's. An *http.Client's own Timeout bounds each attempt as
// well.
//
// # Retries and limits
//
// A direct invoke is retried by the SDK's retryer (cfg.Retryer) on
// Lambda's throttling and 5xx; the function's own error answers carry no
// status and are returned, not retried. POST /urls is retried on 429,
// 502, 503, 504, a 500 ServiceError and connection errors by cfg.Retryer
// (the SDK's standard retryer if nil: 3 attempts, exponential backoff with
// jitter; cfg.RetryMaxAttempts applies), each attempt signed anew, and
// never waits past the context's deadline. (*Error).RetryableError says
// which errors these are. Contexts are honoured throughout. Answers are
// read up to 6 MB, Lambda's limit on a synchronous response; anything
// longer is ErrMalformedResponse.
//
// # Testing
//
// Package lambdatest is a stand-in for Lambda's Invoke API speaking its
// REST protocol; with lambdaapi.CreateURLsHandler as its function, a test
// exercises the real CreateUrls through this client.
package client
