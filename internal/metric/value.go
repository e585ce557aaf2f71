package metric

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
)

type valueKind uint8

const (
	kindUint valueKind = iota
	kindInt
	kindFloat
)

// Value is a metric value: an exact unsigned or signed 64-bit integer, or a
// float. Counters are integers so that values above 2^53 survive unchanged.
type Value struct {
	bits uint64
	kind valueKind
}

// Uint returns an unsigned integer value (SNMP Counter32/64, Gauge32, TimeTicks).
func Uint(u uint64) Value { return Value{bits: u, kind: kindUint} }

// Int returns a signed integer value (SNMP INTEGER).
func Int(i int64) Value { return Value{bits: uint64(i), kind: kindInt} }

// Float returns a floating point value (rates, ratios).
func Float(f float64) Value { return Value{bits: math.Float64bits(f), kind: kindFloat} }

// IsInteger reports whether v holds an exact integer.
func (v Value) IsInteger() bool { return v.kind != kindFloat }

// IsFloat reports whether v holds a float.
func (v Value) IsFloat() bool { return v.kind == kindFloat }

// IsNegative reports whether v is below zero.
func (v Value) IsNegative() bool {
	switch v.kind {
	case kindInt:
		return int64(v.bits) < 0
	case kindFloat:
		return math.Float64frombits(v.bits) < 0
	}
	return false
}

// Uint64 returns v as uint64 (negative ints and floats are converted).
func (v Value) Uint64() uint64 {
	if v.kind == kindFloat {
		return uint64(math.Float64frombits(v.bits))
	}
	return v.bits
}

// Int64 returns v as int64.
func (v Value) Int64() int64 {
	if v.kind == kindFloat {
		return int64(math.Float64frombits(v.bits))
	}
	return int64(v.bits)
}

// Float64 returns v as float64 (lossy for integers above 2^53).
func (v Value) Float64() float64 {
	switch v.kind {
	case kindFloat:
		return math.Float64frombits(v.bits)
	case kindInt:
		return float64(int64(v.bits))
	}
	return float64(v.bits)
}

// AppendText appends v's JSON number text to b.
func (v Value) AppendText(b []byte) []byte {
	switch v.kind {
	case kindInt:
		return strconv.AppendInt(b, int64(v.bits), 10)
	case kindFloat:
		f := math.Float64frombits(v.bits)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			// JSON has no NaN/Inf; a missing value is the honest encoding.
			return append(b, "null"...)
		}
		return strconv.AppendFloat(b, f, 'g', -1, 64)
	}
	return strconv.AppendUint(b, v.bits, 10)
}

func (v Value) String() string { return string(v.AppendText(nil)) }

// MarshalJSON encodes the exact number.
func (v Value) MarshalJSON() ([]byte, error) { return v.AppendText(nil), nil }

// UnmarshalJSON decodes a JSON number without going through float64 when it
// is an integer.
func (v *Value) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*v = Float(math.NaN())
		return nil
	}
	if len(b) > 0 && b[0] == '"' { // Panoptes' consumers sometimes quoted numbers.
		b = b[1 : len(b)-1]
	}
	return v.parse(string(b))
}

func (v *Value) parse(s string) error {
	if u, err := strconv.ParseUint(s, 10, 64); err == nil {
		*v = Uint(u)
		return nil
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		*v = Int(i)
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("metric value %q is not a number", s)
	}
	*v = Float(f)
	return nil
}
