package dicom

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/services/dicom/internal/dicomdir"
)

// synthInstance is a DICOM MR instance whose pixel data (pixels bytes of
// zeros) is generated as it is read, so a 300 MB series costs no memory.
type synthInstance struct {
	head   []byte
	pixels int64
	off    int64
}

func newSynth(t testing.TB, series string, n int, pixels int64) *synthInstance {
	t.Helper()
	sop := fmt.Sprintf("1.2.826.0.1.3680043.10.1.%d", n)
	hdr, err := dicomdir.Part10Header("1.2.840.10008.5.1.4.1.1.4", sop, "1.2.840.10008.1.2.1")
	if err != nil {
		t.Fatal(err)
	}
	ds, err := dicomdir.EncodeDataSet([]dicomdir.Element{
		dicomdir.Str(0x00080016, "UI", "1.2.840.10008.5.1.4.1.1.4"),
		dicomdir.Str(0x00080018, "UI", sop),
		dicomdir.Str(0x00080020, "DA", "20260412"),
		dicomdir.Str(0x00080060, "CS", "MR"),
		dicomdir.Str(0x00100010, "PN", "Doe^Jane"),
		dicomdir.Str(0x00100020, "LO", "MRN1"),
		dicomdir.Str(0x00180015, "CS", "HIP"),
		dicomdir.Str(0x0020000D, "UI", "1.2.826.0.1.3680043.10.2"),
		dicomdir.Str(0x0020000E, "UI", series),
		dicomdir.Str(0x00200011, "IS", "3"),
		dicomdir.Str(0x00200013, "IS", fmt.Sprint(n)),
		dicomdir.Str(0x00200060, "CS", "R"),
		{Tag: 0x00280010, VR: "US", Value: []byte{0x00, 0x02}},
		{Tag: 0x00280011, VR: "US", Value: []byte{0x00, 0x02}},
		// A private block before the pixel data, as scanners write.
		{Tag: 0x00291010, VR: "OB", Value: bytes.Repeat([]byte{1}, 8000)},
	})
	if err != nil {
		t.Fatal(err)
	}
	px := binary.LittleEndian.AppendUint16(nil, 0x7FE0)
	px = binary.LittleEndian.AppendUint16(px, 0x0010)
	px = append(px, 'O', 'W', 0, 0)
	px = binary.LittleEndian.AppendUint32(px, uint32(pixels))
	head := append(append(hdr, ds...), px...)
	return &synthInstance{head: head, pixels: pixels}
}

func (s *synthInstance) size() int64 { return int64(len(s.head)) + s.pixels }

func (s *synthInstance) Read(p []byte) (int, error) {
	if s.off >= s.size() {
		return 0, io.EOF
	}
	n := 0
	if s.off < int64(len(s.head)) {
		n = copy(p, s.head[s.off:])
	}
	for n < len(p) && s.off+int64(n) < s.size() {
		p[n] = 0
		n++
	}
	s.off += int64(n)
	return n, nil
}

// TestLargeSeriesMemory indexes a 600-instance, ~300 MB series and checks
// that reading it costs memory that does not grow with the series, and
// reads no more than each header plus 64 KiB.
func TestLargeSeriesMemory(t *testing.T) {
	const instances, pixels = 600, 500_000
	heapAt := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	var total, read int64
	var items []Item
	var heap100, allocs100 uint64
	var ms runtime.MemStats
	for i := 1; i <= instances; i++ {
		src := newSynth(t, "1.2.826.0.1.3680043.10.3", i, pixels)
		total += src.size()
		h, err := Read(src, src.size(), ReadOptions{})
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
		hdrLen := int64(len(src.head))
		if got := h.Instance.HeaderBytes; got > hdrLen+64<<10 || got != src.off {
			t.Fatalf("instance %d: read %d bytes (counted %d), header is %d", i, src.off, got, hdrLen)
		}
		read += src.off
		items = append(items, Item{FileID: fmt.Sprintf("f%04d", i), Size: src.size(), Instance: h.Instance})
		if i == 100 {
			heap100 = heapAt()
			runtime.ReadMemStats(&ms)
			allocs100 = ms.TotalAlloc
		}
	}
	heap600 := heapAt()
	runtime.ReadMemStats(&ms)
	perInstance := (ms.TotalAlloc - allocs100) / (instances - 100)
	idx := BuildIndex("case", record.Patient{}, items, time.Now())
	t.Logf("series of %d instances, %.0f MB; read %.2f MB (%d bytes per instance); heap after 100: %d KiB, after 600: %d KiB; %d bytes allocated per instance",
		instances, float64(total)/1e6, float64(read)/1e6, read/instances, heap100>>10, heap600>>10, perInstance)
	if total < 290e6 {
		t.Fatalf("series is %d bytes, want about 300 MB", total)
	}
	// The retained index entries are the only growth: a few KiB per instance at most.
	if grow := int64(heap600) - int64(heap100); grow > 500*4<<10 {
		t.Errorf("heap grew %d KiB from instance 100 to 600", grow>>10)
	}
	// Garbage per instance stays near the bytes read (one 32 KiB read); the
	// race detector's bookkeeping roughly doubles it.
	if perInstance > 128<<10 {
		t.Errorf("%d bytes allocated per instance, want under 128 KiB", perInstance)
	}
	if len(idx.Studies) != 1 || idx.Studies[0].Series[0].Instances != instances {
		t.Fatalf("index: %+v", idx.Studies)
	}
	if got := idx.Studies[0].Folder; got != "2026-04-12_MRI_right_hip" {
		t.Errorf("folder %q, want 2026-04-12_MRI_right_hip", got)
	}
}
