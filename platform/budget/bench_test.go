package budget

import (
	"fmt"
	"testing"
)

// BenchmarkTakeAll is one DICOM instance's charge, uncontended.
func BenchmarkTakeAll(b *testing.B) {
	s := newStore(b)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		c := Charge{CaseID: "case0001", Purpose: "dicom", FileID: fmt.Sprintf("file%06d", i), ETag: "e"}
		if _, err := s.TakeAll(b.Context(), c, Amounts{DICOMInstances: 1, DICOMBytes: 1 << 20}, Amounts{DICOMInstances: 1 << 40}); err != nil {
			b.Fatal(err)
		}
	}
}
