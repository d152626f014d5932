package standin

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
)

// operation is a registered operation.
type operation struct {
	name     string
	method   string   // REST-JSON only
	segments []string // REST-JSON: the path's segments, "{Label}" for labels
	newInput func() any
	call     func(*Request, any) (any, error)
}

func newOperation[In any](name string, fn func(*Request, *In) (any, error)) *operation {
	return &operation{
		name:     name,
		newInput: func() any { return new(In) },
		call:     func(r *Request, in any) (any, error) { return fn(r, in.(*In)) },
	}
}

// Handle serves the JSON or query operation name with fn. In is the
// operation's input: the JSON body is decoded into it (JSON protocols), or
// the parameters into its fields tagged `query:"Name"` (the query
// protocol). fn returns the output (nil for {}) or an error.
func Handle[In any](s *Server, name string, fn func(r *Request, in *In) (any, error)) {
	if s.svc.Protocol == RESTJSON {
		panic("standin: Handle on a REST-JSON service; use HandleREST")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ops[name] = newOperation(name, fn)
}

// HandleREST serves the REST-JSON operation name at pattern, a method and a
// path whose {Label} segments match one escaped path segment each
// ("POST /2015-03-31/functions/{FunctionName}/invocations"); labels are
// the request's PathValue. In's fields are filled from their tags:
// `path:"Label"`, `header:"X-Amz-Name"`, `query:"Name"`, and `payload:""`
// for the raw body ([]byte or string); without a payload field, the body
// is In's JSON. The first matching route of the ones registered serves.
func HandleREST[In any](s *Server, name, pattern string, fn func(r *Request, in *In) (any, error)) {
	if s.svc.Protocol != RESTJSON {
		panic("standin: HandleREST on a service that is not REST-JSON")
	}
	method, path, ok := strings.Cut(pattern, " ")
	if !ok || !strings.HasPrefix(path, "/") {
		panic("standin: pattern " + pattern + ": want METHOD /path")
	}
	op := newOperation(name, fn)
	op.method, op.segments = method, strings.Split(strings.Trim(path, "/"), "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes = append(s.routes, op)
}

// route finds the request's operation. When it fails, op may still name
// what was asked, for the log.
func (s *Server) route(r *Request) (*operation, *Error) {
	switch s.svc.Protocol {
	case JSON10, JSON11:
		name, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), s.svc.TargetPrefix+".")
		asked := &operation{name: name}
		if r.Method != http.MethodPost || r.URL.Path != "/" {
			return asked, Errorf(http.StatusNotFound, faultCodes[unknownOperation][0], "")
		}
		if op := s.operation(name); ok && op != nil {
			return op, nil
		}
		return asked, s.frontEnd(unknownOperation, "")
	case Query:
		form, err := url.ParseQuery(string(r.Body))
		if err != nil {
			return nil, s.frontEnd(serialization, "The query string is malformed")
		}
		for k, v := range r.URL.Query() {
			form[k] = append(form[k], v...)
		}
		r.Form = form
		name, version := form.Get("Action"), form.Get("Version")
		if op := s.operation(name); op != nil && r.Method == http.MethodPost && r.URL.Path == "/" && (s.svc.Version == "" || version == s.svc.Version) {
			return op, nil
		}
		return &operation{name: name}, s.frontEnd(unknownOperation, fmt.Sprintf("Could not find operation %s for version %s", name, version))
	}
	segments := strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/")
	s.mu.Lock()
	routes := s.routes
	s.mu.Unlock()
	for _, op := range routes {
		if values, ok := match(op, r.Method, segments); ok {
			for k, v := range values {
				r.SetPathValue(k, v)
			}
			return op, nil
		}
	}
	return nil, s.frontEnd(unknownOperation, "Unknown operation "+r.Method+" "+r.URL.Path)
}

func (s *Server) operation(name string) *operation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ops[name]
}

// match matches a REST route, returning its labels' unescaped values.
func match(op *operation, method string, segments []string) (map[string]string, bool) {
	if method != op.method || len(segments) != len(op.segments) {
		return nil, false
	}
	values := map[string]string{}
	for i, want := range op.segments {
		label, isLabel := strings.CutPrefix(want, "{")
		if !isLabel {
			if segments[i] != want {
				return nil, false
			}
			continue
		}
		v, err := url.PathUnescape(segments[i])
		if err != nil || v == "" {
			return nil, false
		}
		values[strings.TrimSuffix(label, "}")] = v
	}
	return values, true
}

