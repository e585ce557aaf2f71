package influxdb

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
)

func testResource() *resource.Resource {
	return &resource.Resource{Site: "dc 1", Class: "network", Subclass: "switch", Type: "cisco",
		ID: "sw1.example.com", Endpoint: "10.0.0.1", Metadata: map[string]string{"secret_looking": "x"}}
}

func testGroup() *metric.Group {
	return &metric.Group{
		Resource: testResource(), Type: "interface", Interval: 60, CreationTimestamp: 1535497112.0756,
		SchemaVersion: metric.SchemaVersion,
		Dimensions: []metric.Dimension{
			{Name: "interface_name", Value: "Ethernet1/1, uplink=core"},
			{Name: "alias", Value: "line one\nline \"two\""},
			{Name: "description", Value: ""}, // no empty tag values in line protocol
			{Name: "resource_site", Value: "overridden by the resource"},
		},
		Metrics: []metric.Metric{
			{Name: "bits_in", Value: metric.Uint(29771896789864), Type: metric.Counter},
			{Name: "errors_in", Value: metric.Int(-3), Type: metric.Counter},
			{Name: "oper_state", Value: metric.Uint(1), Type: metric.Gauge},
			{Name: "utilization", Value: metric.Float(0.25), Type: metric.Gauge},
		},
	}
}

type dropCount map[string]int

func (d dropCount) add(r string) { d[r]++ }

func encodeOne(t *testing.T, e *encoder, g *metric.Group) string {
	t.Helper()
	e.reset()
	ok, err := e.encode(g, time.Time{})
	if err != nil || !ok {
		t.Fatalf("encode = %v, %v", ok, err)
	}
	return string(e.bytes())
}

func TestEncodeLine(t *testing.T) {
	drops := dropCount{}
	e := newEncoder(false, false, drops.add)
	got := encodeOne(t, e, testGroup())
	want := `interface,alias=line\ one\ line\ "two",interface_name=Ethernet1/1\,\ uplink\=core,` +
		`resource_class=network,resource_endpoint=10.0.0.1,resource_site=dc\ 1,resource_subclass=switch,resource_type=cisco ` +
		`bits_in=29771896789864i,errors_in=-3i,oper_state=1,utilization=0.25 1535497112076` + "\n"
	if got != want {
		t.Errorf("line\n got %s\nwant %s", got, want)
	}
	if len(drops) != 0 {
		t.Errorf("drops %v", drops)
	}

	// What InfluxDB's own parser reads back is what we meant.
	dec := lineprotocol.NewDecoderWithBytes([]byte(got))
	if !dec.Next() {
		t.Fatal("no line")
	}
	if m, _ := dec.Measurement(); string(m) != "interface" {
		t.Errorf("measurement %q", m)
	}
	tags := map[string]string{}
	for {
		k, v, err := dec.NextTag()
		if err != nil {
			t.Fatal(err)
		}
		if k == nil {
			break
		}
		tags[string(k)] = string(v)
	}
	for k, v := range map[string]string{
		"interface_name": "Ethernet1/1, uplink=core", "alias": `line one line "two"`, "resource_site": "dc 1",
	} {
		if tags[k] != v {
			t.Errorf("tag %s = %q, want %q", k, tags[k], v)
		}
	}
	if _, ok := tags["resource_id"]; ok {
		t.Error("resource_id written without include_resource_id")
	}
	if _, ok := tags["description"]; ok {
		t.Error("empty dimension written as a tag")
	}
	fields := map[string]lineprotocol.Value{}
	for {
		k, v, err := dec.NextField()
		if err != nil {
			t.Fatal(err)
		}
		if k == nil {
			break
		}
		fields[string(k)] = v
	}
	if v := fields["bits_in"]; v.Kind() != lineprotocol.Int || v.IntV() != 29771896789864 {
		t.Errorf("bits_in = %v, want the exact integer", v)
	}
	if v := fields["oper_state"]; v.Kind() != lineprotocol.Float {
		t.Errorf("gauge oper_state is %v, want a float (gauges are floats)", v.Kind())
	}
	if ts, err := dec.Time(lineprotocol.Millisecond, time.Time{}); err != nil || ts.UnixMilli() != 1535497112076 {
		t.Errorf("time = %v, %v", ts, err)
	}
}

