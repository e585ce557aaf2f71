package wire

import "testing"

// BenchmarkEncode48 frames and compresses the message of a 48-port
// interface check, as the bus does before sending (allocations matter
// most: it runs for every check).
func BenchmarkEncode48(b *testing.B) {
	set := interfaceSet(testResource("site1", "sw1"), 48)
	set.Groups = set.Groups[:48] // the interface message alone
	var e Encoder
	var subjects SubjectCache
	b.ReportAllocs()
	for b.Loop() {
		e.Reset()
		if _, err := e.Encode(set, &subjects, Legacy); err != nil {
			b.Fatal(err)
		}
		e.Compress(CodecZstd)
	}
	b.SetBytes(int64(len(e.raw)))
}

// BenchmarkDecode48 decodes that message, compressed, into groups, as a
// sink does.
func BenchmarkDecode48(b *testing.B) {
	set := interfaceSet(testResource("site1", "sw1"), 48)
	set.Groups = set.Groups[:48]
	var e Encoder
	var subjects SubjectCache
	_, _ = e.Encode(set, &subjects, Legacy)
	e.Compress(CodecZstd)
	data := e.Bytes(0)
	b.ReportAllocs()
	for b.Loop() {
		gs, err := Decode(data)
		if err != nil || len(gs) != 48 {
			b.Fatal(len(gs), err)
		}
	}
	b.SetBytes(int64(len(e.raw)))
}

// BenchmarkEncode48Fresh is BenchmarkEncode48 with a new Encoder each time:
// what a set costs when its publisher's pool came back empty (sync.Pool
// drops its encoders at every other GC, and many sets awaiting their acks
// at once each hold one).
func BenchmarkEncode48Fresh(b *testing.B) {
	set := interfaceSet(testResource("site1", "sw1"), 48)
	set.Groups = set.Groups[:48]
	var subjects SubjectCache
	b.ReportAllocs()
	for b.Loop() {
		var e Encoder
		if _, err := e.Encode(set, &subjects, Legacy); err != nil {
			b.Fatal(err)
		}
		e.Compress(CodecZstd)
	}
}
