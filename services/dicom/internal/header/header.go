// Package header reads the header of a DICOM object (everything before the
// pixel data) from a stream, tolerating the defects of real-world files, and
// never reading the pixel data.
//
// The Part 10 file meta information is parsed with
// github.com/suyashkumar/dicom's streaming parser after this package's guard
// has bounded it; where that parser fails (no preamble, no file meta, no
// group length, no transfer syntax) a tolerant reader of this package takes
// over. The data set itself is walked by this package's reader (see
// docs/adr/0002-dicom-header-parser.md).
package header

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/handoffmed/handoff/services/dicom/internal/charset"
)

// Transfer syntax UIDs.
const (
	ImplicitLE  = "1.2.840.10008.1.2"
	ExplicitLE  = "1.2.840.10008.1.2.1"
	DeflatedLE  = "1.2.840.10008.1.2.1.99"
	ExplicitBE  = "1.2.840.10008.1.2.2"
	DICOMDIRSOP = "1.2.840.10008.1.3.10"
)

// Errors a caller can branch on. Every error of Read wraps one of them or
// ErrMalformed.
var (
	ErrNotDICOM       = errors.New("not a DICOM object")
	ErrTooLarge       = errors.New("object larger than the size cap")
	ErrHeaderTooLarge = errors.New("header larger than the header cap")
	ErrLength         = errors.New("element length exceeds the object")
	ErrMalformed      = errors.New("malformed DICOM header")
	ErrTruncated      = errors.New("object truncated in its header")
	ErrNoIdentity     = errors.New("no SOP Instance UID, Study Instance UID or Series Instance UID")
)

// Options bound what Read may do. The zero value means the defaults.
type Options struct {
	// MaxObject is the largest object accepted (default 4 GiB).
	MaxObject int64
	// MaxHeader is the most bytes read before the pixel data (default 32 MiB).
	MaxHeader int64
	// Chunk is the read size (default 32 KiB, at most 64 KiB).
	Chunk int
	// Full reads the whole header up to the pixel data even for images
	// (by default an image's header is read only up to group 0028).
	Full bool
}

func (o Options) withDefaults() Options {
	if o.MaxObject <= 0 {
		o.MaxObject = 4 << 30
	}
	if o.MaxHeader <= 0 {
		o.MaxHeader = 32 << 20
	}
	if o.Chunk <= 0 {
		o.Chunk = 32 << 10
	}
	o.Chunk = min(o.Chunk, 64<<10)
	return o
}

// Code is one coded entry (a Code Sequence item).
type Code struct {
	Value, Scheme, Meaning string
}

// Header is what Read learned from one object.
type Header struct {
	Preamble       bool   // 128-byte preamble and "DICM"
	Meta           bool   // a file meta group (0002) was found
	MetaGroupLen   bool   // the meta group had (0002,0000)
	MetaParser     string // "suyashkumar" or "tolerant"; "" without a meta group
	TransferSyntax string // effective transfer syntax
	TSInferred     bool   // TransferSyntax was guessed from the data set
	SkippedLeading int    // garbage bytes skipped before a preamble-less data set

	MediaSOPClass, MediaSOPInstance string
	ImplClassUID, ImplVersion       string

	Charset []string

	SOPClassUID, SOPInstanceUID string
	StudyUID, SeriesUID         string
	StudyID                     string
	PatientName, PatientID      string
	PatientBirthDate            string // raw DA
	PatientSex                  string
	StudyDate, StudyTime        string
	SeriesDate                  string
	ContentDate, ContentTime    string
	Accession                   string
	StudyDescription            string
	SeriesDescription           string
	Modality                    string
	BodyPart                    string
	Laterality                  string
	ImageLaterality             string
	ImageType                   []string
	ConversionType              string
	BurnedInAnnotation          string
	SeriesNumber                string // raw IS
	InstanceNumber              string // raw IS
	NumberOfFrames              string // raw IS
	ImagesInAcquisition         string // raw IS
	SeriesRelatedInstances      string // raw IS

	// Structured reports and RT objects (for DICOMDIR records).
	CompletionFlag, VerificationFlag string
	VerificationDateTime             string
	ConceptName                      *Code
	StructureSetLabel                string
	StructureSetDate                 string
	StructureSetTime                 string
	RTPlanLabel, RTPlanDate          string
	RTPlanTime                       string
	DoseSummationType                string

	// DataSetOffset is the offset in the object where the data set (after
	// any file meta) starts; for deflated objects, where the deflated stream starts.
	DataSetOffset int64
	// PixelDataOffset is the offset of the top-level pixel data element in
	// the (inflated) data set stream, or -1 when not reached.
	PixelDataOffset int64
	// BytesRead is how many bytes of the object were read.
	BytesRead int64
	// HeaderEnd is the object offset where reading stopped (the pixel data,
	// the first group not needed, or the end); -1 for deflated objects.
	HeaderEnd int64
	// Truncated is set when the object ended inside its header.
	Truncated bool
	// Warnings describe tolerated defects, without patient data.
	Warnings []string
}

