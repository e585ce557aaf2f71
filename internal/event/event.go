// Package event is the events bus's data: an Event (one state change of
// one object of one resource: a BGP session, an interface, a device, a
// topology link, a load balancer's pool member or virtual server), its
// JSON, the stream that holds events and how one is published. Apps
// produce events (internal/apps/...); alert sinks consume them. Like
// package metric it is a leaf: it knows no producer and no consumer.
package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/panoptes-go/panoptes/internal/resource"
)

// Kinds of event: the last token of the subject.
const (
	KindBGPSession      = "bgp_session"
	KindInterface       = "interface"
	KindDevice          = "device"
	KindLink            = "link"
	KindLBPoolMember    = "lb_pool_member"
	KindLBVirtualServer = "lb_virtual_server"
)

// Status says what an event means for alerting.
const (
	// StatusProblem: the object entered a state that needs attention (an
	// alert fires).
	StatusProblem = "problem"
	// StatusOK: the object is in a good state (an alert resolves).
	StatusOK = "ok"
)

// Event is one state change. Its JSON is the bus message.
type Event struct {
	// ID is unique per change and the same however often the change is
	// published (the bus deduplicates on it): kind, site, object key and
	// the change's number.
	ID   string `json:"event_id"`
	Kind string `json:"kind"`
	Site string `json:"site"`
	// Resource is the device the object belongs to (for a link: its first
	// end, by resource key).
	Resource *resource.Resource `json:"resource"`
	// Object names the object within the resource: a BGP peer address, an
	// interface name, a link "A:port -- B:port", a pool member; "" for the
	// device itself.
	Object string `json:"object"`
	// OldState is "" when the object was first seen in NewState.
	OldState string `json:"old_state"`
	NewState string `json:"new_state"`
	Status   string `json:"status"`
	// Time is when the change was observed (epoch seconds): the metrics
	// group's creation time, or when the topology app saw a link change.
	Time float64 `json:"time"`
	// Labels describe the object (peer_address, remote_as, interface_name,
	// plugin, ...): alert labels.
	Labels map[string]string `json:"labels,omitempty"`
	// Flaps counts the object's changes out of its good state in recent
	// windows ("5m", "1h"); BGP sessions have them.
	Flaps map[string]int `json:"flaps,omitempty"`
}

// Validate reports what makes e unusable: a missing field or status.
func (e *Event) Validate() error {
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"event_id", e.ID}, {"kind", e.Kind}, {"site", e.Site}, {"new_state", e.NewState},
	} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s empty", ErrInvalid, strings.Join(missing, ", "))
	}
	if e.Status != StatusProblem && e.Status != StatusOK {
		return fmt.Errorf("%w: status %q is neither %s nor %s", ErrInvalid, e.Status, StatusProblem, StatusOK)
	}
	if e.Resource == nil {
		return fmt.Errorf("%w: resource is missing", ErrInvalid)
	}
	if e.Time <= 0 {
		return fmt.Errorf("%w: time %v is not positive", ErrInvalid, e.Time)
	}
	return nil
}

// ErrInvalid is wrapped by Validate's and Decode's errors.
var ErrInvalid = errors.New("invalid event")

// Decode parses and validates one event.
func Decode(data []byte) (*Event, error) {
	var e Event
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return &e, nil
}

// Encode is e's JSON.
func (e *Event) Encode() ([]byte, error) { return json.Marshal(e) }

// Initial reports whether the event is an object's first observation
// rather than a change.
func (e *Event) Initial() bool { return e.OldState == "" }
