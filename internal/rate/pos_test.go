package rate

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/metric"
)

// oracle computes the rates a poll should get the way the processor did
// before state by position: every series by its hash in a map.
type oracle struct {
	maxGap int
	prev   map[uint64]sample
}

func (o *oracle) apply(set *metric.GroupSet) map[string]float64 {
	if o.prev == nil {
		o.prev = map[uint64]sample{}
	}
	want := map[string]float64{}
	for _, g := range set.Groups {
		var speed float64
		if m, ok := g.Metric("configured_speed"); ok {
			speed = m.Value.Float64()
		}
		maxGap := 0.0
		if o.maxGap > 0 && g.Interval > 0 {
			maxGap = float64(o.maxGap*g.Interval) + 0.5
		}
		h := groupHash(g)
		for i := range g.Metrics {
			m := &g.Metrics[i]
			if m.Type != metric.Counter || !m.Value.IsInteger() || m.Value.IsNegative() {
				continue
			}
			k := seriesHash(h, m.Name)
			cur := sampleOf(m)
			if cur.flags&flagDisc == 0 {
				cur.disc = 0
			}
			prev, seen := o.prev[k]
			if !seen {
				o.prev[k] = cur
				continue
			}
			r, out := compute(prev, cur, m.Hint.Bits, maxGap, maxRateFor(m.Name, speed))
			if out == outStale {
				continue
			}
			o.prev[k] = cur
			if out == outRate || out == outWrap {
				want[seriesName(g, m.Name)] = r
			}
		}
	}
	return want
}

func seriesName(g *metric.Group, name string) string {
	return g.Dimensions[0].Value + "/" + name
}

// ratesOf collects the rate gauges Apply appended.
func ratesOf(set *metric.GroupSet) map[string]float64 {
	got := map[string]float64{}
	for _, g := range set.Groups {
		for _, m := range g.Metrics {
			if m.Type == metric.Gauge && len(m.Name) > len(Suffix) && m.Name[len(m.Name)-len(Suffix):] == Suffix {
				got[seriesName(g, m.Name[:len(m.Name)-len(Suffix)])] = m.Value.Float64()
			}
		}
	}
	return got
}

// device is a simulated resource whose layout a test changes between
// polls: ports (in poll order) with counters (in order), each counter
// growing at its own pace.
type device struct {
	rng      *rand.Rand
	ports    []string
	counters map[string][]string // per port
	value    map[string]uint64   // per port/counter
	bits     map[string]uint8
	uptime   uint32
	disc     map[string]uint32
	at       float64
}

func newDevice(seed uint64, ports, counters int) *device {
	d := &device{rng: rand.New(rand.NewPCG(seed, 7)), counters: map[string][]string{}, value: map[string]uint64{},
		bits: map[string]uint8{}, disc: map[string]uint32{}, at: 1000, uptime: 100000}
	for p := range ports {
		d.addPort(fmt.Sprintf("Gi0/%d", p), counters)
	}
	return d
}

func (d *device) addPort(name string, counters int) {
	d.ports = append(d.ports, name)
	var cs []string
	for c := range counters {
		cs = append(cs, fmt.Sprintf("counter_%d", c))
	}
	d.counters[name] = cs
}

// poll advances the counters by dt seconds and returns the groups; skip
// leaves out counters (port/counter) for this poll only.
func (d *device) poll(dt float64, skip ...string) *metric.GroupSet {
	d.at += dt
	d.uptime += uint32(dt * 100)
	set := &metric.GroupSet{}
	for col, port := range d.ports {
		g := &metric.Group{Resource: testRes, Type: "interface", Interval: 60,
			Dimensions: []metric.Dimension{{Name: "interface_name", Value: port}}}
		for c, name := range d.counters[port] {
			k := port + "/" + name
			if d.bits[k] == 0 {
				d.bits[k] = 64
				if c%3 == 2 {
					d.bits[k] = 32
				}
			}
			step := uint64(dt) * uint64(1+c*7+col)
			d.value[k] += step
			if d.bits[k] == 32 {
				d.value[k] &= 1<<32 - 1
			}
			if slices.Contains(skip, k) {
				continue
			}
			g.Metrics = append(g.Metrics, metric.Metric{Name: name, Value: metric.Uint(d.value[k]), Type: metric.Counter,
				Timestamp: d.at + float64(c)/100, // a column's time
				Hint: metric.Hint{Bits: d.bits[k], HaveUptime: true, Uptime: d.uptime,
					HaveDiscontinuity: true, Discontinuity: d.disc[port]}})
		}
		set.Groups = append(set.Groups, g)
	}
	return set
}