// NeedsPart10 reports whether the object must be rewritten with a proper
// Part 10 preamble and file meta before it goes into a file-set.
func (h *Header) NeedsPart10() bool {
	return !h.Preamble || !h.Meta || !h.MetaGroupLen || h.TSInferred || h.SkippedLeading > 0 ||
		h.MediaSOPClass == "" || h.MediaSOPInstance == ""
}

// IsDICOMDIR reports whether the object is a DICOMDIR rather than an instance.
func (h *Header) IsDICOMDIR() bool {
	return h.MediaSOPClass == DICOMDIRSOP || h.SOPClassUID == DICOMDIRSOP
}

func (h *Header) warn(format string, args ...any) {
	if len(h.Warnings) < 16 {
		h.Warnings = append(h.Warnings, fmt.Sprintf(format, args...))
	}
}

// encoding of a data set.
type enc struct {
	bo       binary.ByteOrder
	explicit bool
}

var (
	encImplicitLE = enc{binary.LittleEndian, false}
	encExplicitLE = enc{binary.LittleEndian, true}
	encExplicitBE = enc{binary.BigEndian, true}
)

const undefined = 0xFFFFFFFF

type tagT uint32

func mk(g, e uint16) tagT    { return tagT(uint32(g)<<16 | uint32(e)) }
func (t tagT) group() uint16 { return uint16(t >> 16) }
func (t tagT) String() string {
	return fmt.Sprintf("(%04X,%04X)", uint16(t>>16), uint16(t))
}

