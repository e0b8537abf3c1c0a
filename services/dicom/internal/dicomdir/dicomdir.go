// Package dicomdir writes and reads DICOMDIR files (PS3.10 §7.2, PS3.3
// Annex F): the directory of a DICOM file-set, in explicit VR little endian,
// with directory records linked by byte offsets.
package dicomdir

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Well-known UIDs.
const (
	MediaStorageDirectory = "1.2.840.10008.1.3.10"
	ExplicitVRLittle      = "1.2.840.10008.1.2.1"
	// ImplementationClassUID identifies this writer (a 2.25 UUID-derived UID).
	ImplementationClassUID = "2.25.207116284779386722431453431905526226385"
	ImplementationVersion  = "HANDOFF_DIR_1"
)

// Element is one data element of a directory record. Value holds the raw
// value bytes (unpadded text for string VRs); Items the items of an SQ.
type Element struct {
	Tag   uint32
	VR    string
	Value []byte
	Items [][]Element
}

// Str makes a string element.
func Str(tag uint32, vr, v string) Element { return Element{Tag: tag, VR: vr, Value: []byte(v)} }

// Record is one directory record and the records below it.
type Record struct {
	Type     string // PATIENT, STUDY, SERIES, IMAGE, SR DOCUMENT, ...
	Elements []Element
	Children []*Record
}

// Get returns the string value of a tag of the record, trimmed.
func (r *Record) Get(tag uint32) string {
	for _, e := range r.Elements {
		if e.Tag == tag {
			return strings.TrimRight(string(e.Value), " \x00")
		}
	}
	return ""
}

// Tags used by directory records.
const (
	TagFileSetID          = 0x00041130
	TagFirstRecord        = 0x00041200
	TagLastRecord         = 0x00041202
	TagConsistencyFlag    = 0x00041212
	TagRecordSequence     = 0x00041220
	TagNextRecord         = 0x00041400
	TagInUse              = 0x00041410
	TagLowerRecord        = 0x00041420
	TagRecordType         = 0x00041430
	TagReferencedFileID   = 0x00041500
	TagReferencedSOPClass = 0x00041510
	TagReferencedSOPInst  = 0x00041511
	TagReferencedTS       = 0x00041512
	tagItem               = 0xFFFEE000
	tagItemDelim          = 0xFFFEE00D
	tagSeqDelim           = 0xFFFEE0DD
)

func longVR(vr string) bool {
	switch vr {
	case "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV":
		return true
	}
	return false
}

// encodeElement appends one explicit VR LE element to b.
func encodeElement(b []byte, e Element) ([]byte, error) {
	if len(e.VR) != 2 {
		return nil, fmt.Errorf("element (%04X,%04X): bad VR %q", e.Tag>>16, e.Tag&0xFFFF, e.VR)
	}
	var val []byte
	if e.VR == "SQ" {
		for _, it := range e.Items {
			body, err := encodeItemBody(it)
			if err != nil {
				return nil, err
			}
			val = binary.LittleEndian.AppendUint16(val, 0xFFFE)
			val = binary.LittleEndian.AppendUint16(val, 0xE000)
			val = binary.LittleEndian.AppendUint32(val, uint32(len(body)))
			val = append(val, body...)
		}
	} else {
		val = e.Value
		if len(val)%2 == 1 {
			pad := byte(' ')
			if e.VR == "UI" || e.VR == "OB" || e.VR == "UN" {
				pad = 0
			}
			val = append(slices.Clip(val), pad)
		}
	}
	b = binary.LittleEndian.AppendUint16(b, uint16(e.Tag>>16))
	b = binary.LittleEndian.AppendUint16(b, uint16(e.Tag))
	b = append(b, e.VR...)
	if longVR(e.VR) {
		b = append(b, 0, 0)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(val)))
	} else {
		if len(val) > 0xFFFF {
			return nil, fmt.Errorf("element (%04X,%04X): value of %d bytes too long for %s", e.Tag>>16, e.Tag&0xFFFF, len(val), e.VR)
		}
		b = binary.LittleEndian.AppendUint16(b, uint16(len(val)))
	}
	return append(b, val...), nil
}

