package checklist

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/services/intake/internal/understand"
)

// BenchmarkCompute understands ten documents (the understand package's
// fixtures) and computes the report of a case holding them and a DICOM
// series: the in-process work behind one report of a ten-document case.
func BenchmarkCompute(b *testing.B) {
	names, err := filepath.Glob("../understand/testdata/*.txt")
	if err != nil || len(names) < 10 {
		b.Fatalf("fixtures: %v (%d)", err, len(names))
	}
	var texts []string
	for _, n := range names[:10] {
		t, err := os.ReadFile(n)
		if err != nil {
			b.Fatal(err)
		}
		texts = append(texts, string(t))
	}
	an := understand.New()
	k := New()
	c, dicom := complete()
	b.ReportAllocs()
	for b.Loop() {
		files := append([]record.File(nil), dicom[:3]...)
		for i, t := range texts {
			d := an.Analyze(understand.Input{Type: record.TypePDF, Pages: understand.SplitPages(t)})
			files = append(files, docFile(string(rune('a'+i))+"doc", d))
		}
		_ = k.Compute(c, files, nil, refTime)
	}
}
