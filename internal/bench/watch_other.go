//go:build !linux

package bench

import "context"

// watchDir: no inotify here; the tailer polls.
func watchDir(context.Context, string) <-chan struct{} { return nil }
