package respond

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/pages"
)

// BenchmarkRenderPage measures the templates alone, per page kind.
func BenchmarkRenderPage(b *testing.B) {
	form, err := callbackurls.ParseInputSchema(json.RawMessage(`{"type":"object","properties":{
		"comment":{"type":"string","format":"multiline","title":"Comment","description":"Sent with the rejection."}}}`))
	if err != nil {
		b.Fatal(err)
	}
	res := &callbackurls.CallbackResult{Sent: true, Callback: &callbackurls.Callback{TransactionID: "4f6e1c0b8d0a4c3e9a3b6d2f1e0c9b8a", Action: "reject", Type: callbackurls.Failure,
		Payload: &callbackurls.Payload{Expiration: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)},
		Presentation: &callbackurls.Presentation{Title: "Expense report #4821",
			Description: "Alice Martin asks for EUR 1,240.00 for the Berlin team offsite.", Label: "Reject", Input: form}},
		Input: map[string]any{"comment": "Please split the hotel nights from the travel costs."}}
	views := map[string]pages.Page{
		"confirm": confirmPage(res, nil, nil, ""),
		"result":  resultPage(res),
		"error": errorPage(&callbackurls.Error{Code: callbackurls.CodeStepFunctionsError, Kind: callbackurls.BadInput,
			TargetCode: callbackurls.TaskTimedOut}, res),
	}
	for name, p := range views {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			req := httptest.NewRequest("GET", "/respond", nil)
			for b.Loop() {
				pages.Render(httptest.NewRecorder(), req, 200, p)
			}
		})
	}
}
