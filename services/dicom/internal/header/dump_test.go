package header

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDumpCorpus(t *testing.T) {
	if os.Getenv("DUMP") == "" {
		t.Skip()
	}
	filepath.Walk("../../../../../shared/corpus/dicom-peer", func(p string, i os.FileInfo, err error) error {
		if !i.Mode().IsRegular() {
			return nil
		}
		f, _ := os.Open(p)
		defer f.Close()
		h, err := Read(f, i.Size(), Options{})
		rel, _ := filepath.Rel("../../../../../shared/corpus/dicom-peer", p)
		if h == nil {
			t.Logf("%s: ERR %v", rel, err)
			return nil
		}
		t.Logf("%s: err=%v ts=%s meta=%s/%v inf=%v pid=%q name=%q st=%s se=%s sop=%s n=%s br=%d/%d w=%q", rel, err, h.TransferSyntax, h.MetaParser, h.Preamble, h.TSInferred, h.PatientID, h.PatientName, h.StudyUID, h.SeriesUID, h.SOPInstanceUID, h.InstanceNumber, h.BytesRead, i.Size(), h.Warnings)
		return nil
	})
}