// check applies set to p and o and compares the rates.
func check(t *testing.T, step string, p *Processor, o *oracle, set *metric.GroupSet) {
	t.Helper()
	want := o.apply(set)
	p.Apply(context.Background(), set, All(), time.Unix(int64(set.Groups[0].Metrics[0].Timestamp), 0))
	got := ratesOf(set)
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("%s: %s rate %v, %v; want %v", step, k, g, ok, w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: %s has rate %v, want none", step, k, g)
		}
	}
}

// slotOrder is the ports of the resource's slots, in order.
func slotOrder(p *Processor, set *metric.GroupSet) []string {
	st := p.res[testRes.Key()]
	byHash := map[uint64]string{}
	for _, g := range set.Groups {
		byHash[groupHash(g)] = g.Dimensions[0].Value
	}
	var order []string
	for _, s := range st.pos.slots {
		order = append(order, byHash[s.hash])
	}
	return order
}

// Layout changes: every poll's rates are those of state by series hash,
// and a poll that completes the layout again walks it by position.
func TestLayoutChanges(t *testing.T) {
	p := New(Options{})
	o := &oracle{maxGap: 3}
	d := newDevice(1, 4, 5)
	check(t, "first poll", p, o, d.poll(60))
	check(t, "second poll", p, o, d.poll(60))
	if got := ratesOf(d.poll(0)); len(got) != 0 {
		t.Fatalf("a set not applied has rates: %v", got)
	}

	d.addPort("Gi0/9", 5) // port added (at the end)
	check(t, "port added", p, o, d.poll(60))
	d.ports = slices.Insert(d.ports, 1, "Gi0/7") // and one in the middle
	d.counters["Gi0/7"] = slices.Clone(d.counters["Gi0/0"])
	check(t, "port inserted", p, o, d.poll(60))
	set := d.poll(60)
	check(t, "after the insert", p, o, set)
	if got, want := slotOrder(p, set), d.ports; !slices.Equal(got, want) {
		t.Errorf("slots %v after an insert, want the poll's order %v", got, want)
	}

	removed := d.ports[2]
	d.ports = slices.Delete(d.ports, 2, 3) // port removed for two polls
	check(t, "port removed", p, o, d.poll(60))
	check(t, "port still removed", p, o, d.poll(60))
	d.ports = slices.Insert(d.ports, 2, removed) // back within max_gap: a rate at once
	set = d.poll(60)
	check(t, "port back", p, o, set)
	if _, ok := ratesOf(set)[removed+"/counter_0"]; !ok {
		t.Errorf("a port back after two polls has no rate")
	}

	slices.Reverse(d.ports) // reordered
	check(t, "reordered", p, o, d.poll(60))
	set = d.poll(60)
	check(t, "reordered again", p, o, set)
	if got, want := slotOrder(p, set), d.ports; !slices.Equal(got, want) {
		t.Errorf("slots %v after a reorder, want the poll's order %v", got, want)
	}

	check(t, "a counter missing", p, o, d.poll(60, "Gi0/1/counter_2", "Gi0/3/counter_0"))
	set = d.poll(60)
	check(t, "the counter back", p, o, set)
	if _, ok := ratesOf(set)["Gi0/1/counter_2"]; !ok {
		t.Errorf("a counter missing for one poll has no rate when back")
	}

	d.counters["Gi0/0"] = slices.Insert(d.counters["Gi0/0"], 1, "new_counter") // a counter added
	check(t, "a counter added", p, o, d.poll(60))
	set = d.poll(60)
	check(t, "after the counter added", p, o, set)
	st := p.res[testRes.Key()]
	for k, s := range st.pos.slots {
		g := set.Groups[k]
		var names []string
		for _, m := range g.Metrics {
			if m.Type == metric.Counter {
				names = append(names, m.Name)
			}
		}
		if !slices.Equal(s.shape.names, names) {
			t.Errorf("slot %d: shape %v, want the poll's counters %v", k, s.shape.names, names)
		}
	}
	if n := st.series.stored(); n != 0 {
		t.Errorf("%d series by hash after complete polls, want 0", n)
	}

	d.disc["Gi0/1"]++ // a discontinuity on one port, a restart of the agent
	check(t, "discontinuity", p, o, d.poll(60))
	d.uptime = 50
	check(t, "restart", p, o, d.poll(60))
	check(t, "after the restart", p, o, d.poll(60))
	check(t, "a missed poll", p, o, d.poll(120))
	check(t, "gap", p, o, d.poll(240))
	check(t, "stale", p, o, d.poll(0))
	check(t, "after stale", p, o, d.poll(70))
}