const (
	tagItem         = tagT(0xFFFEE000)
	tagItemDelim    = tagT(0xFFFEE00D)
	tagSeqDelim     = tagT(0xFFFEE0DD)
	tagPixelData    = tagT(0x7FE00010)
	tagFloatPixel   = tagT(0x7FE00008)
	tagDoublePixel  = tagT(0x7FE00009)
	tagConceptName  = tagT(0x0040A043)
	tagCharset      = tagT(0x00080005)
	tagSOPClass     = tagT(0x00080016)
	maxDepth        = 64
	maxCapturedText = 64 << 10
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// Read reads the header of one object of size bytes (-1 when unknown) from r.
// It stops at the top-level pixel data and never reads it.
func Read(r io.Reader, size int64, opt Options) (*Header, error) {
	opt = opt.withDefaults()
	if size > opt.MaxObject {
		return nil, fmt.Errorf("%d bytes, cap %d: %w", size, opt.MaxObject, ErrTooLarge)
	}
	cr := &countingReader{r: r}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	s := newStream(cr, *bp, opt.Chunk, opt.MaxHeader)
	p := &parser{s: s, size: size, opt: opt, h: &Header{PixelDataOffset: -1}}
	err := p.run()
	if cap(s.buf) > cap(*bp) && cap(s.buf) <= 1<<20 {
		*bp = s.buf
	}
	p.h.BytesRead = cr.n
	p.h.HeaderEnd = s.offset()
	if p.h.TransferSyntax == DeflatedLE {
		p.h.HeaderEnd = -1
	}
	if err != nil {
		return p.h, err
	}
	return p.h, nil
}

type parser struct {
	s       *stream
	size    int64 // object size, -1 unknown
	opt     Options
	h       *Header
	dec     *charset.Decoder
	stopGrp uint16 // stop at the first top-level group above this (0: never)
}

// remaining is how many bytes of the object are left after the stream's
// position, or -1 when unknown.
func (p *parser) remaining() int64 {
	if p.size < 0 {
		return -1
	}
	return p.size - p.s.offset()
}

func (p *parser) run() error {
	h := p.h
	start, err := p.s.peek(min(132, int(max(p.size, 132))))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return err
	}
	if len(start) == 0 {
		start = p.s.buf[p.s.pos:p.s.end]
	}
	if len(start) < 8 {
		return fmt.Errorf("%d bytes: %w", len(start), ErrNotDICOM)
	}
	var ds enc
	switch {
	case len(start) >= 132 && string(start[128:132]) == "DICM":
		h.Preamble = true
		if err := p.s.skip(132); err != nil {
			return err
		}
		if ds, err = p.readMeta(); err != nil {
			return err
		}
	case string(start[:4]) == "DICM":
		h.warn("DICM marker without preamble")
		if err := p.s.skip(4); err != nil {
			return err
		}
		if ds, err = p.readMeta(); err != nil {
			return err
		}
	default:
		// Preamble-less: a file meta group or a data set right at the start,
		// possibly after a few stray bytes.
		off, e, meta, ok := plausibleStart(start)
		if !ok {
			return ErrNotDICOM
		}
		if off > 0 {
			h.SkippedLeading = off
			h.warn("skipped %d leading bytes before the data set", off)
			if err := p.s.skip(int64(off)); err != nil {
				return err
			}
		}
		if meta {
			if ds, err = p.readMeta(); err != nil {
				return err
			}
		} else {
			ds = e
			h.TransferSyntax = tsOf(e)
			h.TSInferred = true
			h.DataSetOffset = p.s.offset()
		}
	}
	if h.TransferSyntax == DeflatedLE {
		return p.readDeflated()
	}
	return p.readDataSet(ds)
}

func tsOf(e enc) string {
	switch {
	case !e.explicit:
		return ImplicitLE
	case e.bo == binary.BigEndian:
		return ExplicitBE
	default:
		return ExplicitLE
	}
}

// plausibleStart looks for a data set or file meta group within the first
// few bytes of a preamble-less object: a tag of group 0002 or 0008 (the
// groups every object starts with) followed by a valid VR or a length
// that fits.
func plausibleStart(b []byte) (off int, e enc, meta, ok bool) {
	for off = 0; off <= 4 && off+8 <= len(b); off++ {
		x := b[off:]
		for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			g, el := bo.Uint16(x), bo.Uint16(x[2:])
			if g != 0x0002 && g != 0x0008 {
				continue
			}
			if el > 0x0100 && g == 0x0002 {
				continue
			}
			if validVR(x[4], x[5]) {
				return off, enc{bo, true}, g == 0x0002, true
			}
			if bo == binary.LittleEndian {
				vl := binary.LittleEndian.Uint32(x[4:])
				if vl < 1<<16 && g == 0x0008 {
					return off, encImplicitLE, false, true
				}
			}
		}
	}
	return 0, enc{}, false, false
}

var vrs = func() map[[2]byte]bool {
	m := map[[2]byte]bool{}
	for _, v := range strings.Fields("AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV") {
		m[[2]byte{v[0], v[1]}] = true
	}
	return m
}()

