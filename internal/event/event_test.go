package event

import (
	"errors"
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/resource"
)

func TestRoundTripAndValidate(t *testing.T) {
	e := &Event{ID: "bgp_session:dc1:ab:1", Kind: KindBGPSession, Site: "dc1",
		Resource: &resource.Resource{Site: "dc1", Class: "network", Subclass: "router", Type: "juniper", ID: "core1", Endpoint: "10.0.0.1"},
		Object:   "192.0.2.1", OldState: "established", NewState: "idle", Status: StatusProblem, Time: 1764057600.5,
		Labels: map[string]string{"peer_address": "192.0.2.1"}, Flaps: map[string]int{"5m": 1, "1h": 3}}
	data, err := e.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != e.ID || got.Resource.ID != "core1" || got.Flaps["1h"] != 3 || got.Initial() {
		t.Errorf("round trip: %+v", got)
	}
	if s := e.Subject(); s != "panoptes.events.dc1.bgp_session" {
		t.Errorf("subject %s", s)
	}
	for _, c := range []struct {
		json, want string
	}{
		{`{`, "invalid event"},
		{`{"kind":"link","site":"dc1","new_state":"up","status":"ok","time":1,"resource":{}}`, "event_id empty"},
		{`{"event_id":"x","kind":"link","site":"dc1","new_state":"up","status":"maybe","time":1,"resource":{}}`, `status "maybe"`},
		{`{"event_id":"x","kind":"link","site":"dc1","new_state":"up","status":"ok","time":1}`, "resource is missing"},
		{`{"event_id":"x","kind":"link","site":"dc1","new_state":"up","status":"ok","resource":{}}`, "time 0"},
	} {
		_, err := Decode([]byte(c.json))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.json, err, c.want)
		}
	}
}