// The same, at random: layout changes, missed counters, stale polls,
// flushes (which evict), restarts of the processor from its encoded state,
// and a stamp table too small for a poll (series then kept by hash).
func TestLayoutRandom(t *testing.T) {
	for _, c := range []struct{ stamps, ports, steps int }{{absent, 6, 400}, {4, 6, 400}, {absent, 150, 60}} {
		// 150 ports of 8 counters: values in more than one chunk
		t.Run(fmt.Sprintf("stamps=%d,ports=%d", c.stamps, c.ports), func(t *testing.T) {
			defer func(m int) { maxStamps = m }(maxStamps)
			maxStamps = c.stamps
			rng := rand.New(rand.NewPCG(uint64(c.stamps), 3))
			// Eviction after 4 minutes (of device time) drops only series a
			// gap of max_gap intervals (3 minutes) already gives no rate.
			p := New(Options{EvictAfter: 4 * time.Minute})
			o := &oracle{maxGap: 3}
			d := newDevice(2, c.ports, 8)
			next := 1000
			for step := range c.steps {
				var skip []string
				switch r := rng.IntN(20); r {
				case 0:
					d.addPort(fmt.Sprintf("Gi1/%d", next), 1+rng.IntN(8))
					next++
				case 1:
					if len(d.ports) > 1 {
						i := rng.IntN(len(d.ports))
						d.ports = slices.Delete(d.ports, i, i+1)
					}
				case 2:
					rng.Shuffle(len(d.ports), func(i, j int) { d.ports[i], d.ports[j] = d.ports[j], d.ports[i] })
				case 3, 4:
					for range 1 + rng.IntN(3) {
						port := d.ports[rng.IntN(len(d.ports))]
						skip = append(skip, fmt.Sprintf("%s/counter_%d", port, rng.IntN(8)))
					}
				case 5:
					port := d.ports[rng.IntN(len(d.ports))]
					cs := d.counters[port]
					d.counters[port] = slices.Insert(slices.Clone(cs), rng.IntN(len(cs)+1), fmt.Sprintf("extra_%d", step))
				case 6: // sometimes with a counter of the port missing from that poll
					port := d.ports[rng.IntN(len(d.ports))]
					d.disc[port]++
					if rng.IntN(2) == 0 {
						skip = append(skip, port+"/counter_0")
					}
				case 7:
					d.uptime /= 2
				case 8:
					key := testRes.Key()
					st := p.res[key]
					b := encodeState(nil, st, 24*time.Hour)
					p = New(Options{EvictAfter: 4 * time.Minute})
					st2 := &resState{key: key, loaded: true, slot: slotOf(key)}
					if err := decodeState(b, st2); err != nil {
						t.Fatalf("step %d: %v", step, err)
					}
					p.res[key] = st2
				case 9, 10:
					if err := p.Flush(context.Background(), time.Unix(int64(d.at), 0)); err != nil {
						t.Fatal(err)
					}
				}
				dt := 60.0
				switch rng.IntN(10) {
				case 0:
					dt = 0
				case 1:
					dt = 240
				case 2:
					dt = 120
				}
				check(t, fmt.Sprintf("step %d", step), p, o, d.poll(dt, skip...))
			}
		})
	}
}

