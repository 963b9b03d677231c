package emulator

import (
	"encoding/json"
	"log/slog"
	"net/http"
)

// AdminPrefix starts every admin path; the API itself only serves "/".
const AdminPrefix = "/_emulator/"

func (s *Server) adminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+AdminPrefix+"faults", func(w http.ResponseWriter, r *http.Request) {
		s.writeAdmin(w, r, http.StatusOK, s.Faults())
	})
	mux.HandleFunc("PUT "+AdminPrefix+"faults", func(w http.ResponseWriter, r *http.Request) {
		var f Faults // its UnmarshalJSON refuses unknown fields
		err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&f)
		if err == nil {
			err = s.SetFaults(f)
		}
		if err != nil {
			s.writeAdmin(w, r, http.StatusBadRequest, map[string]string{"Error": err.Error()})
			return
		}
		s.writeAdmin(w, r, http.StatusOK, s.Faults())
	})
	mux.HandleFunc("GET "+AdminPrefix+"contacts", func(w http.ResponseWriter, r *http.Request) {
		c := s.Contacts()
		s.writeAdmin(w, r, http.StatusOK, map[string]any{"TotalCount": len(c), "Contacts": c})
	})
	mux.HandleFunc("GET "+AdminPrefix+"stats", func(w http.ResponseWriter, r *http.Request) {
		s.writeAdmin(w, r, http.StatusOK, s.Stats())
	})
}

// writeAdmin answers with v, which is always encodable.
func (s *Server) writeAdmin(w http.ResponseWriter, r *http.Request, status int, v any) {
	raw, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(raw, '\n'))
	s.log.LogAttrs(r.Context(), slog.LevelDebug, "admin request",
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", status))
}
