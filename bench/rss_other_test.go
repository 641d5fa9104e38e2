//go:build !linux

package bench

import "os"

// maxRSS is unknown off Linux, where ru_maxrss has other units or none.
func maxRSS(*os.ProcessState) (kib int64, ok bool) { return 0, false }
