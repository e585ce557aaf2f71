package node

import (
	"context"
	"net/http"
	"sync"

	"github.com/panoptes-go/panoptes/internal/checkstate"
	"github.com/panoptes-go/panoptes/internal/version"
	"github.com/panoptes-go/panoptes/internal/web"
)

// startPage runs this node's side of the status page until ctx ends:
// answering the other nodes' page requests for the checks it runs (book)
// and sampling its self-metrics. Every node runs it; with HTTP, handle
// serves the page at / and its API at /api/v1/.
func (n *Node) startPage(ctx context.Context, wg *sync.WaitGroup, book *checkstate.Book, handle func(string, http.Handler)) error {
	w, err := web.New(web.Options{NodeID: n.cluster.ID(), Site: n.cfg.Site, Conn: n.bus.Conn(), JS: n.bus.JetStream(),
		Inventory: n.index, Membership: n.cluster, Checks: book, Gatherer: n.reg, Version: version.Get().Version,
		Logger: n.log.With("component", "web")})
	if err != nil {
		return err
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := w.Run(ctx); err != nil && ctx.Err() == nil {
			n.log.Error("status page: no longer answering the other nodes", "err", err)
		}
	}()
	w.Mount(handle)
	return nil
}
