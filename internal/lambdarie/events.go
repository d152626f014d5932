package lambdarie

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Stage is an API Gateway REST API stage the events come through, as the
// functions' API_ID, STAGE and AWS_REGION name it.
type Stage struct {
	APIID, Name, Region, Account string
}

// Host is the stage's execute-api host name.
func (s Stage) Host() string { return s.APIID + ".execute-api." + s.Region + ".amazonaws.com" }

// URL is the stage's base URL, the one the functions make URLs on.
func (s Stage) URL() string { return "https://" + s.Host() + "/" + s.Name }

// Env is the functions' settings naming the stage.
func (s Stage) Env() []string { return []string{"API_ID=" + s.APIID, "STAGE=" + s.Name} }

// ProxyEvent is an API Gateway REST API (v1) proxy integration event as
// API Gateway sends it for a resource (no {proxy+}) of the stage: both
// single- and multi-value headers and query, null for what is absent, a
// Host header unless header has one.
func (s Stage) ProxyEvent(method, resource string, header map[string]string, query url.Values, body string) []byte {
	h := map[string]string{"Host": s.Host()}
	for k, v := range header {
		if strings.EqualFold(k, "Host") {
			delete(h, "Host")
		}
		h[k] = v
	}
	multiHeader := make(map[string][]string, len(h))
	for k, v := range h {
		multiHeader[k] = []string{v}
	}
	var single map[string]string
	var multi map[string][]string
	if len(query) > 0 {
		single, multi = make(map[string]string), make(map[string][]string)
		for k, vs := range query {
			single[k], multi[k] = vs[len(vs)-1], vs // API Gateway keeps the last
		}
	}
	var b any
	if body != "" {
		b = body
	}
	now := time.Now().UTC()
	ev := map[string]any{
		"resource":                        resource,
		"path":                            resource,
		"httpMethod":                      method,
		"headers":                         h,
		"multiValueHeaders":               multiHeader,
		"queryStringParameters":           single,
		"multiValueQueryStringParameters": multi,
		"pathParameters":                  nil,
		"stageVariables":                  nil,
		"requestContext": map[string]any{
			"accountId":         s.Account,
			"apiId":             s.APIID,
			"domainName":        s.Host(),
			"domainPrefix":      s.APIID,
			"extendedRequestId": "Xl0aTFq8IAMEbXw=",
			"httpMethod":        method,
			"identity": map[string]any{
				"sourceIp":  "203.0.113.7",
				"userAgent": h["User-Agent"],
			},
			"path":             "/" + s.Name + resource,
			"protocol":         "HTTP/1.1",
			"requestId":        RequestID(),
			"requestTime":      now.Format("02/Jan/2006:15:04:05 -0700"),
			"requestTimeEpoch": now.UnixMilli(),
			"resourceId":       "a1b2c3",
			"resourcePath":     resource,
			"stage":            s.Name,
		},
		"body":            b,
		"isBase64Encoded": false,
	}
	out, _ := json.Marshal(ev)
	return out
}

// URLEvent is the proxy event of a request for a URL the functions made
// (https://host/stage/resource?query): the event carries the resource and
// query, and the URL's host as the Host header.
func (s Stage) URLEvent(method, rawURL string, header map[string]string, body string) ([]byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	resource, ok := strings.CutPrefix(u.Path, "/"+s.Name)
	if !ok || !strings.HasPrefix(resource, "/") {
		return nil, fmt.Errorf("%s is not on stage %s", rawURL, s.Name)
	}
	h := map[string]string{"Host": u.Host}
	for k, v := range header {
		h[k] = v
	}
	return s.ProxyEvent(method, resource, h, u.Query(), body), nil
}

// ProxyResponse is an API Gateway proxy integration response.
type ProxyResponse struct {
	StatusCode        int                 `json:"statusCode"`
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	Body              string              `json:"body"`
	IsBase64Encoded   bool                `json:"isBase64Encoded"`
}

// DecodeProxyResponse reads a function's answer to a proxy event, its body
// decoded if it was base64.
func DecodeProxyResponse(answer []byte) (ProxyResponse, error) {
	var r ProxyResponse
	if err := json.Unmarshal(answer, &r); err != nil || r.StatusCode == 0 {
		return r, fmt.Errorf("answer %.500s is not an API Gateway proxy response (%v)", answer, err)
	}
	if r.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(r.Body)
		if err != nil {
			return r, fmt.Errorf("answer's base64 body: %v", err)
		}
		r.Body = string(b)
	}
	return r, nil
}

// Header is the first value of a response header, from either map.
func (r ProxyResponse) Header(name string) string {
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	for k, vs := range r.MultiValueHeaders {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

// RequestID is a random UUID, the form of Lambda's and API Gateway's
// request ids.
func RequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
