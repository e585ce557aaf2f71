package snmp

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/panoptes-go/panoptes/internal/sim"
	"github.com/panoptes-go/panoptes/internal/testutil/snmpagent"
)

// columnRoots are what the interface plugin walks with enrichment (the
// counter columns of ifTable and ifXTable), with edges around them: a
// column of another table, an empty subtree, a scalar instance (walked
// as snmpwalk does, by a GET), and the last column of ifXTable, whose
// successors are outside the table.
var columnRoots = []string{
	".1.3.6.1.2.1.2.2.1.10", ".1.3.6.1.2.1.2.2.1.11", "1.3.6.1.2.1.2.2.1.14", ".1.3.6.1.2.1.2.2.1.20",
	".1.3.6.1.2.1.31.1.1.1.6", ".1.3.6.1.2.1.31.1.1.1.10.", ".1.3.6.1.2.1.31.1.1.1.19",
	".1.3.6.1.2.1.999999", oidSysName, oidSystem,
}

// walkEach walks roots one by one: what WalkColumns must return.
func walkEach(t *testing.T, p *Pool, tg Target, roots []string) [][]Varbind {
	t.Helper()
	want := make([][]Varbind, len(roots))
	for i, root := range roots {
		vbs, err := p.Walk(context.Background(), tg, root)
		if err != nil {
			t.Fatalf("walk %s: %v", root, err)
		}
		want[i] = vbs
	}
	return want
}

// walkColumns is WalkColumns into fresh results.
func walkColumns(ctx context.Context, p *Pool, tg Target, roots []string, size int) ([][]Varbind, error) {
	out := make([][]Varbind, len(roots))
	err := p.WalkColumns(ctx, tg, roots, size, out)
	return out, err
}

// TestWalkColumns: a column walk returns, for each root, what walking it
// alone returns (names and types: the simulated counters move between the
// walks), whatever max-repetitions (1: a row a request; 7: columns end in
// the middle of an answer; 49: one answer per group of columns) and
// expected size, on both transports, with fewer requests than the walks
// one by one. The pool counts the varbinds. The simulated switch48 has
// 55 interfaces.
func TestWalkColumns(t *testing.T) {
	d := startSim(t, 1).Devices()[0]
	for _, transport := range []string{"shared", "connected"} {
		for _, reps := range []int{1, 7, 25, 49} {
			t.Run(fmt.Sprintf("%s/reps%d", transport, reps), func(t *testing.T) {
				p := NewPool(PoolOptions{ConnectedSockets: transport == "connected"})
				defer p.Close()
				tg := simTarget(d)
				tg.MaxRepetitions = reps
				before := d.Stats().Requests
				want := walkEach(t, p, tg, columnRoots)
				each := d.Stats().Requests - before
				for _, size := range []int{0, 1, 48, 1000} {
					before, vbsBefore := d.Stats().Requests, p.Varbinds()
					got, err := walkColumns(context.Background(), p, tg, columnRoots, size)
					if err != nil {
						t.Fatal(err)
					}
					total := 0
					for i, root := range columnRoots {
						sameNames(t, fmt.Sprintf("column %s (size %d)", root, size), got[i], want[i])
						total += len(got[i])
					}
					if len(want[0]) < 48 || len(want[7]) != 0 || len(want[8]) != 1 {
						t.Fatalf("the simulated switch gave %d, %d, %d varbinds for a column, an empty subtree and a scalar", len(want[0]), len(want[7]), len(want[8]))
					}
					if n := p.Varbinds() - vbsBefore; n != uint64(total) {
						t.Errorf("Varbinds() grew by %d for %d varbinds walked", n, total)
					}
					if asked := d.Stats().Requests - before; asked >= each && reps > 1 {
						t.Errorf("size %d: %d requests, the walks one by one took %d", size, asked, each)
					} else if size == 0 {
						t.Logf("%d requests, %d one by one", asked, each)
					}
				}
			})
		}
	}
}

