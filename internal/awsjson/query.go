package awsjson

import (
	"context"
	"encoding/xml"
	"net/http"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"
)

// CallQuery sends one action of a service that speaks the query protocol
// (SNS): a form POST of Action, Version and params, its XML answer decoded
// into out (the answer's root element; out names the members it reads).
// Retries are Call's.
func CallQuery(ctx context.Context, cfg aws.Config, svc Service, action, version string, params url.Values, out any) error {
	form := url.Values{}
	for k, v := range params {
		form[k] = v
	}
	form.Set("Action", action)
	form.Set("Version", version)
	r := &request{operation: action, path: "/", contentType: "application/x-www-form-urlencoded; charset=utf-8",
		body: []byte(form.Encode()), decodeError: queryError}
	return callWithRetries(ctx, cfg, svc, r, func(data []byte) error { return xml.Unmarshal(data, out) })
}

// queryError reads the query protocol's error body:
// <ErrorResponse><Error><Type>Sender</Type><Code>...</Code><Message>...</Message></Error>...
func queryError(resp *http.Response, data []byte) error {
	var body struct {
		Error struct {
			Type    string `xml:"Type"`
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		} `xml:"Error"`
		RequestID string `xml:"RequestId"`
	}
	_ = xml.Unmarshal(data, &body)
	code := body.Error.Code
	if code == "" {
		code = http.StatusText(resp.StatusCode)
	}
	fault := smithy.FaultClient
	if resp.StatusCode >= 500 || body.Error.Type == "Receiver" {
		fault = smithy.FaultServer
	}
	id := body.RequestID
	if id == "" {
		id = resp.Header.Get("X-Amzn-Requestid")
	}
	return &ResponseError{StatusCode: resp.StatusCode, RequestID: id,
		Err: &smithy.GenericAPIError{Code: code, Message: body.Error.Message, Fault: fault}}
}
