// Package home answers GET / of the local server: the first URL a person
// opens. A browser gets a small page saying what the server is, with its
// version, its endpoints, and a link to the local task store's dashboard
// when there is one; anything else (curl, SDKs, Accept: application/json)
// keeps the JSON 404 that names the API's endpoints, as every other
// unknown path gets.
//
// Only the local server mounts it (at Pattern): the Lambda functions have
// no home page.
package home

import (
	"net/http"
	"strings"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/callbackurls"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi"
	"github.com/sfncallbackurls/sfn-callback-urls/pkg/httpapi/pages"
)

// Pattern is where to mount the handler: the root path only.
const Pattern = "/{$}"

// ProjectURL is the project's README.
const ProjectURL = "https://github.com/sfncallbackurls/sfn-callback-urls#readme"

// Options say what the page shows.
type Options struct {
	// Version is the server's version ("" leaves it out), as --version
	// prints it.
	Version string
	// Local is the local task store dashboard's path (localweb.Prefix),
	// "" when the server has no local store.
	Local string
}

// apiEndpoints are the API's endpoints, named by the JSON 404 as the
// router names them.
var apiEndpoints = []string{"POST /urls", "/respond"}

type handler struct {
	page     pages.Page
	notFound *callbackurls.Error
}

// New returns the handler for Pattern.
func New(o Options) http.Handler {
	endpoints := []pages.Endpoint{
		{Pattern: "POST /urls", What: "Create callback URLs for a task token (the CreateUrls API, JSON)."},
		{Pattern: "GET, POST /respond?…", What: "A callback URL: sends its outcome to Step Functions (a browser confirms first)."},
		{Pattern: "GET /healthz", What: "Health check."},
	}
	if o.Local != "" {
		endpoints = append(endpoints,
			pages.Endpoint{Pattern: "POST " + o.Local + "tasks", What: "Make a task in the local store; GET lists them."},
			pages.Endpoint{Pattern: "GET " + o.Local, What: "The local store’s dashboard."})
	}
	return &handler{
		page: pages.Page{Template: pages.HomeTemplate, Kind: "home", DocTitle: "sfn-callback-urls", Tone: "info",
			Home: &pages.Home{Version: o.Version, Endpoints: endpoints, Local: o.Local, ProjectURL: ProjectURL}},
		notFound: callbackurls.Errorf(callbackurls.CodeNotFound,
			"no such endpoint: use %s", strings.Join(apiEndpoints, " or ")),
	}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		httpapi.WantsPage(r.Header.Get("Accept"), r.Header.Get("User-Agent")) {
		pages.Render(w, r, http.StatusOK, h.page)
		return
	}
	httpapi.Fail(w, r, h.notFound, "")
}
