// Package callbackurls is the core of sfn-callback-urls: the request and
// payload model, validation, URL creation and callback processing. It knows
// nothing of HTTP, Lambda, KMS or the AWS SDK; those live at the edges and
// reach it through the PayloadCodec, Target and PostActions interfaces.
//
// Its vocabulary: a request names a target (TargetRef: a kind of target,
// such as a Step Functions task token, and its reference) and actions of
// several types (ActionSpec); each action's URL carries a sealed Payload;
// opening the URL (Open) and acting on it (Act) sends a Decision to the
// Target of the payload's kind.
package callbackurls

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/jsontext"
)

// URL query parameter names, as in the reference.
const (
	QueryAction = "action"
	QueryType   = "type"
	QueryData   = "data"
	// CallbackPath is appended to the base URL.
	CallbackPath = "/respond"
)

// DefaultMaxURLLength is the longest URL handed out unless configured.
const DefaultMaxURLLength = 8192

// MaxPostBodyBytes bounds the JSON body of a post action's callback.
const MaxPostBodyBytes = 256 << 10

// MaxDataLength bounds the data parameter read at callback time, before
// any decoding: no URL we create is longer.
const MaxDataLength = 16384

// Config is the deployment's settings for the service.
type Config struct {
	// BaseURL is the deployment's base URL of the callback endpoint; a
	// request's base_url overrides it (see Service.BaseURL).
	BaseURL string
	// API is the deployment's own API Gateway stage (API_ID and STAGE),
	// the base URL of last resort.
	API Gateway
	// Region is the deployment's region: of its API, and the default for
	// a base_url given as an API reference.
	Region string
	// MaxURLLength refuses to create longer URLs (0: DefaultMaxURLLength).
	MaxURLLength           int
	EnableOutputParameters bool
	EnablePostActions      bool
	// PostActions evaluates post actions (nil: they are unavailable).
	PostActions PostActions
	// BrowserGET is what a browser's GET on a success or failure URL does
	// (unless the action says): by default it shows a confirmation page
	// and only its POST acts, so that mail link scanners cannot answer for
	// people.
	BrowserGET BrowserGET
	// SignIn names the ways people can show who they are here (Identity
	// Via values: ViaWeb with the sign-in pages), which approvers and a
	// requester need. None: requests with them are refused.
	SignIn []string
	// Receipts reports that this deployment signs receipts; Signer signs
	// them (a function that only creates URLs has Receipts and no Signer).
	Receipts bool
	Signer   Signer
	// SlackBot reports that the deployment has a Slack bot token: a Slack
	// user's verified email can be looked up (so address and domain
	// approvers can decide in Slack too), an action with an input form
	// opens a Slack modal, and deliver.slack posts. Slack clicks reach the
	// deployment when SignIn has ViaSlack (a signing secret): then the
	// Slack message's buttons carry their payload and act in place.
	SlackBot bool
	// Composer renders ready-made messages; Deliverer sends them and
	// Notifier the confirmations after decisions (nil: none).
	Composer  Composer
	Deliverer Deliverer
	Notifier  Notifier
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// BrowserGET is the deployment's confirmation switch (CONFIRM_BROWSER_GET):
// what a browser's GET on a URL that asks first does. Its zero value is
// the safe one.
type BrowserGET uint8

// The switch's settings.
const (
	// ConfirmBrowserGET: the GET shows a confirmation page (the default).
	ConfirmBrowserGET BrowserGET = iota
	// ActOnBrowserGET: the GET acts at once, as in the reference (one
	// click; a mail scanner's GET acts too).
	ActOnBrowserGET
)

// Service creates callback URLs and processes callbacks.
type Service struct {
	cfg     Config
	codec   PayloadCodec
	targets Targets
}

// New returns a Service that sends decisions to targets (none: it only
// creates URLs, as the CreateUrls function does).
func New(cfg Config, codec PayloadCodec, targets Targets) *Service {
	if cfg.MaxURLLength <= 0 {
		cfg.MaxURLLength = DefaultMaxURLLength
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Signer != nil {
		cfg.Receipts = true
	}
	return &Service{cfg: cfg, codec: codec, targets: targets}
}

// CreateResponse is the body of a successful CreateUrls call.
type CreateResponse struct {
	TransactionID string            `json:"transaction_id"`
	URLs          map[string]string `json:"urls"`
	Expiration    string            `json:"expiration,omitempty"`
	// Messages are the ready-made messages asked for; Delivered says
	// where the ask was sent.
	Messages  *Messages  `json:"messages,omitempty"`
	Delivered *Delivered `json:"delivered,omitempty"`
}

// NewTransactionID returns a random 128-bit id in hex, the shape of the
// reference's uuid4().hex.
func NewTransactionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Gateway names an API Gateway REST API stage.
type Gateway struct {
	APIID string
	Stage string
}

// CreateURLs makes one URL per action. via is the API Gateway stage the
// request came through, if it came through one (see BaseURL). On error the
// returned transaction id, if not empty, is the one assigned to the
// attempt.
func (s *Service) CreateURLs(ctx context.Context, req *CreateRequest, via Gateway) (*CreateResponse, string, error) {
	tid := NewTransactionID()
	resp, err := s.createURLs(ctx, req, via, tid)
	return resp, tid, err
}

func (s *Service) createURLs(ctx context.Context, req *CreateRequest, via Gateway, tid string) (*CreateResponse, error) {
	now := s.cfg.Now()
	base, err := s.BaseURL(req, via)
	if err != nil {
		return nil, err
	}
	resp := &CreateResponse{TransactionID: tid, URLs: make(map[string]string, len(req.Actions))}
	// Each action's data, for the Slack buttons that carry it.
	data := make(map[string]string, len(req.Actions))

	var expiration time.Time
	if req.Expiration != "" {
		if expiration, err = ParseExpiration(req.Expiration); err != nil {
			return nil, err
		}
		if !expiration.After(now) {
			return nil, Errorf(CodeInvalidDate, "expiration %s is in the past", req.Expiration)
		}
		// The payload holds whole seconds: a fraction rounds up, so a URL
		// never expires before the time asked for. The response reports
		// the instant enforced, in the request's offset.
		if t := expiration.Truncate(time.Second); !t.Equal(expiration) {
			expiration = t.Add(time.Second)
		}
		resp.Expiration = expiration.Format(time.RFC3339)
	}
	if err := s.checkSwitches(false, req.EnableOutputParameters); err != nil {
		return nil, err
	}
	approvers, requester, err := s.approversFor(req)
	if err != nil {
		return nil, err
	}
	if err := s.checkDelivery(req); err != nil {
		return nil, err
	}

	for i := range req.Actions {
		a := &req.Actions[i]
		p, err := s.payloadFor(req, a, tid, now, expiration)
		if err != nil {
			return nil, err
		}
		if a.Type.Spec().Approvable && req.wantsApproval() {
			p.Approvers, p.Requester, p.Receipt = approvers, requester, req.Receipt
		}
		d, err := s.codec.Encode(ctx, p)
		if err != nil {
			return nil, err
		}
		if len(d) > MaxDataLength {
			// Respond refuses longer data whatever MaxURLLength allows.
			return nil, Errorf(CodeURLTooLong,
				"the payload for action %s would be %d characters, over the %d a callback accepts: shorten its output, error, cause or response",
				a.Name, len(d), MaxDataLength)
		}
		data[a.Name] = d
		u := CallbackURL(base, a.Name, a.Type, d)
		if len(u) > s.cfg.MaxURLLength {
			return nil, Errorf(CodeURLTooLong,
				"the URL for action %s would be %d characters, over this deployment's limit of %d: shorten its output, error, cause or response",
				a.Name, len(u), s.cfg.MaxURLLength)
		}
		resp.URLs[a.Name] = u
	}
	if err := s.compose(ctx, req, resp, data, base, now, expiration); err != nil {
		return nil, err
	}
	return resp, nil
}

// BaseURL is the one place that decides where a request's URLs point: the
// request's own base_url; else the deployment's BASE_URL; else the API
// Gateway stage the request came through (via); else the deployment's own
// stage (API_ID and STAGE, for direct invokes).
func (s *Service) BaseURL(req *CreateRequest, via Gateway) (string, error) {
	switch {
	case req.BaseURL != nil:
		return req.BaseURL.Resolve(s.cfg.Region)
	case s.cfg.BaseURL != "":
		return s.cfg.BaseURL, nil
	case via.APIID != "" && via.Stage != "" && s.cfg.Region != "":
		return APIGatewayURL(via.APIID, via.Stage, s.cfg.Region), nil
	case s.cfg.API.APIID != "" && s.cfg.API.Stage != "" && s.cfg.Region != "":
		return APIGatewayURL(s.cfg.API.APIID, s.cfg.API.Stage, s.cfg.Region), nil
	}
	return "", Errorf(CodeServiceError,
		"this deployment has no base URL: set BASE_URL (or API_ID and STAGE), or pass base_url in the request")
}

func (s *Service) payloadFor(req *CreateRequest, a *Action, tid string, now, expiration time.Time) (*Payload, error) {
	p := &Payload{
		Target:        req.Target,
		TransactionID: tid,
		IssuedAt:      now.Truncate(time.Second),
		Expiration:    expiration,
		Action:        a.Name,
		Type:          a.Type,
		Parameters:    req.EnableOutputParameters,
	}
	spec := a.Type.Spec()
	if spec.Output {
		out, err := compactJSON(a.Output)
		if err != nil {
			return nil, Errorf(CodeInvalidJSON, "action %s: output is not valid JSON", a.Name)
		}
		p.Output = out
	}
	if spec.ErrorCause {
		if a.Error != nil {
			p.Error = *a.Error
		}
		if a.Cause != nil {
			p.Cause = *a.Cause
		}
	}
	if !spec.Decides {
		if err := s.checkSwitches(true, false); err != nil {
			return nil, err
		}
		// Post actions are parameterised by their body, not the query.
		p.Parameters = false
		out, err := s.cfg.PostActions.Compile(a.Outcomes)
		if err != nil {
			return nil, err
		}
		p.Outcomes = out
	}
	if p.Parameters {
		if err := checkTemplates(a); err != nil {
			return nil, err
		}
	}
	pres, err := presentationFor(req, a)
	if err != nil {
		return nil, err
	}
	p.Presentation = pres
	if p.Confirm, err = s.confirmRouteFor(req, a); err != nil {
		return nil, err
	}
	if a.Response != nil {
		spec, err := jsontext.Marshal(a.Response)
		if err != nil {
			return nil, Errorf(CodeInvalidJSON, "action %s: response is not valid JSON", a.Name)
		}
		if !bytes.Equal(spec, []byte("{}")) {
			p.Response = spec
		}
	}
	return p, nil
}

func compactJSON(raw json.RawMessage) (json.RawMessage, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// CallbackURL is the URL for one action.
func CallbackURL(base, action string, typ ActionType, data string) string {
	var b strings.Builder
	b.Grow(len(base) + len(CallbackPath) + len(action) + len(data) + 32)
	b.WriteString(base)
	b.WriteString(CallbackPath)
	b.WriteString("?action=")
	b.WriteString(url.QueryEscape(action))
	b.WriteString("&type=")
	b.WriteString(string(typ))
	b.WriteString("&data=")
	b.WriteString(data) // the codecs' alphabets need no escaping
	return b.String()
}
