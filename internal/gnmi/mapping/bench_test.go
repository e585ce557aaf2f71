package mapping_test

import (
	"fmt"
	"testing"
	"time"

	pb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/panoptes-go/panoptes/internal/gnmi/mapping"
)

// sampleTick is one SAMPLE tick of a 55-port switch as a target sends it:
// one notification per leaf (the reference target's cache holds leaves),
// 24 leaves per interface.
func sampleTick(ts int64) []*pb.Notification {
	leaves := []string{"in-octets", "in-pkts", "in-unicast-pkts", "in-multicast-pkts", "in-broadcast-pkts", "in-discards", "in-errors",
		"out-octets", "out-pkts", "out-unicast-pkts", "out-multicast-pkts", "out-broadcast-pkts", "out-discards", "out-errors",
		"in-fcs-errors", "last-clear"}
	var out []*pb.Notification
	for i := 0; i < 55; i++ {
		prefix := &pb.Path{Target: "sw1", Elem: []*pb.PathElem{{Name: "interfaces"}, {Name: "interface", Key: map[string]string{"name": fmt.Sprintf("Gi1/0/%d", i)}}}}
		add := func(path []string, v *pb.TypedValue) {
			p := &pb.Path{}
			for _, e := range path {
				p.Elem = append(p.Elem, &pb.PathElem{Name: e})
			}
			out = append(out, &pb.Notification{Timestamp: ts, Prefix: prefix, Update: []*pb.Update{{Path: p, Val: v}}})
		}
		for j, l := range leaves {
			add([]string{"state", "counters", l}, &pb.TypedValue{Value: &pb.TypedValue_UintVal{UintVal: uint64(ts/1000) * uint64(j+1)}})
		}
		add([]string{"state", "name"}, &pb.TypedValue{Value: &pb.TypedValue_StringVal{StringVal: fmt.Sprintf("Gi1/0/%d", i)}})
		add([]string{"state", "description"}, &pb.TypedValue{Value: &pb.TypedValue_StringVal{StringVal: "access port"}})
		add([]string{"state", "type"}, &pb.TypedValue{Value: &pb.TypedValue_StringVal{StringVal: "iana-if-type:ethernetCsmacd"}})
		add([]string{"state", "mtu"}, &pb.TypedValue{Value: &pb.TypedValue_UintVal{UintVal: 1500}})
		add([]string{"state", "admin-status"}, &pb.TypedValue{Value: &pb.TypedValue_StringVal{StringVal: "UP"}})
		add([]string{"state", "oper-status"}, &pb.TypedValue{Value: &pb.TypedValue_StringVal{StringVal: "UP"}})
		add([]string{"ethernet", "state", "port-speed"}, &pb.TypedValue{Value: &pb.TypedValue_StringVal{StringVal: "openconfig-if-ethernet:SPEED_1GB"}})
		add([]string{"ethernet", "state", "duplex-mode"}, &pb.TypedValue{Value: &pb.TypedValue_StringVal{StringVal: "FULL"}})
	}
	return out
}

// BenchmarkNotificationsToGroups is the gNMI hot path: one SAMPLE tick of
// a 55-port switch (1,320 one-leaf notifications) into its State, then the
// 55 interface groups built. Reported per leaf update and per group.
func BenchmarkNotificationsToGroups(b *testing.B) {
	set := shipped(b).Select(func(g *mapping.Group) bool { return g.Type == "interface" })
	st := set.NewState(mapping.Options{Name: "sw1"})
	ticks := [2][]*pb.Notification{sampleTick(1e18), sampleTick(1e18 + 10e9)}
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	groups := 0
	for i := 0; i < b.N; i++ {
		for _, n := range ticks[i%2] {
			st.Notification(n)
		}
		groups += len(st.Build(testResource, 10*time.Second, now, false))
	}
	leaves := float64(b.N * len(ticks[0]))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/leaves, "ns/leaf")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(groups), "ns/group")
}

// batched is tick with each interface's leaves in one notification, as
// devices (and the simulator by default) send them.
func batched(tick []*pb.Notification) []*pb.Notification {
	var out []*pb.Notification
	for _, n := range tick {
		if k := len(out) - 1; k >= 0 && out[k].Prefix == n.Prefix {
			out[k].Update = append(out[k].Update, n.Update...)
			continue
		}
		out = append(out, &pb.Notification{Timestamp: n.Timestamp, Prefix: n.Prefix, Update: append([]*pb.Update(nil), n.Update...)})
	}
	return out
}

// BenchmarkNotificationsToGroupsBatched is BenchmarkNotificationsToGroups
// with an interface's leaves in one notification (55 a tick).
func BenchmarkNotificationsToGroupsBatched(b *testing.B) {
	set := shipped(b).Select(func(g *mapping.Group) bool { return g.Type == "interface" })
	st := set.NewState(mapping.Options{Name: "sw1"})
	ticks := [2][]*pb.Notification{batched(sampleTick(1e18)), batched(sampleTick(1e18 + 10e9))}
	leaves := 0
	for _, n := range ticks[0] {
		leaves += len(n.Update)
	}
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	groups := 0
	for i := 0; i < b.N; i++ {
		for _, n := range ticks[i%2] {
			st.Notification(n)
		}
		groups += len(st.Build(testResource, 10*time.Second, now, false))
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*leaves), "ns/leaf")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(groups), "ns/group")
}

// BenchmarkIngest is the State's share alone: one tick of leaf updates.
func BenchmarkIngest(b *testing.B) {
	set := shipped(b).Select(func(g *mapping.Group) bool { return g.Type == "interface" })
	st := set.NewState(mapping.Options{Name: "sw1"})
	tick := sampleTick(1e18)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, n := range tick {
			st.Notification(n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(tick)), "ns/leaf")
}
