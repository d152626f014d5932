package callbackurls

import (
	"context"
	"net/url"
)

// CallbackRequest is a callback URL's query and what came with it, for
// the tests that drive Open and Act as one call.
type CallbackRequest struct {
	Query url.Values
	Submission
}

// Respond is Open, then Act, as the edges call them.
func (s *Service) Respond(ctx context.Context, req *CallbackRequest) (*CallbackResult, error) {
	cb, err := s.Open(ctx, req.Query)
	if err != nil {
		return &CallbackResult{Callback: cb}, err
	}
	res, err := s.Act(ctx, cb, req.Submission)
	return &res, err
}

// ExportTargetAPIError is a refusal's contract error for a target of kind k.
func ExportTargetAPIError(e *TargetError, k TargetKind) *Error { return e.apiError(k) }
