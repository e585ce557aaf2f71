package bus

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/layout"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// isolatedSubjects never cross a leaf connection. Each side stores its own
// metrics and buckets; the hub gets the edge's metrics by sourcing the
// edge's stream through the JetStream API of the edge's domain. Without
// this, a hub stream listening on panoptes.metrics.> would also store the
// edge's publishes directly (twice, with sourcing), and KV writes would land
// in both domains' buckets. Cluster heartbeats (panoptes.cluster.heartbeat,
// internal/cluster) are per site too: an edge's nodes are not the hub's
// members.
var isolatedSubjects = []string{wire.AllMetrics, "panoptes.cluster.>", "$KV.>", "$O.>"}

// federationOptions adds cluster routes, the JetStream domain, the leaf
// listener (hub) and leaf remotes (edge) to the embedded server's options.
func federationOptions(sopts *server.Options, opts Options) error {
	sopts.JetStreamDomain = opts.Domain
	if opts.Cluster.enabled() {
		host, port, err := splitListen(opts.Cluster.Listen)
		if err != nil {
			return fmt.Errorf("%w (bus.cluster.listen)", err)
		}
		routes, err := parseURLs("cluster route", opts.Cluster.Routes, "nats-route", "nats")
		if err != nil {
			return err
		}
		if sopts.DontListen {
			// The server starts routing only once its client listener is
			// open: keep one, on loopback, with a free port.
			sopts.DontListen, sopts.Host, sopts.Port = false, "127.0.0.1", server.RANDOM_PORT
		}
		tc, err := opts.Cluster.TLS.config("bus.cluster.tls")
		if err != nil {
			return err
		}
		sopts.Cluster = server.ClusterOpts{
			Name: opts.Cluster.Name, Host: host, Port: port, ConnectRetries: -1, ConnectBackoff: true,
			Username: opts.Cluster.User, Password: opts.Cluster.Password,
			TLSConfig: tc, TLSTimeout: tlsTimeout.Seconds(),
		}
		// Explicit routes carry their credentials in the URL (the server
		// dials implicit, gossiped ones with Username/Password).
		withUserInfo(routes, opts.Cluster.User, opts.Cluster.Password)
		sopts.Routes = routes
	}
	if opts.LeafListen != "" {
		host, port, err := splitListen(opts.LeafListen)
		if err != nil {
			return fmt.Errorf("%w (bus.leaf_listen)", err)
		}
		tc, err := opts.LeafTLS.config("bus.leaf_tls")
		if err != nil {
			return err
		}
		sopts.LeafNode.Host, sopts.LeafNode.Port = host, port
		sopts.LeafNode.Advertise = opts.LeafAdvertise
		sopts.LeafNode.TLSConfig, sopts.LeafNode.TLSTimeout = tc, tlsTimeout.Seconds()
		for _, u := range opts.LeafUsers {
			// No account: edges land in the global account, like without auth.
			sopts.LeafNode.Users = append(sopts.LeafNode.Users, &server.User{Username: u.User, Password: u.Password})
		}
	}
	if len(opts.Leaf.Remotes) > 0 {
		urls, err := parseURLs("leaf remote", opts.Leaf.Remotes, "nats-leaf", "nats", "tls")
		if err != nil {
			return err
		}
		withUserInfo(urls, opts.Leaf.User, opts.Leaf.Password)
		leafTLS, key := opts.Leaf.TLS, "bus.leaf.tls"
		if !leafTLS.enabled() {
			leafTLS, key = opts.TLS, "bus.tls"
		}
		tc, err := leafTLS.config(key)
		if err != nil {
			return err
		}
		sopts.LeafNode.ReconnectInterval = time.Second
		sopts.LeafNode.Remotes = []*server.RemoteLeafOpts{{
			URLs:        urls,
			Credentials: opts.Leaf.CredsFile,
			TLS:         tc != nil,
			TLSConfig:   tc,
			TLSTimeout:  tlsTimeout.Seconds(),
			DenyImports: isolatedSubjects,
			DenyExports: isolatedSubjects,
		}}
	}
	return nil
}

// tlsTimeout bounds a TLS handshake on routes and leaf connections: the
// server's default (2s) is short for a loaded machine or a slow WAN.
const tlsTimeout = 5 * time.Second