// TestWalkColumnsIntoBuffers: each result is walked into its buffer when
// that has room, and the buffers' old contents are gone.
func TestWalkColumnsIntoBuffers(t *testing.T) {
	tg := simTarget(startSim(t, 1).Devices()[0])
	tg.MaxRepetitions = 49
	p, _, _ := testPool(t, 1)
	roots := columnRoots[:4]
	first, err := walkColumns(context.Background(), p, tg, roots, 48)
	if err != nil {
		t.Fatal(err)
	}
	bufs := make([][]Varbind, len(roots))
	copy(bufs, first)
	bufs[1] = first[1][:0:1] // too small: a new array
	out := make([][]Varbind, len(roots))
	copy(out, bufs)
	if err := p.WalkColumns(context.Background(), tg, roots, 48, out); err != nil {
		t.Fatal(err)
	}
	for i := range roots {
		sameNames(t, roots[i], out[i], first[i])
		if reused := &bufs[i][:1][0] == &out[i][0]; reused != (i != 1) {
			t.Errorf("column %d walked into its buffer: %v", i, reused)
		}
	}
	if err := p.WalkColumns(context.Background(), tg, roots, 48, out[:1]); err == nil {
		t.Error("WalkColumns with fewer results than roots did not fail")
	}
}

// TestWalkColumnsSmallMessages: an agent whose messages hold a few
// varbinds answers a GETBULK of many columns with part of a row; the walk
// goes on from where each column got to.
func TestWalkColumnsSmallMessages(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	farm, err := sim.Start(ctx, sim.Options{Devices: 1, Templates: []string{"switch48"}, MaxMsgSize: 484})
	if err != nil {
		t.Fatal(err)
	}
	defer farm.Close()
	tg := simTarget(farm.Devices()[0])
	tg.MaxRepetitions = 49
	p, _, _ := testPool(t, 1)
	want := walkEach(t, p, tg, columnRoots)
	got, err := walkColumns(ctx, p, tg, columnRoots, 48)
	if err != nil {
		t.Fatal(err)
	}
	for i, root := range columnRoots {
		sameNames(t, root, got[i], want[i])
	}
}

