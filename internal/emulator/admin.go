package emulator

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
)

// maxAdminBody bounds an admin request body.
const maxAdminBody = 1 << 20

// serveAdmin serves the admin endpoints (see the package documentation).
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	status := s.admin(w, r)
	s.log.LogAttrs(r.Context(), slog.LevelDebug, "admin request",
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", status))
}

func (s *Server) admin(w http.ResponseWriter, r *http.Request) int {
	switch r.URL.Path {
	case AdminPrefix + "faults":
		switch r.Method {
		case http.MethodGet:
			return writeJSON(w, http.StatusOK, s.Faults())
		case http.MethodPut:
			raw, err := io.ReadAll(io.LimitReader(r.Body, maxAdminBody))
			if err != nil {
				return writeJSON(w, http.StatusBadRequest, adminError{err.Error()})
			}
			var f Faults
			if err := json.Unmarshal(raw, &f); err != nil {
				return writeJSON(w, http.StatusBadRequest, adminError{err.Error()})
			}
			if err := s.SetFaults(f); err != nil {
				return writeJSON(w, http.StatusBadRequest, adminError{err.Error()})
			}
			return writeJSON(w, http.StatusOK, s.Faults())
		}
		return methodNotAllowed(w, "GET, PUT")
	case AdminPrefix + "contacts":
		if r.Method != http.MethodGet {
			return methodNotAllowed(w, "GET")
		}
		c := s.Contacts()
		return writeJSON(w, http.StatusOK, describeOutput{TotalCount: int64(len(c)), Contacts: c})
	case AdminPrefix + "stats":
		if r.Method != http.MethodGet {
			return methodNotAllowed(w, "GET")
		}
		return writeJSON(w, http.StatusOK, s.Stats())
	}
	return writeJSON(w, http.StatusNotFound, adminError{"no such admin endpoint; see /_emulator/faults, /_emulator/contacts, /_emulator/stats"})
}

type adminError struct {
	Error string
}

func methodNotAllowed(w http.ResponseWriter, allow string) int {
	w.Header().Set("Allow", allow)
	return writeJSON(w, http.StatusMethodNotAllowed, adminError{"method not allowed; allowed: " + allow})
}

func writeJSON(w http.ResponseWriter, status int, v any) int {
	raw, err := json.Marshal(v)
	if err != nil {
		status, raw = http.StatusInternalServerError, []byte(`{"Error":"encoding failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(raw, '\n'))
	return status
}
