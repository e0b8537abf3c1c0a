package casestore

import "time"

// SetWatchStall sets how long a listing waits for its next value until the
// test ends.
func SetWatchStall(t interface{ Cleanup(func()) }, d time.Duration) {
	old := watchStall
	watchStall = d
	t.Cleanup(func() { watchStall = old })
}
