package gnmi

import (
	"context"
	"sync"
	"time"

	pb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/protobuf/proto"
)

// EventKind says what an Event carries.
type EventKind uint8

const (
	// Notification: an update (and/or deletes) from the target.
	Notification EventKind = iota
	// Connected: a new stream is up; the target sends its full state again
	// before the next Sync.
	Connected
	// Sync: the target's sync_response: everything it holds has been sent.
	Sync
	// Down: the stream failed or could not be opened (Status, Err say why);
	// the Subscriber retries.
	Down
	// Tick: Subscriber.Tick passed (from the consumer's goroutine, between
	// the other events): time to build and publish.
	Tick
)

// Event is what a Subscriber delivers.
type Event struct {
	Kind         EventKind
	Notification *pb.Notification
	Status       int   // Down: the polling status
	Err          error // Down: why
	size         int
}

// queue is a bounded FIFO between the gRPC receiver and the consumer: when
// full (count or bytes), the oldest notification is dropped (and counted),
// never the receiver blocked, so a target flooding faster than the
// consumer drains costs bounded memory. Connected and Sync markers are
// never dropped (they are few and the consumer's resync depends on them).
type queue struct {
	mu       sync.Mutex
	items    []Event
	head     int
	bytes    int
	maxLen   int
	maxBytes int
	signal   chan struct{}
	dropped  func(n int)
}

func newQueue(maxLen, maxBytes int, dropped func(int)) *queue {
	return &queue{maxLen: maxLen, maxBytes: maxBytes, signal: make(chan struct{}, 1), dropped: dropped}
}

func (q *queue) push(e Event) {
	if e.Kind == Notification {
		e.size = approxSize(e.Notification)
	}
	q.mu.Lock()
	drops := 0
	for q.len() > 0 && (q.len() >= q.maxLen || q.bytes+e.size > q.maxBytes) && q.dropOldest() {
		drops++
	}
	q.items = append(q.items, e)
	q.bytes += e.size
	q.mu.Unlock()
	if drops > 0 && q.dropped != nil {
		q.dropped(drops)
	}
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

func (q *queue) len() int { return len(q.items) - q.head }

// dropOldest removes the oldest notification; false when only markers
// are left.
func (q *queue) dropOldest() bool {
	for i := q.head; i < len(q.items); i++ {
		if q.items[i].Kind != Notification {
			continue
		}
		q.bytes -= q.items[i].size
		if i == q.head {
			q.items[i] = Event{}
			q.head++
		} else {
			copy(q.items[i:], q.items[i+1:])
			q.items[len(q.items)-1] = Event{}
			q.items = q.items[:len(q.items)-1]
		}
		return true
	}
	return false
}

// pop waits for the next event until ctx ends; a tick (nil: never) is an
// event of its own.
func (q *queue) pop(ctx context.Context, tick <-chan time.Time) (Event, bool) {
	for {
		q.mu.Lock()
		if q.len() > 0 {
			e := q.items[q.head]
			q.items[q.head] = Event{}
			q.head++
			q.bytes -= e.size
			if q.head == len(q.items) {
				q.items, q.head = q.items[:0], 0
			} else if q.head > 1024 && q.head > len(q.items)/2 {
				n := copy(q.items, q.items[q.head:])
				clear(q.items[n:])
				q.items, q.head = q.items[:n], 0
			}
			q.mu.Unlock()
			return e, true
		}
		q.mu.Unlock()
		select {
		case <-q.signal:
		case <-tick:
			return Event{Kind: Tick}, true
		case <-ctx.Done():
			return Event{}, false
		}
	}
}

// Len is the number of queued events.
func (q *queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.len()
}

// approxSize is about a notification's size in memory, for the queue's
// byte bound: its strings and byte values and a fixed cost per message.
// proto.Size walks the message by reflection, about 4 % of the
// collector's CPU when every notification is one leaf.
func approxSize(n *pb.Notification) int {
	size := 48 + pathSize(n.GetPrefix())
	for _, u := range n.GetUpdate() {
		size += 48 + pathSize(u.GetPath()) + valueSize(u.GetVal())
	}
	for _, d := range n.GetDelete() {
		size += pathSize(d)
	}
	return size
}

func pathSize(p *pb.Path) int {
	if p == nil {
		return 0
	}
	size := 48 + len(p.GetOrigin()) + len(p.GetTarget())
	for _, e := range p.GetElem() {
		size += 32 + len(e.GetName())
		for k, v := range e.GetKey() {
			size += 32 + len(k) + len(v)
		}
	}
	return size
}

func valueSize(v *pb.TypedValue) int {
	switch x := v.GetValue().(type) {
	case *pb.TypedValue_StringVal:
		return 24 + len(x.StringVal)
	case *pb.TypedValue_BytesVal:
		return 24 + len(x.BytesVal)
	case *pb.TypedValue_JsonVal:
		return 24 + len(x.JsonVal)
	case *pb.TypedValue_JsonIetfVal:
		return 24 + len(x.JsonIetfVal)
	case *pb.TypedValue_AsciiVal:
		return 24 + len(x.AsciiVal)
	case *pb.TypedValue_ProtoBytes:
		return 24 + len(x.ProtoBytes)
	case *pb.TypedValue_LeaflistVal, *pb.TypedValue_AnyVal:
		return 24 + proto.Size(v) // rare: walked
	}
	return 24
}
