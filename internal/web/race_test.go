//go:build race

package web

// raceDetector: the race detector slows this package's JSON and map work
// ten to twenty times; time bounds widen with it.
const raceDetector = true
