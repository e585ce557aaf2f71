// Package web is the operator's view: a status page served by every node
// at / (plain HTML, CSS and JavaScript embedded in the binary, no request
// to another origin) and its JSON API under /api/v1/ (docs/API.md).
//
// It reads what nodes already hold and never polls a device for a page
// view: the inventory index, the cluster's membership, each node's record
// of the checks it runs (checkstate), the bus messages those checks
// published (fetched from the stream by sequence), a ring of self-metric
// samples, the events stream and the topology app's graph. A node answers
// for its own checks; any node serves a page by asking the others over
// NATS (peers.go) and merging their answers.
package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/checkstate"
	"github.com/panoptes-go/panoptes/internal/cluster"
	"github.com/panoptes-go/panoptes/internal/resource"
)

// Inventory is the node's inventory index (inventory.Index).
type Inventory interface {
	// Snapshot returns every resource, sorted by key; read-only.
	Snapshot() []*resource.Resource
	// Get returns the resource with that resource.Key(), or nil.
	Get(key string) *resource.Resource
}

// Membership is the node's view of the cluster (cluster.Cluster).
type Membership interface {
	// Members returns the live members, this node included.
	Members() []cluster.Member
}

// Checks is what this node knows of the checks it runs
// (checkstate.Book, which the collector fills).
type Checks interface {
	Each(fn func(resKey string, s checkstate.Summary))
	Checks(resKey string) []checkstate.Check
}

// Messages fetches bus messages by their position in a stream.
type Messages interface {
	Message(ctx context.Context, ref checkstate.MessageRef) ([]byte, error)
}

// Options configure a Web.
type Options struct {
	NodeID string
	Site   string // this node's site: it answers the requests to it
	// Conn carries the requests to peers and their answers (nil: this
	// node alone, without peers; the checks of others are unknown).
	Conn *nats.Conn
	// JS reads the leader keys, the events stream and, unless Messages
	// is set, messages by sequence.
	JS         jetstream.JetStream
	Inventory  Inventory
	Membership Membership
	// Checks is this node's record of its checks (nil: it runs none).
	Checks   Checks
	Messages Messages
	// Leaders returns each site's leader (default: read from JS).
	Leaders func(ctx context.Context) (map[string]cluster.Leader, error)
	// Events reads recent events (default: the events stream on JS).
	Events Events
	// Gatherer is sampled for the overview's charts (nil: none).
	Gatherer prometheus.Gatherer
	// SampleEvery is the charts' resolution (default 15s); History the
	// samples kept (default an hour's worth).
	SampleEvery time.Duration
	History     int
	// PeerTimeout bounds the wait for peers' answers (default 3s).
	PeerTimeout time.Duration
	Version     string
	Logger      *slog.Logger
}

// Web serves the page and the API, and answers its peers.
type Web struct {
	opts    Options
	log     *slog.Logger
	history *history
	mux     *http.ServeMux
	// partSize caps the parts of an answer (0: the bus's max payload less
	// room for headers); tests set it to see answers split.
	partSize int
	// answering is closed once Run answers peers' requests (Answering).
	answering     chan struct{}
	answeringOnce sync.Once
}

// New returns a Web; Run answers peers and samples self-metrics, Handler
// serves HTTP.
func New(opts Options) (*Web, error) {
	if opts.Inventory == nil || opts.Membership == nil {
		return nil, errors.New("web: an inventory and a membership are required")
	}
	if opts.NodeID == "" || opts.Site == "" {
		return nil, errors.New("web: node id and site are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.PeerTimeout <= 0 {
		opts.PeerTimeout = DefaultPeerTimeout
	}
	if opts.SampleEvery <= 0 {
		opts.SampleEvery = 15 * time.Second
	}
	if opts.History <= 0 {
		opts.History = int(time.Hour / opts.SampleEvery)
	}
	if opts.Messages == nil && opts.JS != nil {
		opts.Messages = &streamMessages{js: opts.JS}
	}
	if opts.Leaders == nil && opts.JS != nil {
		js := opts.JS
		opts.Leaders = func(ctx context.Context) (map[string]cluster.Leader, error) {
			st, err := cluster.ReadStatus(ctx, js)
			if err != nil {
				return nil, err
			}
			return st.Leaders, nil
		}
	}
	if opts.Events == nil && opts.JS != nil {
		opts.Events = &StreamEvents{JS: opts.JS}
	}
	w := &Web{opts: opts, log: opts.Logger, history: newHistory(opts.Gatherer, opts.History), answering: make(chan struct{})}
	w.routes()
	return w, nil
}

// Run answers the peers' requests and samples the self-metrics until ctx
// ends. Every node runs it, whether it serves HTTP or not: it holds the
// records of its own checks.
func (w *Web) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); w.history.run(ctx, w.opts.SampleEvery) }()
	defer wg.Wait()
	if w.opts.Conn == nil {
		<-ctx.Done()
		return nil
	}
	return w.serve(ctx)
}

// Answering is closed once Run has subscribed to the peers' requests: a
// page request before that finds this node missing (it says so, and the
// next request finds it).
func (w *Web) Answering() <-chan struct{} { return w.answering }

// Handler serves the page (GET /...) and the API (GET /api/v1/...).
func (w *Web) Handler() http.Handler { return w.mux }

// Mount registers the page and the API on a server's mux, behind whatever
// the server applies to every handler (httpd.Server.Handle).
func (w *Web) Mount(handle func(pattern string, h http.Handler)) {
	handle("GET /", w.mux)
	handle("GET /api/v1/", w.mux)
}
