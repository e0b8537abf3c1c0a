package dicomdir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzRead: Read never panics, and whatever it reads survives a write and
// a second read unchanged.
func FuzzRead(f *testing.F) {
	for _, name := range []string{"DICOMDIR", "TINY_ALPHA/DICOMDIR", "DICOMDIR-empty.dcm", "DICOMDIR-reordered", "DICOMDIR-nooffset", "DICOMDIR-nopatient"} {
		if b, err := os.ReadFile(filepath.Join(corpus, name)); err == nil {
			f.Add(b)
		}
	}
	if b, err := Encode("SEED", "1.2.3", sampleTree("Doe^Jane", "ID1", 3)); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Read(data)
		if err != nil {
			return
		}
		out, err := Encode(d.FileSetID, d.InstanceUID, d.Roots)
		if err != nil {
			return // e.g. a value too long for its VR: not writable, and not written
		}
		d2, err := Read(out)
		if err != nil {
			t.Fatalf("re-read of our own output: %v", err)
		}
		if !Equal(d.Roots, d2.Roots) {
			t.Fatal("round trip changed the records")
		}
	})
}

func sampleTree(name, id string, n int) []*Record {
	p := &Record{Type: "PATIENT", Elements: []Element{Str(0x00100010, "PN", name), Str(0x00100020, "LO", id)}}
	st := &Record{Type: "STUDY", Elements: []Element{Str(0x0020000D, "UI", "1.2.3.4")}}
	se := &Record{Type: "SERIES", Elements: []Element{Str(0x00080060, "CS", "MR")}}
	p.Children = []*Record{st}
	st.Children = []*Record{se}
	for i := range n {
		se.Children = append(se.Children, &Record{Type: "IMAGE", Elements: []Element{
			Str(TagReferencedFileID, "CS", `DICOM\IM`+strings.Repeat("0", i%4)),
			{Tag: 0x0040A043, VR: "SQ", Items: [][]Element{{Str(0x00080100, "SH", "X")}}},
		}})
	}
	return []*Record{p}
}

// FuzzWrite: any tree built from fuzzed values is written and read back
// unchanged, with offsets that resolve.
func FuzzWrite(f *testing.F) {
	f.Add("Doe^Jane", "ID1", uint8(3), uint8(2))
	f.Add("", "", uint8(0), uint8(0))
	f.Add("山田^太郎", "X\\Y", uint8(40), uint8(7))
	f.Fuzz(func(t *testing.T, name, id string, images, patients uint8) {
		var roots []*Record
		for range int(patients%8) + 1 {
			roots = append(roots, sampleTree(name, id, int(images%64))...)
		}
		out, err := Encode("FUZZ", "1.2.3", roots)
		if err != nil {
			if len(name) < 0xFFF0 && len(id) < 0xFFF0 {
				t.Fatalf("encode: %v", err)
			}
			return
		}
		d, err := Read(out)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if !Equal(trimmed(roots), d.Roots) {
			t.Fatal("round trip changed the records")
		}
	})
}

// trimmed is the tree as it reads back: values lose trailing padding only.
func trimmed(rs []*Record) []*Record { return rs }
