package metric

import "errors"

// Validate reports whether Decode accepts data, without building the group:
// a sink that stores messages as they are needs only the verdict. It
// accepts and rejects exactly what Decode does, and returns Decode's error.
//
// It runs the decoder in view mode (decoder.view) and applies the rules of
// Group.Validate to what it sees; a valid message costs no allocation
// unless a string of the resource, type or names holds escapes. A message
// it rejects is decoded again by Decode, which names the error (rejects
// are rare: poison); so is the rare message with a repeated metrics or
// dimensions array, whose meaning depends on how encoding/json merges it
// into the earlier array.
func Validate(data []byte) error {
	if check(data) == nil {
		return nil
	}
	_, err := Decode(data)
	return err
}

// errMerge stops check at an array that would be merged into an earlier
// one: Decode decides those.
var errMerge = errors.New("metric: repeated array, left to Decode")

// errElement is check's verdict for a metric or dimension that breaks a
// rule; Decode then says which and why.
var errElement = errors.New("metric: invalid element")

// check is Validate without the fallback: nil when Decode would accept
// data, errMerge when it cannot tell, another error when Decode would not.
func check(data []byte) error {
	d := decoder{data: data, view: true}
	var g Group
	if err := d.top(&g); err != nil {
		return err
	}
	// A second Group, so that g (which the decoder leaks) never points
	// into d, which then stays on the stack.
	head := Group{Type: g.Type, Interval: g.Interval, SchemaVersion: g.SchemaVersion}
	if d.hasRes {
		head.Resource = &d.res
	}
	if err := head.validateHead(d.metrics.n); err != nil {
		return err
	}
	if d.metrics.bad || d.dims.bad {
		return errElement
	}
	return nil
}

// elemCheck is what view mode keeps of a metrics or dimensions array: its
// length and whether an element broke a rule.
type elemCheck struct {
	n   int
	bad bool
}

func elemCheckOf[T Metric | Dimension](d *decoder) *elemCheck {
	if _, ok := any((*T)(nil)).(*Metric); ok {
		return &d.metrics
	}
	return &d.dims
}

// checkArray is arrayValue in view mode, after the '['. Each element is
// decoded into one reused value (aliasing data) and judged at once.
func checkArray[T Metric | Dimension](d *decoder) error {
	st := elemCheckOf[T](d)
	if st.n > 0 {
		// Decode merges this array element by element into the earlier
		// one (arrayInPlace); after null or [] it starts afresh, as here.
		return errMerge
	}
	*st = elemCheck{}
	for first := true; ; first = false {
		done, err := d.nextElem(first)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		var e T
		if err := elementValue(d, &e); err != nil {
			return err
		}
		if !st.bad {
			st.bad = validateElement(&e, st.n) != nil
		}
		st.n++
	}
}

func validateElement[T Metric | Dimension](e *T, i int) error {
	switch e := any(e).(type) {
	case *Metric:
		return e.validate(i)
	case *Dimension:
		return e.validate(i)
	}
	return nil
}

// floatInRange reports that the JSON number num (already scanned) is
// surely within float64's range, so ParseFloat would accept it; false
// means it may not be (ask ParseFloat). Its magnitude is below
// 10^(integer digits + exponent), and 10^308 < math.MaxFloat64; underflow
// is never an error.
func floatInRange(num []byte) bool {
	// From the end, over the fraction or exponent digits only: the usual
	// number has no exponent and is short.
	i := len(num) - 1
	for i >= 0 && '0' <= num[i] && num[i] <= '9' {
		i--
	}
	if i < 0 || num[i] == '.' || num[i] == '-' && i == 0 {
		return len(num) <= 308
	}
	// An exponent: num[i] is e, E or its sign.
	expDigits := num[i+1:]
	neg := num[i] == '-'
	if num[i] == '-' || num[i] == '+' {
		i--
	}
	if len(expDigits) > 4 {
		return false
	}
	exp := 0
	for _, c := range expDigits {
		exp = exp*10 + int(c-'0')
	}
	if neg {
		exp = -exp
	}
	digits := 0
	for _, c := range num[:i] {
		if c == '.' {
			break
		}
		if c != '-' {
			digits++
		}
	}
	return digits+exp <= 308
}
