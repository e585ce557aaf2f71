package bench

import (
	"context"
	"os"
	"syscall"
)

// watchDir sends on the returned channel (capacity one: wake-ups coalesce)
// whenever a file in dir is written, created or renamed into it, until ctx
// is done. It returns nil when inotify is not available.
func watchDir(ctx context.Context, dir string) <-chan struct{} {
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		return nil
	}
	if _, err := syscall.InotifyAddWatch(fd, dir, syscall.IN_MODIFY|syscall.IN_CREATE|syscall.IN_MOVED_TO); err != nil {
		syscall.Close(fd)
		return nil
	}
	f := os.NewFile(uintptr(fd), "inotify") // non-blocking: reads wait in the netpoller
	wake := make(chan struct{}, 1)
	go func() {
		<-ctx.Done()
		f.Close() // ends the blocked Read
	}()
	go func() {
		buf := make([]byte, 64<<10) // drains many events in one read
		for {
			if _, err := f.Read(buf); err != nil {
				return
			}
			select {
			case wake <- struct{}{}:
			default:
			}
		}
	}()
	return wake
}
