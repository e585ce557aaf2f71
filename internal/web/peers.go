package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/panoptes-go/panoptes/internal/wire"
)

// The nodes answer each other's page requests over core NATS
// (request/reply, scatter-gather): a request goes to every node of a site
// on panoptes.api.<site>.<op>, each answers for what it holds (the checks
// it runs, its self-metrics), and the asking node merges the answers.
// Nothing is stored for it.
const (
	apiPrefix = "panoptes.api."

	opStates  = "states"  // one summary line per resource whose checks run here
	opDevice  = "device"  // one resource's checks and its latest groups
	opSummary = "summary" // the node's self-metrics now and over the last hour
)

// Headers of an answer's messages: which node, which part of how many.
const (
	hdrNode = "Panoptes-Node"
	hdrPart = "Panoptes-Part" // "i/n", 1-based
)

// DefaultPeerTimeout bounds the wait for the nodes' answers.
const DefaultPeerTimeout = 3 * time.Second

// apiSubject is the subject of op's requests to the nodes of site.
func apiSubject(site, op string) string { return apiPrefix + wire.Token(site) + "." + op }

// request is what a node is asked.
type request struct {
	// Keys limits a states request to these resources (nil: all).
	Keys []string `json:"keys,omitempty"`
	// Key is a device request's resource.
	Key string `json:"key,omitempty"`
}

// answer is one node's raw answer to a request.
type answer struct {
	Node string
	Data []byte
}

// gather sends req to the nodes of sites on op's subject and collects the
// answer of every node in expect (node IDs), or what arrived by the
// timeout; missing lists the nodes that did not answer in time.
func (w *Web) gather(ctx context.Context, op string, sites []string, req request, expect []string) (answers []answer, missing []string, err error) {
	nc := w.opts.Conn
	if nc == nil {
		return nil, expect, errors.New("no bus connection: peers cannot be asked")
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, nil, err
	}
	inbox := nc.NewRespInbox()
	ch := make(chan *nats.Msg, 256)
	sub, err := nc.ChanSubscribe(inbox, ch)
	if err != nil {
		return nil, nil, fmt.Errorf("subscribe to answers: %w", err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	// Parts of a large answer can outnumber the channel: let NATS hold them.
	_ = sub.SetPendingLimits(-1, 256<<20)
	for _, site := range sites {
		if err := nc.PublishMsg(&nats.Msg{Subject: apiSubject(site, op), Reply: inbox, Data: body}); err != nil {
			return nil, nil, fmt.Errorf("ask the nodes of site %s: %w", site, err)
		}
	}
	waiting := map[string]bool{}
	for _, id := range expect {
		waiting[id] = true
	}
	parts := map[string]*assembly{}
	timer := time.NewTimer(w.opts.PeerTimeout)
	defer timer.Stop()
	for len(waiting) > 0 {
		select {
		case m := <-ch:
			node := m.Header.Get(hdrNode)
			i, n, ok := parsePart(m.Header.Get(hdrPart))
			if node == "" || !ok {
				continue
			}
			a := parts[node]
			if a == nil || a.n != n {
				a = &assembly{n: n, got: make([][]byte, n)}
				parts[node] = a
			}
			if a.got[i-1] == nil {
				a.got[i-1] = m.Data
				a.have++
			}
			if a.have == a.n {
				answers = append(answers, answer{Node: node, Data: a.join()})
				delete(parts, node)
				delete(waiting, node)
			}
		case <-timer.C:
			for id := range waiting {
				missing = append(missing, id)
			}
			slices.Sort(missing)
			return answers, missing, nil
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	return answers, nil, nil
}

// assembly collects the parts of one node's answer.
type assembly struct {
	n, have int
	got     [][]byte
}

func (a *assembly) join() []byte {
	if a.n == 1 {
		return a.got[0]
	}
	size := 0
	for _, p := range a.got {
		size += len(p)
	}
	out := make([]byte, 0, size)
	for _, p := range a.got {
		out = append(out, p...)
	}
	return out
}

func parsePart(s string) (i, n int, ok bool) {
	a, b, found := strings.Cut(s, "/")
	if !found {
		return 0, 0, false
	}
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || n < 1 || n > 4096 || i < 1 || i > n {
		return 0, 0, false
	}
	return i, n, true
}

// reply sends data to a request's reply subject, cut into parts that fit
// the connection's maximum payload.
func (w *Web) reply(m *nats.Msg, data []byte) error {
	if m.Reply == "" {
		return nil
	}
	nc := w.opts.Conn
	size := w.partSize
	if size <= 0 {
		size = max(int(nc.MaxPayload())-4<<10, 4<<10)
	}
	n := max(1, (len(data)+size-1)/size)
	for i := range n {
		part := data[i*size : min(len(data), (i+1)*size)]
		msg := &nats.Msg{Subject: m.Reply, Data: part, Header: nats.Header{}}
		msg.Header.Set(hdrNode, w.opts.NodeID)
		msg.Header.Set(hdrPart, strconv.Itoa(i+1)+"/"+strconv.Itoa(n))
		if err := nc.PublishMsg(msg); err != nil {
			return err
		}
	}
	return nil
}

// serve answers the requests to this node's site until ctx ends.
func (w *Web) serve(ctx context.Context) error {
	nc := w.opts.Conn
	ch := make(chan *nats.Msg, 64)
	sub, err := nc.ChanSubscribe(apiPrefix+wire.Token(w.opts.Site)+".*", ch)
	if err != nil {
		return fmt.Errorf("web: subscribe to page requests: %w", err)
	}
	w.answeringOnce.Do(func() { close(w.answering) })
	// Answers run concurrently (a device request reads the stream), a
	// few at a time.
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxConcurrentAnswers)
	defer func() { _ = sub.Unsubscribe(); wg.Wait() }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-ch:
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				w.answer(ctx, m)
			}()
		}
	}
}

// maxConcurrentAnswers bounds the requests a node answers at once.
const maxConcurrentAnswers = 8

// answer answers one request; a request it cannot read gets an error
// answer, so the asking node does not wait for it.
func (w *Web) answer(ctx context.Context, m *nats.Msg) {
	op := m.Subject[strings.LastIndexByte(m.Subject, '.')+1:]
	var req request
	var out any
	if err := json.Unmarshal(m.Data, &req); err != nil {
		out = errorAnswer{Error: "bad request: " + err.Error()}
	} else {
		switch op {
		case opStates:
			out = w.localStates(req.Keys)
		case opDevice:
			actx, cancel := context.WithTimeout(ctx, w.opts.PeerTimeout)
			out = w.localDevice(actx, req.Key)
			cancel()
		case opSummary:
			out = w.localSummary()
		default:
			out = errorAnswer{Error: "unknown request " + op}
		}
	}
	data, err := json.Marshal(out)
	if err != nil {
		data, _ = json.Marshal(errorAnswer{Error: err.Error()})
	}
	if err := w.reply(m, data); err != nil {
		w.log.Warn("web: answer a page request", "op", op, "err", err)
	}
}

type errorAnswer struct {
	Error string `json:"error"`
}
