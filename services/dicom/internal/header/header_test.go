package header

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"testing"
)

func el(b []byte, g, e uint16, vr string, v []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, g)
	b = binary.LittleEndian.AppendUint16(b, e)
	b = append(b, vr...)
	if longVR(vr[0], vr[1]) {
		b = append(b, 0, 0)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
	} else {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(v)))
	}
	return append(b, v...)
}

func rawEl(b []byte, g, e uint16, vr string, length uint32) []byte {
	b = binary.LittleEndian.AppendUint16(b, g)
	b = binary.LittleEndian.AppendUint16(b, e)
	b = append(b, vr...)
	b = append(b, 0, 0)
	return binary.LittleEndian.AppendUint32(b, length)
}

// part10 builds preamble, meta and an explicit VR LE data set start.
func part10(ds []byte) []byte {
	var meta []byte
	meta = el(meta, 2, 0x0010, "UI", []byte("1.2.840.10008.1.2.1\x00"))
	b := make([]byte, 128, 1024)
	b = append(b, "DICM"...)
	b = el(b, 2, 0, "UL", binary.LittleEndian.AppendUint32(nil, uint32(len(meta))))
	b = append(b, meta...)
	return append(b, ds...)
}

func ident() []byte {
	var ds []byte
	ds = el(ds, 8, 0x0018, "UI", []byte("1.2.3.4\x00"))
	ds = el(ds, 0x10, 0x0010, "PN", []byte("Doe^Jane^^^="))
	ds = el(ds, 0x20, 0x000D, "UI", []byte("1.2.3\x00"))
	ds = el(ds, 0x20, 0x000E, "UI", []byte("1.2.3.5\x00"))
	return ds
}

func TestGuards(t *testing.T) {
	lying := append(ident(), rawEl(nil, 0x0029, 0x1010, "OB", 0xFFFFFFF0)...)
	lyingFirst := part10(rawEl(nil, 0x0008, 0x1010, "UT", 0xFFFFFFF0))
	tests := []struct {
		name    string
		data    []byte
		size    int64
		opt     Options
		wantErr error
		trunc   bool
	}{
		{"text file", []byte("hello, this is not DICOM at all, just some text"), -1, Options{}, ErrNotDICOM, false},
		{"too small", []byte("DICM"), -1, Options{}, ErrNotDICOM, false},
		{"size cap", part10(ident()), 10 << 30, Options{}, ErrTooLarge, false},
		{"header cap", part10(append(ident(), el(nil, 0x0029, 0x1010, "OB", make([]byte, 8192))...)), -1, Options{MaxHeader: 4096}, ErrHeaderTooLarge, false},
		{"lying length after identity", part10(lying), -2, Options{}, nil, true},
		{"lying length before identity", lyingFirst, -2, Options{}, ErrLength, false},
		{"no preamble", ident(), -2, Options{}, nil, false},
		{"stray leading byte", append([]byte{0x20}, ident()...), -2, Options{}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			size := tc.size
			if size == -2 {
				size = int64(len(tc.data))
			}
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			h, err := Read(bytes.NewReader(tc.data), size, tc.opt)
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if grown := after.TotalAlloc - before.TotalAlloc; grown > 4<<20 {
				t.Errorf("allocated %d bytes", grown)
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got err %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got err %v", err)
			}
			if h.SOPInstanceUID != "1.2.3.4" || h.PatientName != "Doe^Jane" {
				t.Errorf("got %q %q", h.SOPInstanceUID, h.PatientName)
			}
			if h.Truncated != tc.trunc {
				t.Errorf("got truncated %v, want %v", h.Truncated, tc.trunc)
			}
		})
	}
}

// TestStopsAtPixelData: the pixel data is never read.
func TestStopsAtPixelData(t *testing.T) {
	obj := part10(ident())
	obj = rawEl(obj, 0x7FE0, 0x0010, "OW", 1<<20)
	head := len(obj)
	obj = append(obj, make([]byte, 1<<20)...)
	h, err := Read(bytes.NewReader(obj), int64(len(obj)), Options{Chunk: 4096})
	if err != nil {
		t.Fatal(err)
	}
	if h.BytesRead > int64(head)+4096 {
		t.Errorf("read %d bytes, header is %d", h.BytesRead, head)
	}
	if h.PixelDataOffset != int64(head-12) {
		t.Errorf("pixel data at %d, want %d", h.PixelDataOffset, head-12)
	}
}

// TestUndefinedLengthSequences: nested undefined-length sequences and UN
// sequences (implicit VR inside) are walked to their delimiters.
func TestUndefinedLengthSequences(t *testing.T) {
	var ds []byte
	ds = el(ds, 8, 0x0016, "UI", []byte("1.2.840.10008.5.1.4.1.1.88.11\x00"))
	ds = el(ds, 8, 0x0018, "UI", []byte("1.2.3.4\x00"))
	ds = rawEl(ds, 0x0009, 0x1010, "UN", 0xFFFFFFFF) // private UN sequence: implicit LE items
	ds = binary.LittleEndian.AppendUint32(ds, 0xE000FFFE)
	ds = binary.LittleEndian.AppendUint32(ds, 0xFFFFFFFF)
	ds = binary.LittleEndian.AppendUint32(ds, 0x10100009) // (0009,1010) implicit, 4 bytes
	ds = binary.LittleEndian.AppendUint32(ds, 4)
	ds = append(ds, "abcd"...)
	ds = binary.LittleEndian.AppendUint32(ds, 0xE00DFFFE)
	ds = binary.LittleEndian.AppendUint32(ds, 0)
	ds = binary.LittleEndian.AppendUint32(ds, 0xE0DDFFFE)
	ds = binary.LittleEndian.AppendUint32(ds, 0)
	ds = el(ds, 0x20, 0x000D, "UI", []byte("1.2.3\x00"))
	ds = el(ds, 0x20, 0x000E, "UI", []byte("1.2.3.5\x00"))
	ds = rawEl(ds, 0x0040, 0xA043, "SQ", 0xFFFFFFFF)
	ds = binary.LittleEndian.AppendUint32(ds, 0xE000FFFE)
	ds = binary.LittleEndian.AppendUint32(ds, 0xFFFFFFFF)
	ds = el(ds, 8, 0x0100, "SH", []byte("11528-7 "))
	ds = el(ds, 8, 0x0102, "SH", []byte("LN"))
	ds = binary.LittleEndian.AppendUint32(ds, 0xE00DFFFE)
	ds = binary.LittleEndian.AppendUint32(ds, 0)
	ds = binary.LittleEndian.AppendUint32(ds, 0xE0DDFFFE)
	ds = binary.LittleEndian.AppendUint32(ds, 0)
	ds = el(ds, 0x0040, 0xA491, "CS", []byte("COMPLETE"))
	obj := part10(ds)
	h, err := Read(bytes.NewReader(obj), int64(len(obj)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if h.StudyUID != "1.2.3" || h.CompletionFlag != "COMPLETE" || h.ConceptName == nil || h.ConceptName.Value != "11528-7" {
		t.Errorf("got study %q, flag %q, concept %+v", h.StudyUID, h.CompletionFlag, h.ConceptName)
	}
}