func validVR(a, b byte) bool { return vrs[[2]byte{a, b}] }

// longVR reports whether an explicit VR has a 2-byte reserved field and a
// 4-byte length.
func longVR(a, b byte) bool {
	switch string([]byte{a, b}) {
	case "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV":
		return true
	}
	return false
}

// element is one element header.
type element struct {
	tag    tagT
	vr     [2]byte // zero for implicit
	length uint32
}

// readElementHeader reads an element header in encoding e.
func (p *parser) readElementHeader(e enc) (element, error) {
	b, err := p.s.peek(8)
	if err != nil {
		return element{}, err
	}
	t := mk(e.bo.Uint16(b), e.bo.Uint16(b[2:]))
	if t.group() == 0xFFFE || !e.explicit {
		p.s.pos += 8
		return element{tag: t, length: e.bo.Uint32(b[4:])}, nil
	}
	vr := [2]byte{b[4], b[5]}
	switch {
	case longVR(vr[0], vr[1]):
		b, err = p.s.next(12)
		if err != nil {
			return element{}, err
		}
		return element{tag: t, vr: vr, length: e.bo.Uint32(b[8:])}, nil
	case vr[0] >= 'A' && vr[0] <= 'Z' && vr[1] >= 'A' && vr[1] <= 'Z':
		p.s.pos += 8
		l := uint32(e.bo.Uint16(b[6:]))
		return element{tag: t, vr: vr, length: l}, nil
	default:
		// Not a VR: an implicit element inside an explicit data set.
		p.s.pos += 8
		return element{tag: t, length: e.bo.Uint32(b[4:])}, nil
	}
}

// checkLength applies the guard: a defined length must fit in what is left.
func (p *parser) checkLength(el element) error {
	if el.length == undefined {
		return nil
	}
	if rem := p.remaining(); rem >= 0 && int64(el.length) > rem {
		return fmt.Errorf("%v length %d, %d bytes left: %w", el.tag, el.length, rem, ErrLength)
	}
	return nil
}

// readDeflated inflates the rest of the object and reads it as explicit VR LE.
func (p *parser) readDeflated() error {
	fr := flate.NewReader(p.s.rest())
	defer fr.Close()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	inner := newStream(fr, *bp, p.opt.Chunk, p.opt.MaxHeader)
	q := &parser{s: inner, size: -1, opt: p.opt, h: p.h}
	err := q.readDataSet(encExplicitLE)
	p.dec = q.dec
	return err
}

// readDataSet walks the top-level data set.
func (p *parser) readDataSet(e enc) error {
	h := p.h
	p.dec = charset.Default()
	for {
		b, err := p.s.peek(4)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return p.finish()
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return p.truncated(err)
			}
			return err
		}
		t := mk(e.bo.Uint16(b), e.bo.Uint16(b[2:]))
		if t == tagPixelData || t == tagFloatPixel || t == tagDoublePixel {
			h.PixelDataOffset = p.s.offset()
			return p.finish()
		}
		if p.stopGrp != 0 && t.group() > p.stopGrp && t.group() != 0xFFFE {
			return p.finish()
		}
		if t == mk(0xFFFC, 0xFFFC) { // data set trailing padding
			return p.finish()
		}
		el, err := p.readElementHeader(e)
		if err != nil {
			return p.truncated(err)
		}
		if err := p.checkLength(el); err != nil {
			return p.truncated(err)
		}
		if el.length == undefined {
			ie := e
			if el.vr == [2]byte{'U', 'N'} {
				ie = encImplicitLE // PS3.5 §6.2.2: UN sequences are implicit VR LE
			}
			if err := p.readItems(ie, 1, el.tag == tagConceptName); err != nil {
				return p.truncated(err)
			}
			continue
		}
		if want(t) && el.length <= maxCapturedText {
			v, err := p.s.next(int(el.length))
			if err != nil {
				return p.truncated(err)
			}
			p.capture(t, v, e)
			continue
		}
		if t == tagConceptName && el.length < 1<<20 {
			// A defined-length code sequence: walk it for its first item.
			if err := p.readDefinedSeq(e, int64(el.length)); err != nil {
				return p.truncated(err)
			}
			continue
		}
		if err := p.s.skip(int64(el.length)); err != nil {
			return p.truncated(err)
		}
	}
}

