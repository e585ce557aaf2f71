package gnmi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	pb "github.com/openconfig/gnmi/proto/gnmi"
)

// ErrJSON says a value is JSON (JSON or JSON_IETF encoding) to be walked
// against a schema: Scalar does not decode containers.
var ErrJSON = errors.New("value is a JSON tree")

// Scalar decodes a typed value of the PROTO encoding (or a JSON scalar)
// into a Go value: uint64, int64, float64, string, bool, []byte, or []any
// for a leaf-list. Integers stay exact; RFC 7951 encodes 64-bit integers
// as JSON strings, which JSON scalars of JSON_IETF then are (the mapping
// converts them where a number is expected). A JSON object or array
// returns ErrJSON: see DecodeJSON.
func Scalar(v *pb.TypedValue) (any, error) {
	switch x := v.GetValue().(type) {
	case *pb.TypedValue_UintVal:
		return x.UintVal, nil
	case *pb.TypedValue_IntVal:
		return x.IntVal, nil
	case *pb.TypedValue_StringVal:
		return x.StringVal, nil
	case *pb.TypedValue_BoolVal:
		return x.BoolVal, nil
	case *pb.TypedValue_DoubleVal:
		return x.DoubleVal, nil
	case *pb.TypedValue_FloatVal: //nolint:staticcheck // deprecated, still sent by devices
		return float64(x.FloatVal), nil
	case *pb.TypedValue_DecimalVal: //nolint:staticcheck // deprecated, still sent by devices
		d := x.DecimalVal
		return float64(d.GetDigits()) / math.Pow10(int(d.GetPrecision())), nil
	case *pb.TypedValue_BytesVal:
		return x.BytesVal, nil
	case *pb.TypedValue_AsciiVal:
		return x.AsciiVal, nil
	case *pb.TypedValue_LeaflistVal:
		out := make([]any, 0, len(x.LeaflistVal.GetElement()))
		for _, e := range x.LeaflistVal.GetElement() {
			s, err := Scalar(e)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	case *pb.TypedValue_JsonVal:
		return jsonScalar(x.JsonVal)
	case *pb.TypedValue_JsonIetfVal:
		return jsonScalar(x.JsonIetfVal)
	case *pb.TypedValue_ProtoBytes:
		return x.ProtoBytes, nil
	case nil:
		return nil, errors.New("empty typed value")
	}
	return nil, fmt.Errorf("unsupported typed value %T", v.GetValue())
}

// JSONBytes returns the JSON of a JSON or JSON_IETF value, or nil.
func JSONBytes(v *pb.TypedValue) []byte {
	switch x := v.GetValue().(type) {
	case *pb.TypedValue_JsonVal:
		return x.JsonVal
	case *pb.TypedValue_JsonIetfVal:
		return x.JsonIetfVal
	}
	return nil
}

func jsonScalar(b []byte) (any, error) {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && (b[0] == '{' || b[0] == '[') {
		return nil, ErrJSON
	}
	return DecodeJSON(b)
}

// DecodeJSON decodes JSON keeping numbers exact: a whole number is uint64 or
// int64, another number float64; objects are map[string]any, arrays []any.
func DecodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("bad JSON value: %w", err)
	}
	return exactNumbers(v), nil
}

func exactNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		return Number(string(x))
	case map[string]any:
		for k, e := range x {
			x[k] = exactNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = exactNumbers(e)
		}
	}
	return v
}

// Number parses a JSON number's text exactly: uint64, else int64, else
// float64; text that is no number is returned as it is.
func Number(s string) any {
	if u, err := strconv.ParseUint(s, 10, 64); err == nil {
		return u
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f
	}
	return s
}