// Version 4 holds the state by position in about half version 2's bytes;
// a node reading it, or a version 2 entry of the previous release (a
// rolling upgrade), rates the next poll as if it had not restarted. Every
// truncation of an entry is an error, not a panic or a wrong sample.
func TestStateEncodingV4(t *testing.T) {
	ctx := context.Background()
	res := *testRes
	p := New(Options{})
	p.Apply(ctx, realisticSet(&res, 1), All(), time.Now())
	p.Apply(ctx, realisticSet(&res, 2), All(), time.Now())
	p.Swap(ctx, res.Key(), 42, 7, 1.7e9) // a series by hash beside them
	st := p.res[res.Key()]
	want := map[uint64]sample{}
	st.pos.each(func(k uint64, s sample) { want[k] = s })
	st.series.each(func(k uint64, s sample) { want[k] = s })
	v4 := encodeState(nil, st, time.Hour)

	v2 := []byte{stateMagic, 2}
	v2 = binary.BigEndian.AppendUint16(v2, uint16(len(st.key)))
	v2 = append(v2, st.key...)
	var all table
	for k, s := range want {
		all.put(k, s)
	}
	all.merge()
	all.compact()
	v2 = encodeTable(v2, &all)
	if per4, per2 := float64(len(v4))/float64(len(want)), float64(len(v2))/float64(len(want)); per4 > 10 || per4 > per2*0.6 {
		t.Errorf("version 4: %.1f bytes a series, version 2 %.1f; want under 10 and 0.6 × version 2", per4, per2)
	}

	for _, c := range []struct {
		version string
		b       []byte
	}{{"4", v4}, {"2", v2}} {
		got := &resState{key: st.key, loaded: true}
		if err := decodeState(c.b, got); err != nil {
			t.Fatalf("version %s: %v", c.version, err)
		}
		n := 0
		each := func(k uint64, s sample) {
			if s != want[k] {
				t.Errorf("version %s: series %x = %+v, want %+v", c.version, k, s, want[k])
			}
			n++
		}
		got.pos.each(each)
		got.series.each(each)
		if n != len(want) {
			t.Errorf("version %s: %d series, want %d", c.version, n, len(want))
		}
		// The next poll: every series rated, from the decoded state.
		q := New(Options{})
		q.res[st.key] = got
		set := realisticSet(&res, 3)
		q.Apply(ctx, set, All(), time.Now())
		if rates, series := len(ratesOf(set)), len(want)-1; rates != series {
			t.Errorf("version %s: %d rates after the restart, want %d", c.version, rates, series)
		}
		if prev, _, ok := q.Swap(ctx, res.Key(), 42, 8, 1.7e9+60); !ok || prev != 7 {
			t.Errorf("version %s: Swap's series = %d, %v; want 7", c.version, prev, ok)
		}
	}

	for n := range len(v4) {
		if err := decodeState(v4[:n], &resState{key: st.key}); err == nil {
			t.Fatalf("version 4 cut to %d of %d bytes decoded", n, len(v4))
		}
	}
	if err := decodeState(append(slices.Clone(v4), 0), &resState{key: st.key}); err == nil {
		t.Error("a version 4 entry with a byte too many decoded")
	}
	bad := slices.Clone(v4)
	bad[1] = 5
	if err := decodeState(bad, &resState{key: st.key}); err == nil {
		t.Error("version 5 decoded")
	}
}

// A group with a counter twice is rated as by series hash: the second
// against the first (the same stamp: stale), poll after poll.
func TestLayoutDuplicateCounter(t *testing.T) {
	p := New(Options{})
	o := &oracle{maxGap: 3}
	for poll := range 4 {
		at := float64(100 + 60*poll)
		g := ifGroup("Gi0/1", at, uint64(1000*poll), metric.Hint{Bits: 64}, 0)
		g.Metrics = append(g.Metrics, metric.Metric{Name: "bits_in", Value: metric.Uint(uint64(3000 * poll)),
			Type: metric.Counter, Timestamp: at, Hint: metric.Hint{Bits: 64}})
		check(t, fmt.Sprintf("poll %d", poll), p, o, &metric.GroupSet{Groups: []*metric.Group{g}})
	}
	if names := p.res[testRes.Key()].pos.slots[0].shape.names; len(names) != 1 {
		t.Errorf("shape %v, want bits_in once", names)
	}
}

