package schedule

// nextDue is the first due time at or after now (all in Unix nanoseconds) of
// a check with this phase and interval: due times are aligned to the wall
// clock, not to process start.
func nextDue(now, phase, interval int64) int64 {
	r := (now - phase) % interval
	if r < 0 {
		r += interval
	}
	if r == 0 {
		return now
	}
	return now - r + interval
}
