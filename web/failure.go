package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"tally/domain"
)

// failed answers an error from one of the stores the settings pages
// share with the API, by its kind (domain.Error), as the API maps the
// same errors: a request the store refused with a public message goes
// back to its form (again) with that message; anything without one is
// logged and the page says what could not be done. A nil again shows
// the message on an error page.
func (s *Server) failed(w http.ResponseWriter, r *http.Request, err error, what string, again func(status int, msg string)) {
	if again == nil {
		again = func(status int, msg string) { s.errorPage(w, r, status, msg) }
	}
	msg := strings.ReplaceAll(domain.PublicMessage(err), "\n", "; ")
	if msg != "" {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
		if !strings.HasSuffix(msg, ".") {
			msg += "."
		}
		switch domain.KindOf(err) {
		case domain.KindInvalid:
			again(http.StatusBadRequest, msg)
			return
		case domain.KindUnprocessable:
			again(http.StatusUnprocessableEntity, msg)
			return
		case domain.KindConflict:
			again(http.StatusConflict, msg)
			return
		case domain.KindNotFound:
			s.errorPage(w, r, http.StatusNotFound, msg)
			return
		case domain.KindTooMany:
			var e *domain.Error
			if errors.As(err, &e) && e.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(e.RetryAfter.Seconds())))
			}
			s.errorPage(w, r, http.StatusTooManyRequests, msg)
			return
		case domain.KindUnavailable:
			s.deps.Log.ErrorContext(r.Context(), what+" failed", "err", err)
			s.errorPage(w, r, http.StatusServiceUnavailable, msg)
			return
		}
	}
	s.deps.Log.ErrorContext(r.Context(), what+" failed", "err", err)
	s.errorPage(w, r, http.StatusServiceUnavailable, "Could not "+what+" right now; try again shortly.")
}