// withUserInfo sets user:password on URLs that carry no credentials of
// their own. The server redacts URLs in what it logs at warning and error
// level (the levels serverLogger keeps); TestLeafAuthAndTLS and
// TestRouteAuthAndTLS check that no password reaches the log.
func withUserInfo(urls []*url.URL, user, password string) {
	if user == "" {
		return
	}
	for _, u := range urls {
		if u.User == nil {
			u.User = url.UserPassword(user, password)
		}
	}
}

// sourcerTick is how often a hub looks for edge domains that answer and
// are not sourced yet.
const sourcerTick = time.Second

// domainSource is the source of an edge domain's metrics stream, through
// $JS.<domain>.API. Sourcing keeps its position: after a link outage it
// resumes where it stopped, and a source added again starts after the last
// message this stream holds from it.
func domainSource(domain string) *jetstream.StreamSource {
	return &jetstream.StreamSource{
		Name:     wire.MetricsStream,
		External: &jetstream.ExternalStream{APIPrefix: "$JS." + domain + ".API"},
	}
}

func sourceDomain(s *jetstream.StreamSource) string {
	if s == nil || s.External == nil || s.Name != wire.MetricsStream {
		return ""
	}
	return strings.TrimSuffix(strings.TrimPrefix(s.External.APIPrefix, "$JS."), ".API")
}

// keepSources is the subset of existing sources whose domain is configured.
func keepSources(existing []*jetstream.StreamSource, domains []string) []*jetstream.StreamSource {
	var out []*jetstream.StreamSource
	for _, s := range existing {
		if slices.Contains(domains, sourceDomain(s)) {
			out = append(out, s)
		}
	}
	return out
}

// Kicking a stalled source: the server retries a source that failed with a
// backoff of up to two minutes; when the edge answers again, the sourcer
// re-creates the source at once (removed and added again, it starts after
// the last message this stream holds from it: nothing lost, nothing twice).
const (
	stalledAfter = 5 * time.Second  // heartbeats come every second
	kickEvery    = 15 * time.Second // at most one kick per domain this often
)

