package web

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
)

//go:embed static
var staticFiles embed.FS

// csp keeps the page to its own origin: scripts, styles, images and API
// calls come from the node that served it, nothing else loads.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Endpoints lists the API (GET /api/v1/ answers with it).
var Endpoints = []string{
	"GET /api/v1/overview",
	"GET /api/v1/devices?filter=&q=&status=&sort=&order=&offset=&limit=",
	"GET /api/v1/devices/{key}",
	"GET /api/v1/cluster",
	"GET /api/v1/events?site=&kind=&resource=&status=&q=&since=&limit=",
	"GET /api/v1/topology (the topology app, when it runs)",
}

func (w *Web) routes() {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFiles, "static")
	files := http.FileServerFS(static)
	mux.Handle("GET /{$}", page(files))
	mux.Handle("GET /assets/", page(files))
	mux.HandleFunc("GET /api/v1/{$}", func(rw http.ResponseWriter, _ *http.Request) {
		writeJSON(rw, map[string]any{"endpoints": Endpoints, "docs": "docs/API.md"})
	})
	mux.HandleFunc("GET /api/v1/overview", w.handleOverview)
	mux.HandleFunc("GET /api/v1/devices", w.handleDevices)
	mux.HandleFunc("GET /api/v1/devices/{key}", w.handleDevice)
	mux.HandleFunc("GET /api/v1/cluster", w.handleCluster)
	mux.HandleFunc("GET /api/v1/events", w.handleEvents)
	// The topology app mounts its own handler on the server for this
	// path (it is more specific than /api/v1/, so it wins); without it
	// the page says the app does not run rather than fail.
	mux.HandleFunc("GET /api/v1/topology", func(rw http.ResponseWriter, _ *http.Request) {
		writeJSON(rw, map[string]any{"available": false, "note": "The topology app does not run on this node: no link graph to draw."})
	})
	mux.HandleFunc("GET /api/v1/", func(rw http.ResponseWriter, r *http.Request) {
		writeError(rw, http.StatusNotFound, "no such endpoint: "+r.URL.Path+" (GET /api/v1/ lists them)")
	})
	w.mux = mux
}

// page serves embedded files with headers that keep the page to its origin.
func page(files http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		h := rw.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		files.ServeHTTP(rw, r)
	})
}

func writeJSON(rw http.ResponseWriter, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("Cache-Control", "no-store")
	rw.Header().Set("X-Content-Type-Options", "nosniff")
	_ = json.NewEncoder(rw).Encode(v)
}

func writeError(rw http.ResponseWriter, code int, msg string) {
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("X-Content-Type-Options", "nosniff")
	rw.WriteHeader(code)
	_ = json.NewEncoder(rw).Encode(map[string]string{"error": msg})
}
