package bus

import "sync"

// statePool recycles PublishSet's scratch space. A sync.Pool alone drops
// its items at every other GC, and a publisher that then finds it empty
// pays for a new encoder: its buffers allocated, faulted in and grown to a
// set's size (BenchmarkEncode48Fresh: ~9× a reused encoder's time). At
// gNMI's rates, with many sets awaiting their acks at once, that was
// 9.5 % of the collector (growslice and memmove under wire.Encoder.Encode).
// So keepStates states with buffers of a usual size are kept here, through
// GCs, for the first sets after one; the rest go to the sync.Pool as
// before, which serves between GCs.
type statePool struct {
	mu    sync.Mutex
	kept  []*publishState
	spill sync.Pool
}

const (
	// keepStates bounds the states kept through GCs: two per core of this
	// machine's size. They are live heap whatever the load: 16 held ~9 MB
	// of buffers at 2,000 switches with rates on (heap profile), ~18 MB of
	// RSS with the GC's headroom; 4 hold at most ~4 MB.
	keepStates = 4
	// maxKeptBuffer keeps only states of a usual size (a 48-port
	// interface check's buffers are ~128 KB each).
	maxKeptBuffer = 512 << 10
)

func (p *statePool) get() *publishState {
	p.mu.Lock()
	if n := len(p.kept); n > 0 {
		st := p.kept[n-1]
		p.kept[n-1] = nil
		p.kept = p.kept[:n-1]
		p.mu.Unlock()
		return st
	}
	p.mu.Unlock()
	if st, ok := p.spill.Get().(*publishState); ok {
		return st
	}
	return new(publishState)
}

// put recycles st, which no publish reads any more.
func (p *statePool) put(st *publishState) {
	if st.enc.Cap() <= maxKeptBuffer {
		p.mu.Lock()
		if len(p.kept) < keepStates {
			p.kept = append(p.kept, st)
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
	}
	p.spill.Put(st)
}
