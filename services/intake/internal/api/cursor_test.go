package api

import (
	"testing"
	"time"
)

// A cursor the API gave parses back to itself; anything else fails or
// parses without panicking.
func FuzzParseCursor(f *testing.F) {
	f.Add(cursor{time.Date(2026, 11, 2, 10, 0, 0, 5, time.UTC), "abcd1234"}.String())
	f.Add("")
	f.Add("!!!")
	f.Add("MjAyNi0xMS0wMlQxMDowMDowMFp8QUJD")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseCursor(s)
		if err != nil {
			return
		}
		again, err := parseCursor(c.String())
		if err != nil || !again.created.Equal(c.created) || again.id != c.id {
			t.Fatalf("cursor %q does not round-trip: %v %v", s, again, err)
		}
	})
}