// bind decodes the request into in.
func (s *Server) bind(r *Request, in any) *Error {
	v := reflect.ValueOf(in).Elem()
	var payload reflect.Value
	if v.Kind() == reflect.Struct {
		for i := range v.NumField() {
			if _, ok := v.Type().Field(i).Tag.Lookup("payload"); ok {
				payload = v.Field(i)
			}
		}
	}
	switch {
	case s.svc.Protocol == Query:
	case payload.IsValid():
		if len(r.Body) > 0 {
			if payload.Kind() == reflect.String {
				payload.SetString(string(r.Body))
			} else {
				payload.SetBytes(r.Body)
			}
		}
	case len(r.Body) > 0:
		if err := json.Unmarshal(r.Body, in); err != nil {
			return s.frontEnd(serialization, "Start of structure or map found where not expected.")
		}
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	query := r.Form
	if s.svc.Protocol != Query {
		query = r.URL.Query()
	}
	for i := range v.NumField() {
		f := v.Type().Field(i)
		var values []string
		if name, ok := f.Tag.Lookup("path"); ok {
			if pv := r.PathValue(name); pv != "" {
				values = []string{pv}
			}
		} else if name, ok := f.Tag.Lookup("header"); ok {
			values = r.Header.Values(name)
		} else if name, ok := f.Tag.Lookup("query"); ok {
			values = query[name]
		} else {
			continue
		}
		if len(values) > 0 {
			if err := set(v.Field(i), values[0]); err != nil {
				return s.frontEnd(serialization, fmt.Sprintf("%s: %v", f.Name, err))
			}
		}
	}
	return nil
}

// set stores a label, header or parameter in a field of a simple kind.
func set(field reflect.Value, s string) error {
	if field.Kind() == reflect.Pointer {
		field.Set(reflect.New(field.Type().Elem()))
		field = field.Elem()
	}
	switch field.Kind() {
	case reflect.String:
		field.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		field.SetBool(b)
	case reflect.Int, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return err
		}
		field.SetInt(n)
	default:
		panic("standin: cannot bind a field of type " + field.Type().String())
	}
	return nil
}

// Response is an answer an operation writes itself: a status (0: 200),
// headers and a raw body (Lambda's Invoke).
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (s *Server) writeOutput(w http.ResponseWriter, op string, out any, reqID string) {
	if resp, ok := out.(*Response); ok {
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		if len(resp.Body) > 0 && w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(max(resp.Status, http.StatusOK))
		_, _ = w.Write(resp.Body)
		return
	}
	switch s.svc.Protocol {
	case Query:
		w.Header().Set("Content-Type", "text/xml")
		_ = writeQueryOutput(w, s.svc.XMLNamespace, op, out, reqID)
		return
	case JSON10, JSON11:
		w.Header().Set("Content-Type", jsonContentType(s.svc.Protocol))
	default:
		w.Header().Set("Content-Type", "application/json")
	}
	body := []byte("{}")
	if out != nil {
		body, _ = json.Marshal(out)
	}
	_, _ = w.Write(body)
}

// writeQueryOutput writes <OpResponse><OpResult>out</OpResult>
// <ResponseMetadata><RequestId/></ResponseMetadata></OpResponse>.
func writeQueryOutput(w http.ResponseWriter, ns, op string, out any, reqID string) error {
	enc := xml.NewEncoder(w)
	start := xml.StartElement{Name: xml.Name{Local: op + "Response"}}
	if ns != "" {
		start.Attr = []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: ns}}
	}
	if err := enc.EncodeToken(start); err != nil {
		return err
	}
	if out != nil {
		if err := enc.EncodeElement(out, xml.StartElement{Name: xml.Name{Local: op + "Result"}}); err != nil {
			return err
		}
	}
	meta := struct {
		RequestID string `xml:"RequestId"`
	}{reqID}
	if err := enc.EncodeElement(meta, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}}); err != nil {
		return err
	}
	if err := enc.EncodeToken(start.End()); err != nil {
		return err
	}
	return enc.Flush()
}
