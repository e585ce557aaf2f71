package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/cluster"
	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/inventory"
)

const (
	statusTimeout      = 10 * time.Second
	statusConnectRetry = 3 * time.Second
)

func statusCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("status", "--config FILE [--url nats://host:4222]",
		"Show the cluster: every member with its site, roles, last heartbeat and the number of\n"+
			"resources it owns (computed as the nodes do, by rendezvous hash over the inventory),\n"+
			"and the leader of each site. It connects to the bus of a running node: the config's\n"+
			"bus.url, or its bus.listen (a node's embedded server must listen for status to reach it;\n"+
			"with bus.listen_users and bus.listen_tls it logs in as bus.user, else the first listen user,\n"+
			"with bus.tls, else the listener's own ca_file and certificate).", stderr)
	path := fs.String("config", "panoptes.yaml", "config file of a node of the cluster")
	url := fs.String("url", "", "NATS URL to connect to (default: the config's bus.url, else its bus.listen)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	u, err := statusURL(cfg, *url)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	nc, err := bus.Connect(ctx, statusBusOptions(cfg, u), nats.Timeout(5*time.Second), nats.NoReconnect())
	if err != nil {
		return fmt.Errorf("connect to the bus: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	st, err := cluster.ReadStatus(ctx, js)
	if err != nil {
		return err
	}
	owned, total, err := ownership(ctx, js, cfg.Bus.Replicas, st.Members)
	if err != nil {
		return err
	}
	printStatus(stdout, st, owned, total)
	return nil
}

// statusURL picks the bus to connect to: --url, bus.url, or bus.listen.
func statusURL(cfg *config.Config, flagURL string) (string, error) {
	switch {
	case flagURL != "":
		return flagURL, nil
	case cfg.Bus.URL != "":
		return cfg.Bus.URL, nil
	case cfg.Bus.Listen != "":
		host, port, err := net.SplitHostPort(cfg.Bus.Listen)
		if err != nil {
			return "", fmt.Errorf("bus.listen %q: %w", cfg.Bus.Listen, err)
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		scheme := "nats://"
		if cfg.Bus.ListenTLS != (config.BusServerTLS{}) {
			scheme = "tls://"
		}
		return scheme + net.JoinHostPort(host, port), nil
	}
	return "", errors.New("the config has neither bus.url nor bus.listen: status reads the cluster from a running node's bus; " +
		"set bus.listen on the node (its embedded server then accepts connections) or pass --url")
}

// statusBusOptions connects to url the way the node does: with the
// config's credentials and TLS when it has bus.url (they are bus.url's);
// for a node's embedded server reached through bus.listen, as a client of
// that listener (bus.ListenClient: bus.user or the first of
// bus.listen_users, and TLS only with bus.listen_tls, since bus.tls may be
// an edge's TLS to the hub).
func statusBusOptions(cfg *config.Config, url string) bus.Options {
	var opts bus.Options
	if cfg.Bus.URL != "" {
		opts = bus.FromConfig(cfg.Bus, cfg.DataDir)
		opts.URL = url
	} else {
		opts = bus.ListenClient(cfg.Bus, url)
	}
	opts.Name = "panoptes-status"
	// A tool answers quickly: retry a cluster that is not up only briefly.
	opts.ConnectRetry = min(cfg.Bus.ConnectRetry.D(), statusConnectRetry)
	return opts
}

// ownership counts the resources each live poller owns, by site, with the
// nodes' own rendezvous hash over the inventory.
func ownership(ctx context.Context, js jetstream.JetStream, replicas int, members []cluster.Member) (map[string]int, map[string]int, error) {
	owned, total := map[string]int{}, map[string]int{}
	if _, err := js.KeyValue(ctx, inventory.Bucket); errors.Is(err, jetstream.ErrBucketNotFound) {
		return owned, total, nil // no inventory yet
	}
	store, err := inventory.Open(ctx, js, replicas)
	if err != nil {
		return nil, nil, err
	}
	resources, err := store.List(ctx)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	pollers := map[string][]cluster.Member{}
	for key, r := range resources {
		ps, ok := pollers[r.Site]
		if !ok {
			ps = cluster.Pollers(members, r.Site, now)
			pollers[r.Site] = ps
		}
		total[r.Site]++
		if o := cluster.Owner(ps, key); o != "" {
			owned[o]++
		}
	}
	return owned, total, nil
}

func printStatus(w io.Writer, st *cluster.Status, owned, total map[string]int) {
	now := time.Now()
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSITE\tROLES\tHEARTBEAT\tSTATE\tOWNS\tCAPACITY\tVERSION\tSTARTED")
	for _, m := range st.Members {
		state := "live"
		switch {
		case !m.Alive(now):
			state = "expired"
		case m.Draining:
			state = "draining"
		}
		if st.Leaders[m.Site].ID == m.ID {
			state += ",leader"
		}
		roles := strings.Join(m.Roles, ",")
		if all := config.KnownRoles(); len(m.Roles) == len(all) && !slices.ContainsFunc(all, func(r string) bool { return !m.Has(r) }) {
			roles = "all"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s ago\t%s\t%d\t%d\t%s\t%s\n", m.ID, m.Site, roles,
			m.Age(now), state, owned[m.ID], m.Capacity, m.Version, m.Started.Format(time.RFC3339))
	}
	_ = tw.Flush()
	sites := map[string]bool{}
	for _, m := range st.Members {
		sites[m.Site] = true
	}
	for s := range st.Leaders {
		sites[s] = true
	}
	for s := range total {
		sites[s] = true
	}
	fmt.Fprintln(w)
	for _, s := range sortedKeys(sites) {
		leader := "none"
		if l, ok := st.Leaders[s]; ok {
			leader = fmt.Sprintf("%s (since %s)", l.ID, l.Since.Format(time.RFC3339))
		}
		unowned := total[s]
		for _, m := range cluster.Pollers(st.Members, s, now) {
			unowned -= owned[m.ID]
		}
		fmt.Fprintf(w, "site %s: leader %s; %d resources", s, leader, total[s])
		if unowned > 0 {
			fmt.Fprintf(w, ", %d with no live poller", unowned)
		}
		fmt.Fprintln(w)
	}
}

func sortedKeys(m map[string]bool) []string { return slices.Sorted(maps.Keys(m)) }
