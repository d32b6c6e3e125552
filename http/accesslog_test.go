package http

import (
	stdhttp "net/http"
	"net/http/httptest"
	"testing"
)

func TestLoggedPathHidesAddresses(t *testing.T) {
	mux := stdhttp.NewServeMux()
	mux.HandleFunc("GET /v1/users/{email}/notifications", func(stdhttp.ResponseWriter, *stdhttp.Request) {})
	for path, want := range map[string]string{
		"/v1/users/ann@example.com/notifications":   "/v1/users/{email}/notifications",
		"/v1/users/ann%40example.com/notifications": "/v1/users/{email}/notifications",
		"/v1/users/ann@example.com/typo":            "/v1/users/{redacted}/typo",
		"/v1/nothing/ann%40example.com":             "/v1/nothing/{redacted}",
		"/v1/documents?email=ann@example.com":       "/v1/documents",
	} {
		r := httptest.NewRequest("GET", path, nil)
		mux.ServeHTTP(httptest.NewRecorder(), r)
		if got := loggedPath(r); got != want {
			t.Errorf("%s logged as %s, want %s", path, got, want)
		}
	}
}
