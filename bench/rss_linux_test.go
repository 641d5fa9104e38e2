package bench

import (
	"os"
	"syscall"
)

// maxRSS is the peak resident set of an exited child, in KiB (Linux reports
// ru_maxrss in KiB).
func maxRSS(ps *os.ProcessState) (kib int64, ok bool) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return 0, false
	}
	return ru.Maxrss, true
}
