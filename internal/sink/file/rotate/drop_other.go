//go:build !linux

package rotate

import "os"

// dropPages does nothing here: the page cache is left to the system.
func dropPages(*os.File, int64, int64) {}