// encodeItemBody encodes elements in ascending tag order.
func encodeItemBody(els []Element) ([]byte, error) {
	els = slices.Clone(els)
	slices.SortStableFunc(els, func(a, b Element) int { return int(int64(a.Tag) - int64(b.Tag)) })
	var b []byte
	var err error
	for i, e := range els {
		if i > 0 && els[i-1].Tag == e.Tag {
			return nil, fmt.Errorf("element (%04X,%04X) twice in one item", e.Tag>>16, e.Tag&0xFFFF)
		}
		if b, err = encodeElement(b, e); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func ul(tag uint32, v uint32) Element {
	return Element{Tag: tag, VR: "UL", Value: binary.LittleEndian.AppendUint32(nil, v)}
}

func us(tag uint32, v uint16) Element {
	return Element{Tag: tag, VR: "US", Value: binary.LittleEndian.AppendUint16(nil, v)}
}

// Write writes a DICOMDIR for the record trees roots (usually PATIENT
// records) with the given file-set ID and Media Storage SOP Instance UID.
func Write(w io.Writer, fileSetID, instanceUID string, roots []*Record) error {
	b, err := Encode(fileSetID, instanceUID, roots)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// flat is a record in the order it is written.
type flat struct {
	r          *Record
	body       []byte
	start      int // offset of the item tag from the start of the file
	next       int // index of the next sibling, -1
	lower      int // index of the first child, -1
	nextAt     int // offsets of the UL values within body
	lowerAt    int
	parentNext int
}

// Encode returns the bytes of a DICOMDIR (see Write).
func Encode(fileSetID, instanceUID string, roots []*Record) ([]byte, error) {
	var recs []*flat
	var walk func(list []*Record, depth int) (first int, err error)
	walk = func(list []*Record, depth int) (int, error) {
		if depth > 16 {
			return -1, errors.New("directory records nested deeper than 16")
		}
		first, prev := -1, -1
		for _, r := range list {
			if r == nil {
				continue
			}
			i := len(recs)
			recs = append(recs, &flat{r: r, next: -1, lower: -1})
			if prev >= 0 {
				recs[prev].next = i
			} else {
				first = i
			}
			prev = i
			low, err := walk(r.Children, depth+1)
			if err != nil {
				return -1, err
			}
			recs[i].lower = low
		}
		return first, nil
	}
	if _, err := walk(roots, 0); err != nil {
		return nil, err
	}
	// Encode bodies with zero offsets; remember where the offsets go.
	for _, f := range recs {
		els := []Element{ul(TagNextRecord, 0), us(TagInUse, 0xFFFF), ul(TagLowerRecord, 0), Str(TagRecordType, "CS", f.r.Type)}
		for _, e := range f.r.Elements {
			switch e.Tag {
			case TagNextRecord, TagInUse, TagLowerRecord, TagRecordType:
				continue
			}
			els = append(els, e)
		}
		body, err := encodeItemBody(els)
		if err != nil {
			return nil, err
		}
		f.body = body
		f.nextAt = 8               // (0004,1400) UL is the first element: 8-byte header
		f.lowerAt = 8 + 4 + 10 + 8 // then (0004,1410) US (10 bytes), then (0004,1420) UL
	}
	meta, err := encodeMeta(instanceUID)
	if err != nil {
		return nil, err
	}
	var head []byte
	head = append(head, make([]byte, 128)...)
	head = append(head, "DICM"...)
	head = append(head, meta...)
	ds := []Element{
		Str(TagFileSetID, "CS", fileSetID),
		ul(TagFirstRecord, 0),
		ul(TagLastRecord, 0),
		us(TagConsistencyFlag, 0),
	}
	firstAt := 0
	for _, e := range ds {
		if e.Tag == TagFirstRecord {
			firstAt = len(head) + 8
		}
		if head, err = encodeElement(head, e); err != nil {
			return nil, err
		}
	}
	lastAt := firstAt + 12
	seqLen := 0
	for _, f := range recs {
		seqLen += 8 + len(f.body)
	}
	head = binary.LittleEndian.AppendUint16(head, 0x0004)
	head = binary.LittleEndian.AppendUint16(head, 0x1220)
	head = append(head, 'S', 'Q', 0, 0)
	head = binary.LittleEndian.AppendUint32(head, uint32(seqLen))
	pos := len(head)
	for _, f := range recs {
		f.start = pos
		pos += 8 + len(f.body)
	}
	out := make([]byte, 0, pos)
	out = append(out, head...)
	// Root entity: first and last record of the top-level chain.
	if len(recs) > 0 {
		binary.LittleEndian.PutUint32(out[firstAt:], uint32(recs[0].start))
		last := 0
		for last >= 0 && recs[last].next >= 0 {
			last = recs[last].next
		}
		binary.LittleEndian.PutUint32(out[lastAt:], uint32(recs[last].start))
	}
	for _, f := range recs {
		if f.next >= 0 {
			binary.LittleEndian.PutUint32(f.body[f.nextAt:], uint32(recs[f.next].start))
		}
		if f.lower >= 0 {
			binary.LittleEndian.PutUint32(f.body[f.lowerAt:], uint32(recs[f.lower].start))
		}
		out = binary.LittleEndian.AppendUint16(out, 0xFFFE)
		out = binary.LittleEndian.AppendUint16(out, 0xE000)
		out = binary.LittleEndian.AppendUint32(out, uint32(len(f.body)))
		out = append(out, f.body...)
	}
	return out, nil
}

// encodeMeta encodes the file meta group with its group length.
func encodeMeta(instanceUID string) ([]byte, error) {
	return EncodeMeta(MediaStorageDirectory, instanceUID, ExplicitVRLittle)
}

// EncodeMeta encodes a Part 10 file meta group (without preamble and marker).
func EncodeMeta(sopClass, sopInstance, ts string) ([]byte, error) {
	els := []Element{
		{Tag: 0x00020001, VR: "OB", Value: []byte{0, 1}},
		Str(0x00020002, "UI", sopClass),
		Str(0x00020003, "UI", sopInstance),
		Str(0x00020010, "UI", ts),
		Str(0x00020012, "UI", ImplementationClassUID),
		Str(0x00020013, "SH", ImplementationVersion),
	}
	body, err := encodeItemBody(els)
	if err != nil {
		return nil, err
	}
	out, err := encodeElement(nil, ul(0x00020000, uint32(len(body))))
	if err != nil {
		return nil, err
	}
	return append(out, body...), nil
}

// Part10Header returns preamble, marker and file meta for an instance.
func Part10Header(sopClass, sopInstance, ts string) ([]byte, error) {
	meta, err := EncodeMeta(sopClass, sopInstance, ts)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 132, 132+len(meta))
	copy(out[128:], "DICM")
	return append(out, meta...), nil
}

// ErrFormat is wrapped by every error of Read.
var ErrFormat = errors.New("not a valid DICOMDIR")

// File is a DICOMDIR as read.
type File struct {
	FileSetID   string
	InstanceUID string
	TS          string
	Roots       []*Record
}

// Read parses a DICOMDIR held in b. It follows the record offsets from the
// root, checking that every offset points at a record and that no record is
// reached twice.
func Read(b []byte) (*File, error) {
	if len(b) < 132+12 || string(b[128:132]) != "DICM" {
		return nil, fmt.Errorf("no preamble: %w", ErrFormat)
	}
	r := &reader{b: b, pos: 132}
	f := &File{}
	// File meta.
	gl, err := r.element()
	if err != nil || gl.Tag != 0x00020000 || len(gl.Value) != 4 {
		return nil, fmt.Errorf("no file meta group length: %w", ErrFormat)
	}
	end := r.pos + int(binary.LittleEndian.Uint32(gl.Value))
	if end > len(b) || end < r.pos {
		return nil, fmt.Errorf("file meta group length: %w", ErrFormat)
	}
	for r.pos < end {
		e, err := r.element()
		if err != nil {
			return nil, err
		}
		switch e.Tag {
		case 0x00020003:
			f.InstanceUID = trim(e.Value)
		case 0x00020010:
			f.TS = trim(e.Value)
		}
	}
	if f.TS != ExplicitVRLittle {
		return nil, fmt.Errorf("transfer syntax %q, want explicit VR little endian: %w", f.TS, ErrFormat)
	}
	var first uint32
	haveFirst := false
	items := map[int][]Element{} // item start offset → elements
	for r.pos < len(b) {
		start := r.pos
		e, err := r.element()
		if err != nil {
			return nil, err
		}
		switch e.Tag {
		case TagFileSetID:
			f.FileSetID = trim(e.Value)
		case TagFirstRecord:
			if len(e.Value) == 4 {
				first, haveFirst = binary.LittleEndian.Uint32(e.Value), true
			}
		case TagRecordSequence:
			for i, it := range e.Items {
				items[e.itemStarts[i]] = it
			}
		}
		_ = start
	}
	if !haveFirst {
		return nil, fmt.Errorf("no offset of the first directory record: %w", ErrFormat)
	}
	seen := map[int]bool{}
	var build func(off uint32, depth int) ([]*Record, error)
	build = func(off uint32, depth int) ([]*Record, error) {
		var out []*Record
		for off != 0 {
			if depth > 16 {
				return nil, fmt.Errorf("records nested too deep: %w", ErrFormat)
			}
			els, ok := items[int(off)]
			if !ok {
				return nil, fmt.Errorf("offset %d is not a directory record: %w", off, ErrFormat)
			}
			if seen[int(off)] {
				return nil, fmt.Errorf("record at %d reached twice: %w", off, ErrFormat)
			}
			seen[int(off)] = true
			rec := &Record{}
			var next, lower uint32
			for _, e := range els {
				switch e.Tag {
				case TagNextRecord:
					next = u32(e.Value)
				case TagLowerRecord:
					lower = u32(e.Value)
				case TagRecordType:
					rec.Type = trim(e.Value)
				case TagInUse:
				default:
					rec.Elements = append(rec.Elements, e)
				}
			}
			if rec.Type == "" {
				return nil, fmt.Errorf("record at %d has no type: %w", off, ErrFormat)
			}
			kids, err := build(lower, depth+1)
			if err != nil {
				return nil, err
			}
			rec.Children = kids
			out = append(out, rec)
			off = next
		}
		return out, nil
	}
	if f.Roots, err = build(first, 0); err != nil {
		return nil, err
	}
	return f, nil
}

func u32(v []byte) uint32 {
	if len(v) != 4 {
		return 0
	}
	return binary.LittleEndian.Uint32(v)
}

func trim(v []byte) string { return strings.TrimRight(string(v), " \x00") }

type reader struct {
	b     []byte
	pos   int
	depth int
}

// readElement is an element as read, with the file offsets of its items.
type readElement struct {
	Element
	Items      [][]Element
	itemStarts []int
}

func (r *reader) need(n int) error {
	if n < 0 || r.pos+n > len(r.b) || r.pos+n < r.pos {
		return fmt.Errorf("truncated at %d: %w", r.pos, ErrFormat)
	}
	return nil
}

// element reads one explicit VR LE element (items of SQ included).
func (r *reader) element() (readElement, error) {
	if err := r.need(8); err != nil {
		return readElement{}, err
	}
	b := r.b[r.pos:]
	tag := uint32(binary.LittleEndian.Uint16(b))<<16 | uint32(binary.LittleEndian.Uint16(b[2:]))
	vr := string(b[4:6])
	var length uint32
	if longVR(vr) {
		if err := r.need(12); err != nil {
			return readElement{}, err
		}
		length = binary.LittleEndian.Uint32(b[8:])
		r.pos += 12
	} else {
		if vr[0] < 'A' || vr[0] > 'Z' || vr[1] < 'A' || vr[1] > 'Z' {
			return readElement{}, fmt.Errorf("bad VR at %d: %w", r.pos, ErrFormat)
		}
		length = uint32(binary.LittleEndian.Uint16(b[6:]))
		r.pos += 8
	}
	e := readElement{Element: Element{Tag: tag, VR: vr}}
	if vr == "SQ" {
		if err := r.sequence(&e, length); err != nil {
			return readElement{}, err
		}
		e.Element.Items = e.Items
		return e, nil
	}
	if length == 0xFFFFFFFF {
		return readElement{}, fmt.Errorf("undefined length outside a sequence: %w", ErrFormat)
	}
	if err := r.need(int(length)); err != nil {
		return readElement{}, err
	}
	e.Value = r.b[r.pos : r.pos+int(length)]
	r.pos += int(length)
	return e, nil
}

func (r *reader) sequence(e *readElement, length uint32) error {
	r.depth++
	defer func() { r.depth-- }()
	if r.depth > 8 {
		return fmt.Errorf("sequences nested too deep: %w", ErrFormat)
	}
	end := -1
	if length != 0xFFFFFFFF {
		if err := r.need(int(length)); err != nil {
			return err
		}
		end = r.pos + int(length)
	}
	for end < 0 || r.pos < end {
		if err := r.need(8); err != nil {
			return err
		}
		start := r.pos
		tag := uint32(binary.LittleEndian.Uint16(r.b[r.pos:]))<<16 | uint32(binary.LittleEndian.Uint16(r.b[r.pos+2:]))
		ilen := binary.LittleEndian.Uint32(r.b[r.pos+4:])
		r.pos += 8
		if tag == tagSeqDelim {
			if end >= 0 {
				return fmt.Errorf("sequence delimiter in a defined-length sequence: %w", ErrFormat)
			}
			return nil
		}
		if tag != tagItem {
			return fmt.Errorf("(%04X,%04X) in a sequence: %w", tag>>16, tag&0xFFFF, ErrFormat)
		}
		var els []Element
		if ilen == 0xFFFFFFFF {
			for {
				if err := r.need(8); err != nil {
					return err
				}
				if binary.LittleEndian.Uint32(r.b[r.pos:]) == 0xE00DFFFE {
					r.pos += 8
					break
				}
				c, err := r.element()
				if err != nil {
					return err
				}
				els = append(els, c.Element)
			}
		} else {
			if err := r.need(int(ilen)); err != nil {
				return err
			}
			iend := r.pos + int(ilen)
			for r.pos < iend {
				c, err := r.element()
				if err != nil {
					return err
				}
				els = append(els, c.Element)
			}
			if r.pos != iend {
				return fmt.Errorf("item overruns its length: %w", ErrFormat)
			}
		}
		e.Items = append(e.Items, els)
		e.itemStarts = append(e.itemStarts, start)
	}
	if r.pos != end {
		return fmt.Errorf("sequence overruns its length: %w", ErrFormat)
	}
	return nil
}

// Equal reports whether two record trees hold the same records and values
// (value padding ignored).
func Equal(a, b []*Record) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Type != b[i].Type || !elementsEqual(a[i].Elements, b[i].Elements) || !Equal(a[i].Children, b[i].Children) {
			return false
		}
	}
	return true
}

func elementsEqual(a, b []Element) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Tag != b[i].Tag || a[i].VR != b[i].VR || !bytes.Equal(bytes.TrimRight(a[i].Value, " \x00"), bytes.TrimRight(b[i].Value, " \x00")) || len(a[i].Items) != len(b[i].Items) {
			return false
		}
		for j := range a[i].Items {
			if !elementsEqual(a[i].Items[j], b[i].Items[j]) {
				return false
			}
		}
	}
	return true
}

// EncodeDataSet encodes elements (sorted by tag) as an explicit VR little
// endian data set.
func EncodeDataSet(els []Element) ([]byte, error) { return encodeItemBody(els) }
