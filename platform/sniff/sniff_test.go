package sniff

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/handoffmed/handoff/platform/record"
)

func TestDetect(t *testing.T) {
	preamble := make([]byte, 132)
	copy(preamble[128:], "DICM")
	tests := []struct {
		name string
		head []byte
		want string
	}{
		{"empty", nil, record.TypeUnknown},
		{"dicom with preamble", append(preamble, 2, 0, 0, 0, 'U', 'L', 4, 0), record.TypeDICOM},
		{"dicomdir", append(append([]byte{}, preamble...), []byte("\x02\x00\x02\x00UI\x14\x001.2.840.10008.1.3.10\x00")...), record.TypeDICOMDIR},
		{"dicom without preamble, explicit", []byte("\x08\x00\x05\x00CS\x0a\x00ISO_IR 100\x08\x00\x08\x00"), record.TypeDICOM},
		{"dicom without preamble, implicit", []byte("\x08\x00\x16\x00\x06\x00\x00\x001.2.34\x08\x00\x18\x00\x04\x00\x00\x001.23"), record.TypeDICOM},
		{"pdf", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), record.TypePDF},
		{"pdf after junk", []byte("\r\n\r\n%PDF-1.4"), record.TypePDF},
		{"jpeg", []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F'}, record.TypeJPEG},
		{"png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), record.TypePNG},
		{"tiff le", []byte("II*\x00\x08\x00\x00\x00"), record.TypeTIFF},
		{"tiff be", []byte("MM\x00*\x00\x00\x00\x08"), record.TypeTIFF},
		{"zip", []byte("PK\x03\x04\x14\x00\x00\x00"), record.TypeZIP},
		{"empty zip", []byte("PK\x05\x06\x00\x00"), record.TypeZIP},
		{"docx", []byte("PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml"), TypeOOXML},
		{"heic", []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00"), TypeHEIC},
		{"exe", []byte("MZ\x90\x00\x03\x00"), TypeExecutable},
		{"text", []byte("Patient: Jane Doe\nDOB: 01/02/1960\n"), record.TypeText},
		{"latin-1 text", []byte("R\xe9sultats d'analyse\n"), record.TypeText},
		{"binary", []byte{1, 2, 3, 4, 0, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, record.TypeUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Detect(tc.head); got != tc.want {
				t.Errorf("Detect = %q, want %q", got, tc.want)
			}
		})
	}
}

// Every file of the shared DICOM corpus that has the DICM marker or is a
// known preamble-less data set sniffs as DICOM; the corpus's text file does not.
func TestDetectDICOMCorpus(t *testing.T) {
	root := filepath.Join("..", "..", "testdata", "corpus", "dicom-peer")
	for _, name := range []string{"pydicom/CT_small.dcm", "pydicom/ExplVR_LitEndNoMeta.dcm",
		"pydicom/ExplVR_BigEndNoMeta.dcm", "pydicom/rtstruct.dcm", "pydicom/MR_small_bigendian.dcm"} {
		head := readHead(t, filepath.Join(root, name))
		if got := Detect(head); got != record.TypeDICOM {
			t.Errorf("%s: Detect = %q, want dicom", name, got)
		}
	}
	if got := Detect(readHead(t, filepath.Join(root, "pydicom/dicomdirtests/DICOMDIR"))); got != record.TypeDICOMDIR {
		t.Errorf("DICOMDIR: Detect = %q, want dicomdir", got)
	}
	if got := Detect(readHead(t, filepath.Join(root, "pydicom/charset/FileInfo.txt"))); got != record.TypeText {
		t.Errorf("FileInfo.txt: Detect = %q, want text", got)
	}
}

func readHead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("corpus: %v", err)
	}
	return b[:min(len(b), HeadSize)]
}

func FuzzDetect(f *testing.F) {
	f.Add([]byte("%PDF-1.4"))
	f.Add([]byte("\x08\x00\x05\x00CS\x0a\x00ISO_IR 100"))
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, head []byte) {
		_ = Detect(head)
	})
}