func TestEncodeCompat(t *testing.T) {
	e := newEncoder(true, false, dropCount{}.add)
	g := testGroup()
	g.Type = "if-stats v2"
	g.Metrics[0].Value = metric.Uint(1<<60 + 1) // Panoptes wrote floats: precision goes
	got := encodeOne(t, e, g)
	if !strings.HasPrefix(got, "if_stats_v2,") {
		t.Errorf("measurement not sanitized as Panoptes did: %s", got)
	}
	for _, f := range []string{" bits_in__counter=1.152921504606847e+18,", ",errors_in__counter=-3,", ",oper_state__gauge=1,", ",utilization__gauge=0.25 "} {
		if !strings.Contains(got, f) {
			t.Errorf("line lacks %q: %s", f, got)
		}
	}
	if !strings.HasSuffix(got, " 1535497112000\n") {
		t.Errorf("compat time is not whole seconds in ms: %s", got)
	}
}

func TestEncodeResourceID(t *testing.T) {
	e := newEncoder(false, true, dropCount{}.add)
	if got := encodeOne(t, e, testGroup()); !strings.Contains(got, ",resource_id=sw1.example.com,resource_site=") {
		t.Errorf("resource_id missing or out of order: %s", got)
	}
}

func TestEncodeValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    metric.Metric
		want string // field text, "" = dropped
		drop string
	}{
		{"max int64 counter", metric.Metric{Name: "c", Value: metric.Uint(math.MaxInt64), Type: metric.Counter}, "c=9223372036854775807i", ""},
		{"uint64 over int64", metric.Metric{Name: "c", Value: metric.Uint(math.MaxInt64 + 1), Type: metric.Counter}, "", dropOverflow},
		{"integral float counter", metric.Metric{Name: "c", Value: metric.Float(5), Type: metric.Counter}, "c=5i", ""},
		{"fractional counter", metric.Metric{Name: "c", Value: metric.Float(1.5), Type: metric.Counter}, "c=1.5", ""},
		{"NaN gauge", metric.Metric{Name: "g", Value: metric.Float(math.NaN()), Type: metric.Gauge}, "", dropNotFinite},
		{"Inf counter", metric.Metric{Name: "c", Value: metric.Float(math.Inf(1)), Type: metric.Counter}, "", dropNotFinite},
		{"big gauge", metric.Metric{Name: "g", Value: metric.Uint(1 << 40), Type: metric.Gauge}, "g=1.099511627776e+12", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			drops := dropCount{}
			e := newEncoder(false, false, drops.add)
			g := testGroup()
			g.Metrics = []metric.Metric{tc.m, {Name: "other", Value: metric.Uint(7), Type: metric.Counter}}
			got := encodeOne(t, e, g)
			if tc.want != "" && !strings.Contains(got, " "+tc.want+",other=7i ") {
				t.Errorf("line %s lacks %s", got, tc.want)
			}
			if tc.want == "" && !strings.Contains(got, " other=7i ") {
				t.Errorf("line %s: the bad field should be dropped, the others kept", got)
			}
			if tc.drop != "" && drops[tc.drop] != 1 {
				t.Errorf("drops %v, want one %s", drops, tc.drop)
			}
		})
	}

	// A group left with nothing storable writes no line.
	drops := dropCount{}
	e := newEncoder(false, false, drops.add)
	g := testGroup()
	g.Metrics = []metric.Metric{{Name: "c", Value: metric.Uint(math.MaxUint64), Type: metric.Counter}}
	if ok, err := e.encode(g, time.Time{}); ok || err != nil || len(e.bytes()) != 0 {
		t.Errorf("encode of an unstorable group = %v, %v, %q", ok, err, e.bytes())
	}
}

