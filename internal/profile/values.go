package profile

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// NotSet is the dimension value when an expression yields nothing.
const NotSet = "<not set>"

// value converts a varbind into what expressions see. Go types carry the
// SNMP type so that a metric that is a bare column keeps its width:
// Counter32 is uint32, Counter64 is uint64 (exact), other integers are int,
// OCTET STRING (as text), OID and IpAddress are strings, Opaque floats are
// float64. Absent values (noSuchObject, noSuchInstance, endOfMibView,
// NULL) are nil.
func value(vb *snmp.Varbind) any {
	switch vb.Type {
	case gosnmp.Counter64:
		v, _ := snmp.Uint(vb)
		return v
	case gosnmp.Counter32:
		v, _ := snmp.Uint(vb)
		return uint32(v)
	case gosnmp.Integer, gosnmp.Gauge32, gosnmp.TimeTicks, gosnmp.Uinteger32:
		v, _ := snmp.Int(vb)
		return int(v)
	case gosnmp.OctetString:
		s, _ := snmp.Text(vb)
		return s
	case gosnmp.ObjectIdentifier:
		if s, ok := snmp.OID(vb); ok {
			return s
		}
	case gosnmp.IPAddress:
		if s, ok := snmp.IPAddress(vb); ok {
			return s
		}
	case gosnmp.OpaqueFloat, gosnmp.OpaqueDouble:
		if f, ok := snmp.Float(vb); ok {
			return f
		}
	}
	return nil
}

// metricValue converts an expression result into a metric value: integers
// stay exact (uint64 for non-negative), floats stay floats, booleans are
// 0 or 1. ok is false for nil (the metric is left out).
func metricValue(v any, counter bool) (val metric.Value, bits uint8, ok bool, err error) {
	switch x := v.(type) {
	case nil:
		return val, 0, false, nil
	case uint64:
		return metric.Uint(x), 64, true, nil
	case uint32:
		return metric.Uint(uint64(x)), 32, true, nil
	case uint:
		return metric.Uint(uint64(x)), 0, true, nil
	case int:
		return signed(int64(x), counter)
	case int64:
		return signed(x, counter)
	case int32:
		return signed(int64(x), counter)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return val, 0, false, fmt.Errorf("result %v is not a finite number", x)
		}
		if counter && x < 0 {
			return val, 0, false, fmt.Errorf("counter result %v is negative", x)
		}
		return metric.Float(x), 0, true, nil
	case float32:
		return metricValue(float64(x), counter)
	case bool:
		if x {
			return metric.Uint(1), 0, true, nil
		}
		return metric.Uint(0), 0, true, nil
	}
	return val, 0, false, fmt.Errorf("result %v (%T) is not a number (convert text with int() or float())", v, v)
}

func signed(i int64, counter bool) (metric.Value, uint8, bool, error) {
	if i >= 0 {
		return metric.Uint(uint64(i)), 0, true, nil
	}
	if counter {
		return metric.Value{}, 0, false, fmt.Errorf("counter result %d is negative", i)
	}
	return metric.Int(i), 0, true, nil
}

// dimensionValue formats an expression result as a dimension value.
func dimensionValue(v any) string {
	switch x := v.(type) {
	case nil:
		return NotSet
	case string:
		if strings.TrimSpace(x) == "" {
			return NotSet
		}
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// compareIndex orders row indexes numerically, part by part.
func compareIndex(a, b []int) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return len(a) - len(b)
}
