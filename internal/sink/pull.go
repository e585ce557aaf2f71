package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// puller fetches batches from one durable pull consumer, like
// jetstream.Consumer.Fetch, but through one subscription that outlives its
// requests. A replicated consumer (R3) sends a message only once its
// delivery is replicated, yet it sends the "409 Batch Completed" and
// "409 Message Size Exceeds MaxBytes" that end a request with a byte limit
// at once (nats-server 2.15): they overtake the request's last messages.
// Fetch stops listening on the first status, so those messages went to no
// one; the server holds them as delivered until their ack wait expires and
// then sends them after newer ones (a backlog of a full batch or more lost
// every batch so, again and again: groups late by minutes, out of order,
// or never written while the test watched). Here a message that arrives
// after its request ended is kept, in order, for the next batch.
type puller struct {
	nc      *nats.Conn
	sub     *nats.Subscription
	inbox   string // request k is answered on inbox.k
	subject string // the consumer's next-messages API subject
	sent    uint64 // requests sent
}

// pullGrace is how much longer than a request's expiry the puller waits
// for the status that ends it; a request whose consumer leader died gets
// none.
const pullGrace = time.Second

// newPuller subscribes the inbox of the durable consumer of stream.
func newPuller(js jetstream.JetStream, stream, durable string) (*puller, error) {
	nc := js.Conn()
	inbox := nc.NewInbox()
	sub, err := nc.SubscribeSync(inbox + ".*")
	if err != nil {
		return nil, err
	}
	return &puller{nc: nc, sub: sub, inbox: inbox, subject: apiPrefix(js) + "CONSUMER.MSG.NEXT." + stream + "." + durable}, nil
}

// apiPrefix is the JetStream API prefix js sends its requests with.
func apiPrefix(js jetstream.JetStream) string {
	o := js.Options()
	switch {
	case o.Domain != "":
		return "$JS." + o.Domain + ".API."
	case o.APIPrefix != "":
		return strings.TrimSuffix(o.APIPrefix, ".") + "."
	}
	return jetstream.DefaultAPIPrefix
}

// close ends the subscription: messages still on their way are lost, and
// come again as the consumer's unacknowledged ones.
func (p *puller) close() { _ = p.sub.Unsubscribe() }

// errNoResponders is a request's 503: the consumer has no leader now.
var errNoResponders = nats.ErrNoResponders

// fetch asks for up to batch messages and maxBytes bytes, waiting up to
// maxWait for them, and appends what comes to out: first any message of an
// earlier request that came after its end, then this request's, until the
// request ends (a status, or maxWait and pullGrace with none), batch
// messages or maxBytes bytes are in hand, or ctx ends. Its error is a
// status that says the consumer cannot deliver now (no leader, leader
// changed, consumer deleted) or ctx's; out may hold messages then too.
func (p *puller) fetch(ctx context.Context, batch int, maxWait time.Duration, maxBytes int, out []jetstream.Msg) ([]jetstream.Msg, error) {
	p.sent++
	reply := p.inbox + "." + strconv.FormatUint(p.sent, 10)
	req, _ := json.Marshal(struct {
		Batch    int   `json:"batch"`
		Expires  int64 `json:"expires"`
		MaxBytes int   `json:"max_bytes,omitempty"`
	}{batch, maxWait.Nanoseconds(), maxBytes})
	if err := p.nc.PublishRequest(p.subject, reply, req); err != nil {
		return out, err
	}
	wctx, cancel := context.WithTimeout(ctx, maxWait+pullGrace)
	defer cancel()
	n, size := 0, 0
	for n < batch && (maxBytes <= 0 || size < maxBytes) {
		m, err := p.sub.NextMsgWithContext(wctx)
		if err != nil {
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
			if errors.Is(err, context.DeadlineExceeded) {
				return out, nil // no end came: the request's leader is gone
			}
			return out, err
		}
		if status := m.Header.Get("Status"); status != "" && len(m.Data) == 0 {
			if m.Subject != reply {
				continue // an earlier request's end, after its last message
			}
			switch status {
			case "100":
				continue // heartbeat
			case "404", "408":
				return out, nil // nothing more now, or expired
			case "409":
				d := strings.ToLower(m.Header.Get("Description"))
				if strings.Contains(d, "batch completed") || strings.Contains(d, "exceeds maxbytes") {
					// Its last messages may still be on their way: the
					// next fetch takes them.
					return out, nil
				}
				return out, fmt.Errorf("pull request ended: %s %s", status, m.Header.Get("Description"))
			case "503":
				return out, errNoResponders
			}
			return out, fmt.Errorf("pull request ended: %s %s", status, m.Header.Get("Description"))
		}
		out = append(out, pulledMsg{m})
		n++
		size += m.Size()
	}
	return out, nil
}

// pulledMsg is a message delivered to a puller, with JetStream's acks.
type pulledMsg struct{ m *nats.Msg }

var _ jetstream.Msg = pulledMsg{}

func (p pulledMsg) Metadata() (*jetstream.MsgMetadata, error) {
	md, err := p.m.Metadata()
	if err != nil {
		return nil, err
	}
	return &jetstream.MsgMetadata{
		Sequence:     jetstream.SequencePair{Consumer: md.Sequence.Consumer, Stream: md.Sequence.Stream},
		NumDelivered: md.NumDelivered,
		NumPending:   md.NumPending,
		Timestamp:    md.Timestamp,
		Stream:       md.Stream,
		Consumer:     md.Consumer,
		Domain:       md.Domain,
	}, nil
}

func (p pulledMsg) Data() []byte                           { return p.m.Data }
func (p pulledMsg) Headers() nats.Header                   { return p.m.Header }
func (p pulledMsg) Subject() string                        { return p.m.Subject }
func (p pulledMsg) Reply() string                          { return p.m.Reply }
func (p pulledMsg) Ack() error                             { return p.m.Ack() }
func (p pulledMsg) DoubleAck(ctx context.Context) error    { return p.m.AckSync(nats.Context(ctx)) }
func (p pulledMsg) Nak() error                             { return p.m.Nak() }
func (p pulledMsg) NakWithDelay(delay time.Duration) error { return p.m.NakWithDelay(delay) }
func (p pulledMsg) InProgress() error                      { return p.m.InProgress() }
func (p pulledMsg) Term() error                            { return p.m.Term() }

func (p pulledMsg) TermWithReason(reason string) error {
	return p.m.Respond([]byte("+TERM " + reason))
}