// runSourcer adds each configured edge domain as a source of the metrics
// stream that is its partition (wire.PartitionOf of the domain: each edge
// keeps one stream, and all of it, every series in order, goes to one
// partition) once the edge's JetStream answers over a leaf connection, and
// restarts a stalled source whose edge answers again. Adding a source whose
// edge is not reachable yet would make the server retry it with a backoff.
func (b *Bus) runSourcer(ctx context.Context, domains []string) {
	t := time.NewTicker(sourcerTick)
	defer t.Stop()
	kicked := map[string]time.Time{}
	for {
		if err := b.reconcileSources(ctx, domains, kicked); err != nil && ctx.Err() == nil {
			b.logger.Warn("bus: edge sources", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// reconcileSources puts each domain's source on its partition of the
// current generation. While an older generation still sources a domain
// (it is not retired yet) the domain is left there: retiring moves it, and
// a source added to the new generation starts after the last message the
// retired stream held from the edge (layout.MetaSourcedPrefix).
func (b *Bus) reconcileSources(ctx context.Context, domains []string, kicked map[string]time.Time) error {
	actx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	lay, err := layout.Read(actx, b.js)
	if err != nil {
		return err
	}
	cur, ok := lay.Current()
	if !ok {
		return nil
	}
	at := map[string][]*layout.Stream{} // domain → live streams sourcing it
	gen := map[*layout.Stream]int{}
	for _, g := range lay.Gens {
		for _, s := range g.Streams {
			if s == nil || s.Retired {
				continue
			}
			gen[s] = g.Gen
			for _, src := range s.Info.Config.Sources {
				if d := sourceDomain(src); d != "" {
					at[d] = append(at[d], s)
				}
			}
		}
	}
	type change struct {
		cfg     jetstream.StreamConfig
		stalled []*jetstream.StreamSource // removed first, then added again
		added   []string
	}
	changes := map[string]*change{}
	changeOf := func(s *layout.Stream) *change {
		if c := changes[s.Name]; c != nil {
			return c
		}
		c := &change{cfg: s.Info.Config}
		c.cfg.Sources = slices.Clone(c.cfg.Sources)
		changes[s.Name] = c
		return c
	}
	for _, d := range domains {
		target := cur.Streams[cur.Partition(d)]
		older, there := false, false
		for _, s := range at[d] {
			switch {
			case s == target:
				there = true
			case gen[s] == cur.Gen: // in the wrong partition: take it away
				c := changeOf(s)
				c.cfg.Sources = slices.DeleteFunc(c.cfg.Sources, func(src *jetstream.StreamSource) bool { return sourceDomain(src) == d })
			default:
				older = true
			}
		}
		if older {
			continue
		}
		if there {
			if sourceStalled(target.Info.Sources, d) && time.Since(kicked[d]) > kickEvery && b.domainAnswers(actx, d) {
				c := changeOf(target)
				i := slices.IndexFunc(c.cfg.Sources, func(src *jetstream.StreamSource) bool { return sourceDomain(src) == d })
				c.stalled = append(c.stalled, c.cfg.Sources[i])
				c.cfg.Sources = slices.Delete(c.cfg.Sources, i, i+1)
				kicked[d] = time.Now()
			}
			continue
		}
		if b.domainAnswers(actx, d) {
			c := changeOf(target)
			src := domainSource(d)
			src.OptStartSeq = sourcedUpTo(lay, d) + 1
			if src.OptStartSeq == 1 {
				src.OptStartSeq = 0 // never sourced before: from the start
			}
			c.cfg.Sources = append(c.cfg.Sources, src)
			c.added = append(c.added, d)
		}
	}
	var errs []error
	for name, c := range changes {
		if len(c.stalled) > 0 {
			if _, err := b.js.UpdateStream(actx, c.cfg); err != nil {
				errs = append(errs, fmt.Errorf("stream %s: restart stalled sources: %w", name, err))
				continue
			}
			c.cfg.Sources = append(c.cfg.Sources, c.stalled...)
			var ds []string
			for _, src := range c.stalled {
				ds = append(ds, sourceDomain(src))
			}
			b.logger.Info("bus: restarting stalled edge sources (the edge answers again)", "stream", name, "domains", ds)
		}
		if _, err := b.js.UpdateStream(actx, c.cfg); err != nil {
			errs = append(errs, fmt.Errorf("stream %s: source edge domains %v: %w", name, c.added, err))
			continue
		}
		if len(c.added) > 0 {
			b.logger.Info("bus: sourcing edge metrics streams", "stream", name, "domains", c.added)
		}
	}
	return errors.Join(errs...)
}

// sourcedUpTo is the last sequence of domain's stream that a retired
// stream holds (0: none).
func sourcedUpTo(lay layout.Layout, domain string) uint64 {
	var seq uint64
	for _, g := range lay.Gens {
		for _, s := range g.Streams {
			if s == nil || !s.Retired {
				continue
			}
			if v, err := strconv.ParseUint(s.Info.Config.Metadata[layout.MetaSourcedPrefix+domain], 10, 64); err == nil {
				seq = max(seq, v)
			}
		}
	}
	return seq
}

// sourceStalled: the source of domain has not heard from its edge (no
// message, no heartbeat) for stalledAfter, or reports an error.
func sourceStalled(sources []*jetstream.StreamSourceInfo, domain string) bool {
	for _, si := range sources {
		if sourceInfoDomain(si) != domain {
			continue
		}
		return si.Error != nil || si.Active < 0 || si.Active > stalledAfter
	}
	return false
}

func sourceInfoDomain(si *jetstream.StreamSourceInfo) string {
	if si == nil || si.External == nil || si.Name != wire.MetricsStream {
		return ""
	}
	return strings.TrimSuffix(strings.TrimPrefix(si.External.APIPrefix, "$JS."), ".API")
}

// domainAnswers is true when the JetStream of domain answers an API request.
func (b *Bus) domainAnswers(ctx context.Context, domain string) bool {
	rctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	_, err := b.nc.RequestWithContext(rctx, "$JS."+domain+".API.INFO", nil)
	return err == nil
}

// SourcedDomains lists the edge domains the current generation's metrics
// streams source now.
func (b *Bus) SourcedDomains(ctx context.Context) ([]string, error) {
	lay, err := layout.Read(ctx, b.js)
	if err != nil {
		return nil, err
	}
	cur, ok := lay.Current()
	if !ok {
		return nil, fmt.Errorf("bus: no metrics streams")
	}
	var out []string
	for _, s := range cur.Streams {
		for _, src := range s.Info.Config.Sources {
			if d := sourceDomain(src); d != "" {
				out = append(out, d)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// LeafConnections is how many leaf connections the embedded server has (an
// edge: 1 while the link to the hub is up; a hub: one per connected edge
// server). 0 without an embedded server.
func (b *Bus) LeafConnections() int {
	if b.srv == nil {
		return 0
	}
	return b.srv.NumLeafNodes()
}
