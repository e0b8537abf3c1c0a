package obs

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestLoggerRedactsFileNames(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, "json", "debug").With("key", "cases/abcdefgh12345678/uploads/Jane Doe/MRI.zip")
	log.Warn("put cases/abcdefgh12345678/archives/qqqqrrrr/Smith_John_labs.pdf failed",
		"err", errors.New(`get handoff-intake/cases/abcdefgh12345678/uploads/Doe_Jane.pdf: timeout`),
		"case_id", "abcdefgh12345678")
	out := buf.String()
	for _, leak := range []string{"Jane", "Doe", "Smith", "MRI.zip"} {
		if strings.Contains(out, leak) {
			t.Errorf("log leaks %q: %s", leak, out)
		}
	}
	for _, keep := range []string{"cases/abcdefgh12345678/uploads/…", "cases/abcdefgh12345678/archives/qqqqrrrr/…", `"case_id":"abcdefgh12345678"`, "timeout"} {
		if !strings.Contains(out, keep) {
			t.Errorf("log lost %q: %s", keep, out)
		}
	}
}