func TestEncodeCleansText(t *testing.T) {
	e := newEncoder(false, false, dropCount{}.add)
	g := testGroup()
	g.Type = "inter\nface"
	g.Dimensions = []metric.Dimension{
		{Name: "path", Value: `C:\`},
		{Name: "bad\tkey", Value: "in\xffvalid"},
		{Name: "blank", Value: " \n "},
	}
	g.Metrics = []metric.Metric{{Name: "m=1, x", Value: metric.Uint(1), Type: metric.Counter}}
	got := encodeOne(t, e, g)
	want := `inter_face,bad_key=in�valid,path=C:_,resource_class=network,resource_endpoint=10.0.0.1,resource_site=dc\ 1,` +
		`resource_subclass=switch,resource_type=cisco m\=1\,\ x=1i 1535497112076` + "\n"
	if got != want {
		t.Errorf("line\n got %s\nwant %s", got, want)
	}
}

func TestEncodeTimestampFallback(t *testing.T) {
	e := newEncoder(false, false, dropCount{}.add)
	g := testGroup()
	g.CreationTimestamp = 0
	g.Metrics[1].Timestamp = 1700000000.5
	if got := encodeOne(t, e, g); !strings.HasSuffix(got, " 1700000000500\n") {
		t.Errorf("without a group timestamp, the newest metric's: %s", got)
	}
	for i := range g.Metrics {
		g.Metrics[i].Timestamp = 0
	}
	e.reset()
	if _, err := e.encode(g, time.UnixMilli(1700000001234)); err != nil {
		t.Fatal(err)
	}
	if got := string(e.bytes()); !strings.HasSuffix(got, " 1700000001234\n") {
		t.Errorf("without any timestamp, the publish time: %s", got)
	}
}

func TestPanoptesMeasurement(t *testing.T) {
	for in, want := range map[string]string{"interface": "interface", "bgp-session": "bgp_session", "a..b  c": "a_b_c", "é_x": "__x"} {
		if got := panoptesMeasurement(in); got != want {
			t.Errorf("panoptesMeasurement(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkLineProtocolEncode encodes what one interface check of a
// 48-port switch produces.
func BenchmarkLineProtocolEncode(b *testing.B) {
	r := testResource()
	var groups []*metric.Group
	for i := 0; i < 48; i++ {
		g := &metric.Group{Resource: r, Type: "interface", Interval: 60, CreationTimestamp: 1535497112.075, SchemaVersion: metric.SchemaVersion,
			Dimensions: []metric.Dimension{
				{Name: "interface_name", Value: fmt.Sprintf("Ethernet1/%d", i+1)},
				{Name: "alias", Value: "uplink to core"}, {Name: "media_type", Value: "ethernetCsmacd"},
				{Name: "port_speed", Value: "10000"},
			}}
		for _, n := range []string{"bits_in", "bits_out", "total_packets_in", "total_packets_out", "unicast_packets_in", "unicast_packets_out",
			"multicast_packets_in", "multicast_packets_out", "broadcast_packets_in", "broadcast_packets_out", "errors_in", "errors_out", "discards_in", "discards_out"} {
			g.Metrics = append(g.Metrics, metric.Metric{Name: n, Value: metric.Uint(29771896789864 + uint64(i)), Type: metric.Counter})
		}
		for _, n := range []string{"admin_state", "oper_state", "mtu", "configured_speed"} {
			g.Metrics = append(g.Metrics, metric.Metric{Name: n, Value: metric.Uint(1), Type: metric.Gauge})
		}
		groups = append(groups, g)
	}
	e := newEncoder(false, false, func(string) {})
	b.ReportAllocs()
	for b.Loop() {
		e.reset()
		for _, g := range groups {
			if _, err := e.encode(g, time.Time{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.SetBytes(int64(len(e.bytes())))
}