// A value is held in the 2-byte units it needs (1, 2 or 4), a shape only
// widens, and state read back from a KV entry (which has no widths: they
// follow from its values) rates exactly as by series hash, a counter
// crossing 2^32 after the restart widening at that poll.
func TestNarrowValues(t *testing.T) {
	p := New(Options{})
	o := &oracle{maxGap: 3}
	names := []string{"c32", "c64", "odd", "unknown"}
	poll := func(step int) *metric.GroupSet {
		at := float64(1000 + 60*step)
		vals := []uint64{
			(4294967000 + 100*uint64(step)) & (1<<32 - 1), // wraps at step 3
			4294967000 + 100*uint64(step),                 // crosses 2^32 at step 3
			1<<33 + 100*uint64(step),                      // a Counter32's hint with a wider value
			10 * uint64(step),                             // no width known
		}
		bits := []uint8{32, 64, 32, 0}
		g := &metric.Group{Resource: testRes, Type: "interface", Interval: 60,
			Dimensions: []metric.Dimension{{Name: "interface_name", Value: "Gi0/1"}}}
		for i, n := range names {
			g.Metrics = append(g.Metrics, metric.Metric{Name: n, Value: metric.Uint(vals[i]), Type: metric.Counter,
				Timestamp: at, Hint: metric.Hint{Bits: bits[i]}})
		}
		return &metric.GroupSet{Groups: []*metric.Group{g}}
	}
	widths := func() []uint8 { return p.res[testRes.Key()].pos.slots[0].shape.width }
	for step := range 6 {
		if step == 2 { // a restart from the flushed entry
			key := testRes.Key()
			b := encodeState(nil, p.res[key], time.Hour)
			p = New(Options{})
			st := &resState{key: key, loaded: true, slot: slotOf(key)}
			if err := decodeState(b, st); err != nil {
				t.Fatal(err)
			}
			p.res[key] = st
			if got, want := widths(), []uint8{2, 2, 4, 1}; !slices.Equal(got, want) {
				t.Errorf("widths read from the entry %v, want %v (what the values need)", got, want)
			}
		}
		set := poll(step)
		check(t, fmt.Sprintf("step %d", step), p, o, set)
		if n := len(ratesOf(set)); step >= 1 && n < 3 {
			t.Errorf("step %d: %d rates, want at least 3", step, n)
		}
	}
	if got, want := widths(), []uint8{2, 4, 4, 1}; !slices.Equal(got, want) { // c32 wrapped: still 2
		t.Errorf("widths %v, want %v", got, want)
	}
	if sh := p.res[testRes.Key()].pos.slots[0].shape; sh.units != 11 {
		t.Errorf("the slot holds %d units, want 11 (2 + 4 + 4 + 1)", sh.units)
	}
}

// A resource whose series are all held by position has no table by hash
// (232 bytes of an empty one per resource before); Swap's series make one.
func TestTableOnlyWhenNeeded(t *testing.T) {
	ctx := context.Background()
	res := *testRes
	p := New(Options{})
	for poll := range 3 {
		p.Apply(ctx, realisticSet(&res, poll+1), All(), time.Now())
	}
	st := p.res[res.Key()]
	if st.series != nil {
		t.Errorf("a table of %d series for a resource held by position", st.series.len())
	}
	if b := encodeState(nil, st, time.Hour); decodeState(b, &resState{key: st.key}) != nil {
		t.Error("an entry without a table does not decode")
	}
	if _, _, ok := p.Swap(ctx, res.Key(), 42, 7, 1.7e9); ok {
		t.Error("Swap's first sample had a previous one")
	}
	if prev, _, ok := p.Swap(ctx, res.Key(), 42, 8, 1.7e9+60); !ok || prev != 7 || st.series.len() != 1 {
		t.Errorf("Swap's series = %d, %v; table of %d, want 7, true, 1", prev, ok, st.series.len())
	}
}
