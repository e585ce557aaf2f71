package prometheus

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
)

// BenchmarkExpositionWrite stores one 48-port switch poll (864 series) into
// an exposition that already holds them: the steady state.
func BenchmarkExpositionWrite(b *testing.B) {
	e := newTestExposition(b, Config{})
	batch := records(interfaceGroups(device("dc1", "sw1"), 48, 0, time.Now())...)
	ctx := context.Background()
	if err := e.Write(ctx, batch); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := e.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(48*18), "ns/series")
}

// BenchmarkExpositionWriteNew stores polls of switches never seen before:
// the cost of creating series.
func BenchmarkExpositionWriteNew(b *testing.B) {
	e := newTestExposition(b, Config{})
	now := time.Now()
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		b.StopTimer()
		batch := records(interfaceGroups(device("dc1", fmt.Sprintf("sw%d", i)), 48, 0, now)...)
		i++
		b.StartTimer()
		if err := e.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
}

// fill stores switches of 48 ports until the exposition holds about n series.
func fill(b *testing.B, e *Exposition, n int) {
	now := time.Now()
	for i := 0; e.Series() < n; i++ {
		if err := e.Write(context.Background(), records(interfaceGroups(device("dc1", fmt.Sprintf("sw%d", i)), 48, 0, now)...)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScrape renders 100k series, plain and gzip-compressed as
// Prometheus asks for them.
func BenchmarkScrape(b *testing.B) {
	e := newTestExposition(b, Config{})
	fill(b, e, 100_000)
	var size countingWriter
	w := bufio.NewWriterSize(&size, 64<<10)
	if err := e.WriteExposition(w); err != nil {
		b.Fatal(err)
	}
	w.Flush()
	b.Run("plain", func(b *testing.B) {
		w := bufio.NewWriterSize(io.Discard, 64<<10)
		b.SetBytes(int64(size))
		b.ReportAllocs()
		for b.Loop() {
			if err := e.WriteExposition(w); err != nil {
				b.Fatal(err)
			}
			w.Flush()
		}
		b.ReportMetric(float64(e.Series()), "series")
	})
	b.Run("gzip", func(b *testing.B) {
		gz, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
		w := bufio.NewWriterSize(gz, 64<<10)
		b.SetBytes(int64(size))
		b.ReportAllocs()
		for b.Loop() {
			gz.Reset(io.Discard)
			if err := e.WriteExposition(w); err != nil {
				b.Fatal(err)
			}
			w.Flush()
			gz.Close()
		}
	})
}

type countingWriter int

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}

// BenchmarkRemoteWriteEncode encodes and snappy-compresses one 48-port
// switch poll (864 samples), as one Write does before its request.
func BenchmarkRemoteWriteEncode(b *testing.B) {
	groups := interfaceGroups(device("dc1", "sw1"), 48, 0, time.Now())
	var (
		enc  encoder
		body []byte
	)
	encode := func() int {
		enc.reset(0)
		for _, g := range groups {
			if err := enc.add(g); err != nil {
				b.Fatal(err)
			}
		}
		raw, _ := enc.segment(0, len(groups))
		if n := s2.MaxEncodedLen(len(raw)); cap(body) < n {
			body = make([]byte, n)
		}
		return len(raw)
	}
	raw := encode()
	b.SetBytes(int64(raw))
	b.ReportAllocs()
	for b.Loop() {
		encode()
		r, _ := enc.segment(0, len(groups))
		_ = s2.EncodeSnappy(body[:cap(body)], r)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(48*18), "ns/sample")
	r, _ := enc.segment(0, len(groups))
	b.ReportMetric(float64(len(s2.EncodeSnappy(nil, r))), "snappy-bytes")
}
