package ccda_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/handoffmed/handoff/platform/ccda"
)

// BenchmarkRead reads every corpus document once per iteration.
func BenchmarkRead(b *testing.B) {
	var docs [][]byte
	var size int64
	for _, f := range corpusFiles(b) {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		docs = append(docs, data)
		size += int64(len(data))
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		for _, d := range docs {
			if _, err := ccda.Read(bytes.NewReader(d), ccda.Options{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(docs)*b.N)/b.Elapsed().Seconds(), "docs/s")
}
