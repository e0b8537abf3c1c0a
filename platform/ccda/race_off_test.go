//go:build !race

package ccda

// raceOn: the race detector makes big copies slow, so the tests that move
// tens of megabytes use smaller sizes under it.
const raceOn = false