// readDefinedSeq reads a defined-length Concept Name Code Sequence.
func (p *parser) readDefinedSeq(e enc, n int64) error {
	end := p.s.offset() + n
	for p.s.offset() < end {
		it, err := p.readElementHeader(enc{e.bo, false})
		if err != nil {
			return err
		}
		if it.tag != tagItem {
			return fmt.Errorf("%v in a sequence: %w", it.tag, ErrMalformed)
		}
		if it.length == undefined {
			if err := p.readItemElements(e, 2, true); err != nil {
				return err
			}
			continue
		}
		if err := p.readCodeItem(e, int64(it.length)); err != nil {
			return err
		}
	}
	return nil
}

// readCodeItem reads a defined-length item of a code sequence.
func (p *parser) readCodeItem(e enc, n int64) error {
	end := p.s.offset() + n
	for p.s.offset() < end {
		el, err := p.readElementHeader(e)
		if err != nil {
			return err
		}
		if err := p.checkLength(el); err != nil {
			return err
		}
		if el.length == undefined {
			if err := p.readItems(e, 3, false); err != nil {
				return err
			}
			continue
		}
		if err := p.codeElement(el); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) codeElement(el element) error {
	switch el.tag {
	case mk(0x0008, 0x0100), mk(0x0008, 0x0102), mk(0x0008, 0x0104):
		if el.length > 1024 {
			break
		}
		v, err := p.s.next(int(el.length))
		if err != nil {
			return err
		}
		if p.h.ConceptName == nil {
			p.h.ConceptName = &Code{}
		}
		s := strings.TrimSpace(strings.TrimRight(p.dec.Decode(v, false), " \x00"))
		switch el.tag {
		case mk(0x0008, 0x0100):
			p.h.ConceptName.Value = s
		case mk(0x0008, 0x0102):
			p.h.ConceptName.Scheme = s
		default:
			p.h.ConceptName.Meaning = s
		}
		return nil
	}
	return p.s.skip(int64(el.length))
}

// readItems reads the items of an undefined-length sequence (or encapsulated
// fragments) up to its sequence delimiter.
func (p *parser) readItems(e enc, depth int, code bool) error {
	if depth > maxDepth {
		return fmt.Errorf("sequences nested deeper than %d: %w", maxDepth, ErrMalformed)
	}
	for {
		it, err := p.readElementHeader(enc{e.bo, false})
		if err != nil {
			return err
		}
		switch it.tag {
		case tagSeqDelim:
			return nil
		case tagItem:
		default:
			return fmt.Errorf("%v in a sequence: %w", it.tag, ErrMalformed)
		}
		if it.length == undefined {
			if err := p.readItemElements(e, depth+1, code); err != nil {
				return err
			}
			code = false
			continue
		}
		if err := p.checkLength(it); err != nil {
			return err
		}
		if code {
			if err := p.readCodeItem(e, int64(it.length)); err != nil {
				return err
			}
			code = false
			continue
		}
		if err := p.s.skip(int64(it.length)); err != nil {
			return err
		}
	}
}

// readItemElements reads the elements of an undefined-length item up to its
// item delimiter.
func (p *parser) readItemElements(e enc, depth int, code bool) error {
	if depth > maxDepth {
		return fmt.Errorf("sequences nested deeper than %d: %w", maxDepth, ErrMalformed)
	}
	for {
		el, err := p.readElementHeader(e)
		if err != nil {
			return err
		}
		switch el.tag {
		case tagItemDelim:
			return nil
		case tagSeqDelim:
			return fmt.Errorf("sequence delimiter inside an item: %w", ErrMalformed)
		}
		if err := p.checkLength(el); err != nil {
			return err
		}
		if el.length == undefined {
			ie := e
			if el.vr == [2]byte{'U', 'N'} {
				ie = encImplicitLE
			}
			if err := p.readItems(ie, depth+1, false); err != nil {
				return err
			}
			continue
		}
		if code {
			if err := p.codeElement(el); err != nil {
				return err
			}
			continue
		}
		if err := p.s.skip(int64(el.length)); err != nil {
			return err
		}
	}
}

// truncated turns an end of stream inside the header into a result with a
// warning when the identity is known, or into ErrTruncated.
func (p *parser) truncated(err error) error {
	short := errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
	if !short && !errors.Is(err, ErrLength) {
		return err
	}
	// An element longer than what is left is what a truncated object looks
	// like: nothing is allocated for it, and the header read so far counts.
	p.h.Truncated = true
	p.h.warn("object ends inside its header")
	if p.h.SOPInstanceUID == "" || p.h.StudyUID == "" || p.h.SeriesUID == "" {
		if short {
			return ErrTruncated
		}
		return err
	}
	return p.finish()
}

func (p *parser) finish() error {
	h := p.h
	if h.SOPClassUID == "" {
		h.SOPClassUID = h.MediaSOPClass
	}
	if h.SOPInstanceUID == "" && h.MediaSOPInstance != "" && !h.IsDICOMDIR() {
		h.SOPInstanceUID = h.MediaSOPInstance
		h.warn("no SOP Instance UID in the data set; used the file meta's")
	}
	return nil
}

// want reports whether a top-level tag is captured.
func want(t tagT) bool {
	switch t.group() {
	case 0x0008, 0x0010, 0x0018, 0x0020, 0x0028, 0x0040, 0x3004, 0x3006, 0x300A:
		_, ok := captured[t]
		return ok
	}
	return false
}

var captured = func() map[tagT]bool {
	m := map[tagT]bool{}
	for _, t := range []tagT{
		0x00080005, 0x00080008, 0x00080016, 0x00080018, 0x00080020, 0x00080021, 0x00080023,
		0x00080030, 0x00080033, 0x00080050, 0x00080060, 0x00080064, 0x00081030, 0x0008103E,
		0x00100010, 0x00100020, 0x00100030, 0x00100040, 0x00180015,
		0x0020000D, 0x0020000E, 0x00200010, 0x00200011, 0x00200013, 0x00200060, 0x00200062,
		0x00201002, 0x00201209, 0x00280008, 0x00280301,
		0x0040A491, 0x0040A493, 0x0040A030,
		0x30060002, 0x30060008, 0x30060009, 0x300A0002, 0x300A0006, 0x300A0007, 0x3004000A,
	} {
		m[t] = true
	}
	return m
}()

// text decodes a string value: trailing spaces and NULs go, and leading
// spaces for the VRs where they are not significant.
func (p *parser) text(v []byte, pn bool) string {
	v = bytes.TrimRight(v, " \x00")
	return strings.TrimLeft(p.dec.Decode(v, pn), " ")
}

func ascii(v []byte) string {
	return strings.TrimSpace(strings.TrimRight(string(v), " \x00"))
}

// capture stores one top-level value.
func (p *parser) capture(t tagT, v []byte, e enc) {
	h := p.h
	switch t {
	case tagCharset:
		vals := strings.Split(ascii(v), `\`)
		for i := range vals {
			vals[i] = strings.TrimSpace(vals[i])
		}
		if len(vals) == 1 && vals[0] == "" {
			vals = nil
		}
		h.Charset = vals
		d, unknown := charset.New(vals)
		p.dec = d
		for _, u := range unknown {
			h.warn("unknown character set term %q", u)
		}
	case 0x00080008:
		h.ImageType = strings.Split(ascii(v), `\`)
	case tagSOPClass:
		h.SOPClassUID = uid(v)
		if !p.opt.Full && recordTypeIsImage(h.SOPClassUID) {
			p.stopGrp = 0x0028
		}
	case 0x00080018:
		h.SOPInstanceUID = uid(v)
	case 0x00080020:
		h.StudyDate = ascii(v)
	case 0x00080021:
		h.SeriesDate = ascii(v)
	case 0x00080023:
		h.ContentDate = ascii(v)
	case 0x00080030:
		h.StudyTime = ascii(v)
	case 0x00080033:
		h.ContentTime = ascii(v)
	case 0x00080050:
		h.Accession = p.text(v, false)
	case 0x00080060:
		h.Modality = ascii(v)
	case 0x00080064:
		h.ConversionType = ascii(v)
	case 0x00081030:
		h.StudyDescription = p.text(v, false)
	case 0x0008103E:
		h.SeriesDescription = p.text(v, false)
	case 0x00100010:
		h.PatientName = cleanPN(p.text(v, true))
	case 0x00100020:
		h.PatientID = p.text(v, false)
	case 0x00100030:
		h.PatientBirthDate = ascii(v)
	case 0x00100040:
		h.PatientSex = ascii(v)
	case 0x00180015:
		h.BodyPart = ascii(v)
	case 0x0020000D:
		h.StudyUID = uid(v)
	case 0x0020000E:
		h.SeriesUID = uid(v)
	case 0x00200010:
		h.StudyID = p.text(v, false)
	case 0x00200011:
		h.SeriesNumber = ascii(v)
	case 0x00200013:
		h.InstanceNumber = ascii(v)
	case 0x00200060:
		h.Laterality = ascii(v)
	case 0x00200062:
		h.ImageLaterality = ascii(v)
	case 0x00201002:
		h.ImagesInAcquisition = ascii(v)
	case 0x00201209:
		if len(v) == 4 { // UL
			h.SeriesRelatedInstances = strconv.FormatUint(uint64(e.bo.Uint32(v)), 10)
		} else {
			h.SeriesRelatedInstances = ascii(v)
		}
	case 0x00280008:
		h.NumberOfFrames = ascii(v)
	case 0x00280301:
		h.BurnedInAnnotation = ascii(v)
	case 0x0040A491:
		h.CompletionFlag = ascii(v)
	case 0x0040A493:
		h.VerificationFlag = ascii(v)
	case 0x0040A030:
		h.VerificationDateTime = ascii(v)
	case 0x30060002:
		h.StructureSetLabel = p.text(v, false)
	case 0x30060008:
		h.StructureSetDate = ascii(v)
	case 0x30060009:
		h.StructureSetTime = ascii(v)
	case 0x300A0002:
		h.RTPlanLabel = p.text(v, false)
	case 0x300A0006:
		h.RTPlanDate = ascii(v)
	case 0x300A0007:
		h.RTPlanTime = ascii(v)
	case 0x3004000A:
		h.DoseSummationType = ascii(v)
	}
}

// uid trims a UI value (padded with NUL or, wrongly, spaces).
func uid(v []byte) string { return strings.TrimSpace(strings.TrimRight(string(v), "\x00 ")) }

// cleanPN drops empty trailing component groups and components: "A^B^^=" → "A^B".
func cleanPN(s string) string {
	groups := strings.Split(s, "=")
	for i, g := range groups {
		groups[i] = strings.TrimRight(strings.TrimSpace(g), "^ ")
	}
	for len(groups) > 0 && groups[len(groups)-1] == "" {
		groups = groups[:len(groups)-1]
	}
	return strings.Join(groups, "=")
}

// recordTypeIsImage reports whether a SOP class is an image storage class,
// whose header ends with the image pixel module (group 0028).
func recordTypeIsImage(sop string) bool {
	return RecordType(sop) == "IMAGE"
}