// TestWalkColumnsLoss: requests lost (every other one, then a random
// third) are sent again, and the walk's results are whole.
func TestWalkColumnsLoss(t *testing.T) {
	d := startSim(t, 1).Devices()[0]
	p, _, _ := testPool(t, 1)
	tg := simTarget(d)
	tg.MaxRepetitions, tg.Timeout, tg.Retries = 7, 50*time.Millisecond, 20
	want := walkEach(t, p, tg, columnRoots)
	for _, lossy := range []func(){
		func() { d.SetHostile(sim.Hostile{AnswerEvery: 2}) },
		func() { d.SetHostile(sim.Hostile{}); d.SetFault(0, 0.3, false) },
	} {
		lossy()
		before := promtest.ToFloat64(p.m.retries)
		got, err := walkColumns(context.Background(), p, tg, columnRoots, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i, root := range columnRoots {
			sameNames(t, root, got[i], want[i])
		}
		if promtest.ToFloat64(p.m.retries) == before {
			t.Error("no request was sent again: nothing was lost")
		}
	}
}

// TestWalkColumnsAgentLoop: an agent whose names stop increasing fails
// the walk with ErrNotIncrease, as a walk of one column.
func TestWalkColumnsAgentLoop(t *testing.T) {
	d := hostileDevice(t, sim.Hostile{Stuck: true})
	p, _, _ := testPool(t, 1)
	_, err := walkColumns(context.Background(), p, simTarget(d), columnRoots[:4], 0)
	if !errors.Is(err, ErrNotIncrease) {
		t.Fatalf("got %v, want ErrNotIncrease", err)
	}
}

// TestWalkColumnsLimit: the columns' varbinds count against the check's
// walk limit.
func TestWalkColumnsLimit(t *testing.T) {
	tg := simTarget(startSim(t, 1).Devices()[0])
	p, _, _ := testPool(t, 1)
	ctx := WithWalkLimit(context.Background(), 150)
	if _, err := walkColumns(ctx, p, tg, columnRoots[:2], 0); err != nil {
		t.Fatalf("110 varbinds under a limit of 150: %v", err)
	}
	if _, err := walkColumns(ctx, p, tg, columnRoots[:2], 0); !errors.Is(err, ErrWalkLimit) {
		t.Fatalf("220 varbinds under a limit of 150: %v, want ErrWalkLimit", err)
	}
}

// fakeColumns answers GETBULK and GETNEXT over a table of three columns of
// n rows (.1.3.6.1.2.1.2.2.1.c.i = 100c+i) followed by one scalar, as RFC
// 3416 says: max-repetitions rows, each the successor of every name.
func fakeColumns(req *gosnmp.SnmpPacket, n int) *gosnmp.SnmpPacket {
	const col = ".1.3.6.1.2.1.2.2.1."
	type key struct{ c, i int }
	next := func(name string) (gosnmp.SnmpPDU, string) {
		k := key{1, 0}
		if rest, ok := strings.CutPrefix(name, col); ok {
			c, i, _ := strings.Cut(rest, ".")
			k.c, _ = strconv.Atoi(c)
			k.i, _ = strconv.Atoi(i)
		} else if name >= col {
			return gosnmp.SnmpPDU{Name: name, Type: gosnmp.EndOfMibView}, name
		}
		if k.i++; k.i > n {
			k = key{k.c + 1, 1}
		}
		if k.c > 3 {
			vb := gosnmp.SnmpPDU{Name: ".1.3.6.1.2.1.2.3.0", Type: gosnmp.Integer, Value: 1}
			return vb, vb.Name
		}
		vb := gosnmp.SnmpPDU{Name: fmt.Sprint(col, k.c, ".", k.i), Type: gosnmp.Integer, Value: 100*k.c + k.i}
		return vb, vb.Name
	}
	reps := 1
	if req.PDUType == gosnmp.GetBulkRequest {
		reps = int(req.MaxRepetitions)
	}
	cur := make([]string, len(req.Variables))
	for j, v := range req.Variables {
		cur[j] = v.Name
	}
	var vbs []gosnmp.SnmpPDU
	for range reps {
		for j := range cur {
			var vb gosnmp.SnmpPDU
			vb, cur[j] = next(cur[j])
			vbs = append(vbs, vb)
		}
	}
	return &gosnmp.SnmpPacket{Variables: vbs}
}

// TestWalkColumnsIgnoresStaleAndForeign: the column walk's answers go
// through the same matching as any request: before each answer the agent
// sends its previous answer again (late, a duplicate), one with another
// request id and one with another community; after it, the same answer
// again. Only the real answers are taken, with no retry.
func TestWalkColumnsIgnoresStaleAndForeign(t *testing.T) {
	var mu sync.Mutex
	var prev []byte
	a := startFakeAgentRaw(t, func(req *gosnmp.SnmpPacket) [][]byte {
		answer := marshalAnswer(req, fakeColumns(req, 30))
		edited := func(edit func(p *gosnmp.SnmpPacket)) []byte {
			p := fakeColumns(req, 30)
			for i := range p.Variables {
				p.Variables[i].Value = 666
			}
			p.Version, p.Community, p.PDUType, p.RequestID = req.Version, req.Community, gosnmp.GetResponse, req.RequestID
			edit(p)
			b, err := p.MarshalMsg()
			if err != nil {
				panic(err)
			}
			return b
		}
		mu.Lock()
		defer mu.Unlock()
		out := [][]byte{
			edited(func(p *gosnmp.SnmpPacket) { p.RequestID++ }),
			edited(func(p *gosnmp.SnmpPacket) { p.Community = "other" }),
			answer, answer,
		}
		if prev != nil {
			out = append([][]byte{prev}, out...)
		}
		prev = answer
		return out
	})
	p, _, _ := testPool(t, 1)
	tg := v2cTarget(a, a.Community)
	tg.MaxRepetitions = 4
	roots := []string{".1.3.6.1.2.1.2.2.1.1", ".1.3.6.1.2.1.2.2.1.2", ".1.3.6.1.2.1.2.2.1.3"}
	for range 2 {
		got, err := walkColumns(context.Background(), p, tg, roots, 0)
		if err != nil {
			t.Fatal(err)
		}
		for c, vbs := range got {
			if len(vbs) != 30 {
				t.Fatalf("column %d: %d rows, want 30", c+1, len(vbs))
			}
			for i, vb := range vbs {
				if want := fmt.Sprint(roots[c], ".", i+1); vb.Name != want || vb.Value != 100*(c+1)+i+1 {
					t.Fatalf("column %d row %d: %v, want %s = %d (a foreign or stale answer was taken)", c+1, i+1, vb, want, 100*(c+1)+i+1)
				}
			}
		}
	}
	if got := promtest.ToFloat64(p.m.retries); got != 0 {
		t.Fatalf("%v retries: ignored datagrams must not cause re-sends", got)
	}
}

// columnsMatchBulkwalk checks WalkColumns of roots against snmpbulkwalk
// of each root on a real agent: exactly (a recording) or as live values.
// With SNMPv1 (a GETNEXT walk of each root, which skips Counter64) the
// results are the pool's walks of each root.
func columnsMatchBulkwalk(t *testing.T, p *Pool, tg Target, a *snmpagent.Agent, roots []string, exact bool) {
	t.Helper()
	got, err := walkColumns(context.Background(), p, tg, roots, 0)
	if err != nil {
		t.Fatalf("v%s: %v", tg.Credential.Version, err)
	}
	if tg.Credential.Version == "1" {
		for i, want := range walkEach(t, p, tg, roots) {
			sameNames(t, "v1 column walk of "+roots[i], got[i], want)
		}
		return
	}
	for i, root := range roots {
		want := snmpagent.BulkWalk(t, []string{"-v2c", "-c", a.Community}, a.Addr(), root)
		what := fmt.Sprintf("v%s column walk of %s", tg.Credential.Version, root)
		if exact {
			sameRows(t, what, rowsOf(got[i]), want)
		} else {
			sameLiveRows(t, what, rowsOf(got[i]), want)
		}
	}
}

// interfaceColumns are the counter columns of ifTable and ifXTable.
var interfaceColumns = []string{
	".1.3.6.1.2.1.2.2.1.10", ".1.3.6.1.2.1.2.2.1.11", ".1.3.6.1.2.1.2.2.1.13", ".1.3.6.1.2.1.2.2.1.14",
	".1.3.6.1.2.1.2.2.1.16", ".1.3.6.1.2.1.2.2.1.17", ".1.3.6.1.2.1.2.2.1.19", ".1.3.6.1.2.1.2.2.1.20",
	".1.3.6.1.2.1.31.1.1.1.2", ".1.3.6.1.2.1.31.1.1.1.6", ".1.3.6.1.2.1.31.1.1.1.10", ".1.3.6.1.2.1.31.1.1.1.15",
	".1.3.6.1.2.1.31.1.1.1.18",
}

// TestWalkColumnsTooBig: an agent that answers a GETBULK too large for it
// with tooBig (where RFC 3416 says to answer fewer varbinds) is asked for
// fewer columns at a time; one whose single column is too big fails as a
// walk of that column fails.
func TestWalkColumnsTooBig(t *testing.T) {
	for _, maxVarbinds := range []int{10, 3} {
		a := startFakeAgent(t, func(req *gosnmp.SnmpPacket) *gosnmp.SnmpPacket {
			if req.PDUType == gosnmp.GetBulkRequest && len(req.Variables)*int(req.MaxRepetitions) > maxVarbinds {
				return &gosnmp.SnmpPacket{Error: gosnmp.TooBig, Variables: req.Variables}
			}
			return fakeColumns(req, 30)
		})
		p, _, _ := testPool(t, 1)
		tg := v2cTarget(a, a.Community)
		tg.MaxRepetitions = 4
		roots := []string{".1.3.6.1.2.1.2.2.1.1", ".1.3.6.1.2.1.2.2.1.2", ".1.3.6.1.2.1.2.2.1.3"}
		got, err := walkColumns(context.Background(), p, tg, roots, 0)
		if maxVarbinds < tg.MaxRepetitions {
			var se *SNMPStatusError
			if !errors.As(err, &se) || se.Status != gosnmp.TooBig {
				t.Fatalf("a column too big for the agent: %v, want its tooBig", err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for c, vbs := range got {
			if len(vbs) != 30 || vbs[29].Value != 100*(c+1)+30 {
				t.Fatalf("column %d: %d rows, want 30", c+1, len(vbs))
			}
		}
	}
}

// TestWalkColumnsMissingTable: the columns of a table the device lacks
// end at the first answer, and their scalar fallback (snmpwalk's: an
// empty subtree may be an instance itself) is one GET for all of them:
// two requests, not one GET a column.
func TestWalkColumnsMissingTable(t *testing.T) {
	d := startSim(t, 1).Devices()[0]
	p, _, _ := testPool(t, 1)
	tg := simTarget(d)
	var roots []string
	for c := 1; c <= 14; c++ {
		roots = append(roots, ".1.3.6.1.2.1.10.99.2.1."+strconv.Itoa(c))
	}
	roots = append(roots, oidSysName)
	want := walkEach(t, p, tg, roots)
	before := d.Stats().Requests
	got, err := walkColumns(context.Background(), p, tg, roots, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, root := range roots {
		sameNames(t, root, got[i], want[i])
	}
	if len(got[14]) != 1 || len(got[0]) != 0 {
		t.Fatalf("got %d varbinds for sysName.0 and %d for a missing column", len(got[14]), len(got[0]))
	}
	if asked := d.Stats().Requests - before; asked != 2 {
		t.Errorf("%d requests, want a GETBULK and a GET", asked)
	}
}

// TestWalkColumnsNarrowsWhenBigAnswersAreLost: a path that drops answers
// over its MTU (fragmented UDP behind a firewall; the simulator's
// DropAbove) never delivers a GETBULK of many columns. As the interface
// plugin runs a check, a GET and two column walks at once on two slots of
// a fresh pool (new sessions: the node closes idle ones between polls):
// each walk goes on one column a request; the results are whole, the pool
// counts and logs the device once, and its next walks go narrow at once,
// losing no answer. A device gone silent keeps its timeout and is not
// remembered.
func TestWalkColumnsNarrowsWhenBigAnswersAreLost(t *testing.T) {
	d := startSim(t, 1).Devices()[0]
	tg := simTarget(d)
	tg.MaxRepetitions, tg.Timeout, tg.Retries = 25, 150*time.Millisecond, 2
	base, _, _ := testPool(t, 2)
	tables := [][]string{columnRoots[:4], columnRoots[4:7]}
	want := [][][]Varbind{walkEach(t, base, tg, tables[0]), walkEach(t, base, tg, tables[1])}

	p, logs, _ := testPool(t, 2)
	d.SetHostile(sim.Hostile{DropAbove: 1400})
	for pass := range 2 {
		lost := d.Stats().Lost
		var wg sync.WaitGroup
		errs := make([]error, 3)
		got := make([][][]Varbind, 2)
		wg.Add(3)
		go func() { defer wg.Done(); _, errs[2] = p.Get(context.Background(), tg, []string{oidSysName}) }()
		for i, roots := range tables {
			go func() { defer wg.Done(); got[i], errs[i] = walkColumns(context.Background(), p, tg, roots, 0) }()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("pass %d, request %d: %v", pass, i, err)
			}
		}
		for i, roots := range tables {
			for j, root := range roots {
				sameNames(t, root, got[i][j], want[i][j])
			}
		}
		dropped := d.Stats().Lost - lost
		if pass == 0 && dropped == 0 {
			t.Fatal("no answer was too large for the path: the test shows nothing")
		}
		if pass == 1 && dropped != 0 {
			t.Errorf("the remembered device: %d answers lost, want none (one column a request)", dropped)
		}
		if n := promtest.ToFloat64(p.m.narrowed); n != 1 {
			t.Errorf("pass %d: column_walks_narrowed_total %v, want 1", pass, n)
		}
	}
	if n := strings.Count(logs.String(), "one column a request for the next hour"); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, logs.String())
	}

	// A device gone silent after its answer: the narrow walk fails too.
	d2 := startSim(t, 1).Devices()[0]
	tg2 := simTarget(d2)
	tg2.MaxRepetitions, tg2.Timeout, tg2.Retries = 25, 100*time.Millisecond, 0
	if _, err := p.Get(context.Background(), tg2, []string{oidSysName}); err != nil {
		t.Fatal(err)
	}
	d2.SetHostile(sim.Hostile{DropAbove: 1})
	if _, err := walkColumns(context.Background(), p, tg2, columnRoots, 0); !errors.Is(err, ErrTimeout) {
		t.Fatalf("a silent device: %v, want a timeout", err)
	}
	if n := promtest.ToFloat64(p.m.narrowed); n != 1 {
		t.Errorf("a silent device was remembered as narrow: column_walks_narrowed_total %v", n)
	}
}
