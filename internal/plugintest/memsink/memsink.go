// Package memsink is a throwaway sink type, "memory": it keeps what it is
// given, for a test to read by the sink's name.
package memsink

import (
	"context"
	"sync"

	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/sink"
)

func init() { sink.Register("memory", New) }

// Config is the sink's block: its keys beside the consumer's.
type Config struct {
	// Keep is how many records are kept (the latest); at least 1.
	Keep int `yaml:"keep"`
}

// Memory keeps the latest records it was given.
type Memory struct {
	keep int
	mu   sync.Mutex
	recs []sink.Record
}

var (
	mu    sync.Mutex
	sinks = map[string]*Memory{}
)

// New is the factory: decode, check, no side effects but remembering the
// instance under its name.
func New(options plugin.Block, deps sink.Deps) (sink.Sink, error) {
	c := Config{Keep: 1000}
	if err := options.Decode(&c); err != nil {
		return nil, err
	}
	if c.Keep < 1 {
		return nil, plugin.Errorf("keep", "%d must be at least 1", c.Keep)
	}
	m := &Memory{keep: c.Keep}
	mu.Lock()
	sinks[deps.Name] = m
	mu.Unlock()
	return m, nil
}

// Write keeps the batch.
func (m *Memory) Write(_ context.Context, batch []sink.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs = append(m.recs, batch...)
	if over := len(m.recs) - m.keep; over > 0 {
		m.recs = m.recs[over:]
	}
	return nil
}

// Records returns what the sink named name kept, nil when there is none.
func Records(name string) []sink.Record {
	mu.Lock()
	m := sinks[name]
	mu.Unlock()
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]sink.Record(nil), m.recs...)
}
