package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// ControlHandler serves the simulated network's controls over HTTP (panoptes
// sim --control ADDR), for tests and demos in other processes:
//
//	GET  /network                                  the ground truth (Network) as JSON
//	POST /interface?device=D&port=P&state=down|up  SetInterface
//	POST /bgp?device=D&peer=ADDR&state=S           SetBGPSession (S: idle … established or 1-6)
//
// A bad request is answered 400 with the reason as text; a farm without a
// network answers 409.
func (f *Farm) ControlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /network", func(w http.ResponseWriter, r *http.Request) {
		n, ok := f.Network()
		if !ok {
			http.Error(w, ErrNoTopology.Error(), http.StatusConflict)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(n)
	})
	mux.HandleFunc("POST /interface", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var up bool
		switch q.Get("state") {
		case "up":
			up = true
		case "down":
		default:
			http.Error(w, fmt.Sprintf("state %q: want up or down", q.Get("state")), http.StatusBadRequest)
			return
		}
		controlResult(w, f.SetInterface(q.Get("device"), q.Get("port"), up))
	})
	mux.HandleFunc("POST /bgp", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		controlResult(w, f.SetBGPSession(q.Get("device"), q.Get("peer"), q.Get("state")))
	})
	return mux
}

func controlResult(w http.ResponseWriter, err error) {
	switch {
	case err == ErrNoTopology:
		http.Error(w, err.Error(), http.StatusConflict)
	case err != nil:
		http.Error(w, err.Error(), http.StatusBadRequest)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}
