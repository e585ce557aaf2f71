package rotate

import (
	"os"

	"golang.org/x/sys/unix"
)

// dropPages advises the kernel to drop f's cached pages of [off, off+n):
// clean ones are freed at once.
func dropPages(f *os.File, off, n int64) {
	_ = unix.Fadvise(int(f.Fd()), off, n, unix.FADV_DONTNEED)
}
