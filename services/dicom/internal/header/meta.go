package header

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	sdicom "github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

const maxMeta = 64 << 10

// readMeta reads the file meta group at the stream's position and returns
// the encoding of the data set that follows.
func (p *parser) readMeta() (enc, error) {
	h := p.h
	h.Meta = true
	b, err := p.s.peek(12)
	if err != nil {
		return enc{}, p.shortMeta(err)
	}
	var meta []byte // the whole group, when its length is known and sane
	if binary.LittleEndian.Uint32(b) == 0x00000002 && string(b[4:6]) == "UL" && binary.LittleEndian.Uint16(b[6:]) == 4 {
		n := int64(binary.LittleEndian.Uint32(b[8:]))
		if rem := p.remaining(); n > maxMeta || (rem >= 0 && 12+n > rem) {
			h.warn("file meta group length %d does not fit; ignored", n)
		} else if mb, err := p.s.peek(12 + int(n)); err == nil && guardMeta(mb[12:]) {
			meta = mb
			h.MetaGroupLen = true
		} else {
			h.warn("file meta group length is wrong; ignored")
		}
	} else {
		h.warn("file meta has no group length")
	}
	parsed := false
	if meta != nil && h.Preamble {
		// The guard bounded every length in the group: hand it to
		// suyashkumar/dicom's streaming parser.
		parsed = p.metaWithSuyashkumar(meta)
	}
	if meta != nil {
		if !parsed {
			p.metaElements(meta[12:])
			h.MetaParser = "tolerant"
		}
		p.s.pos += len(meta)
	}
	// Elements of group 0002 beyond the stated length (or all of them when
	// the length is missing or wrong) are read one by one.
	if err := p.metaTail(); err != nil {
		return enc{}, err
	}
	if h.MetaParser == "" {
		h.MetaParser = "tolerant"
	}
	h.DataSetOffset = p.s.offset()
	return p.dataSetEncoding()
}

func (p *parser) shortMeta(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("file meta: %w", ErrTruncated)
	}
	return err
}

// guardMeta checks that a meta group is a sequence of explicit VR LE
// elements of group 0002 whose lengths fit exactly.
func guardMeta(b []byte) bool {
	for len(b) > 0 {
		if len(b) < 8 || binary.LittleEndian.Uint16(b) != 0x0002 || !validVR(b[4], b[5]) {
			return false
		}
		var n, hdr int
		if longVR(b[4], b[5]) {
			if len(b) < 12 {
				return false
			}
			n, hdr = int(binary.LittleEndian.Uint32(b[8:])), 12
			if uint32(n) == undefined {
				return false
			}
		} else {
			n, hdr = int(binary.LittleEndian.Uint16(b[6:])), 8
		}
		if n < 0 || hdr+n > len(b) {
			return false
		}
		b = b[hdr+n:]
	}
	return true
}

// metaWithSuyashkumar parses preamble, marker and meta group with
// suyashkumar/dicom and keeps what it found; false if it failed.
func (p *parser) metaWithSuyashkumar(meta []byte) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	in := make([]byte, 132+len(meta))
	copy(in[128:], "DICM")
	copy(in[132:], meta)
	sp, err := sdicom.NewParser(bytes.NewReader(in), int64(len(in)), nil, sdicom.SkipPixelData())
	if err != nil {
		return false
	}
	h := p.h
	for _, el := range sp.GetMetadata().Elements {
		if el.Value == nil || el.Value.ValueType() != sdicom.Strings {
			continue
		}
		strs, _ := el.Value.GetValue().([]string)
		if len(strs) == 0 {
			continue
		}
		v := strings.TrimRight(strs[0], "\x00 ")
		switch el.Tag {
		case tag.MediaStorageSOPClassUID:
			h.MediaSOPClass = v
		case tag.MediaStorageSOPInstanceUID:
			h.MediaSOPInstance = v
		case tag.TransferSyntaxUID:
			h.TransferSyntax = v
		case tag.ImplementationClassUID:
			h.ImplClassUID = v
		case tag.ImplementationVersionName:
			h.ImplVersion = v
		}
	}
	if h.TransferSyntax == "" {
		return false
	}
	h.MetaParser = "suyashkumar"
	return true
}

// metaElements reads guarded meta elements (explicit VR LE).
func (p *parser) metaElements(b []byte) {
	for len(b) >= 8 {
		t := mk(binary.LittleEndian.Uint16(b), binary.LittleEndian.Uint16(b[2:]))
		var n, hdr int
		if longVR(b[4], b[5]) {
			n, hdr = int(binary.LittleEndian.Uint32(b[8:])), 12
		} else {
			n, hdr = int(binary.LittleEndian.Uint16(b[6:])), 8
		}
		p.metaValue(t, b[hdr:hdr+n])
		b = b[hdr+n:]
	}
}

func (p *parser) metaValue(t tagT, v []byte) {
	h := p.h
	s := uid(v)
	switch t {
	case 0x00020002:
		h.MediaSOPClass = s
	case 0x00020003:
		h.MediaSOPInstance = s
	case 0x00020010:
		h.TransferSyntax = s
	case 0x00020012:
		h.ImplClassUID = s
	case 0x00020013:
		h.ImplVersion = s
	}
}

// metaTail reads group 0002 elements one at a time, while they last.
func (p *parser) metaTail() error {
	for {
		b, err := p.s.peek(8)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil // a meta group and nothing else; the data set check decides
			}
			return err
		}
		if binary.LittleEndian.Uint16(b) != 0x0002 {
			return nil
		}
		e := encExplicitLE
		if !validVR(b[4], b[5]) {
			e = encImplicitLE
		}
		el, err := p.readElementHeader(e)
		if err != nil {
			return p.shortMeta(err)
		}
		if el.length == undefined || el.length > maxMeta {
			return fmt.Errorf("file meta element %v length %d: %w", el.tag, el.length, ErrMalformed)
		}
		if err := p.checkLength(el); err != nil {
			return err
		}
		v, err := p.s.next(int(el.length))
		if err != nil {
			return p.shortMeta(err)
		}
		p.metaValue(el.tag, v)
	}
}

// dataSetEncoding decides the data set's encoding from the transfer syntax,
// checked against (or, without one, guessed from) the first data element.
func (p *parser) dataSetEncoding() (enc, error) {
	h := p.h
	declared, known := encOf(h.TransferSyntax)
	b, err := p.s.peek(8)
	if err != nil {
		if errors.Is(err, io.EOF) {
			if known {
				return declared, nil // meta only
			}
			return enc{}, fmt.Errorf("no data set: %w", ErrTruncated)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return enc{}, fmt.Errorf("data set: %w", ErrTruncated)
		}
		return enc{}, err
	}
	if h.TransferSyntax == DeflatedLE {
		return encExplicitLE, nil
	}
	sniffed, ok := sniffEnc(b, p.remaining())
	if known && plausibleEl(b, declared, p.remaining()) &&
		(!ok || sniffed.bo == declared.bo || declared.bo.Uint16(b) <= sniffed.bo.Uint16(b)) {
		return declared, nil
	}
	if !ok {
		if known {
			return declared, nil
		}
		return enc{}, fmt.Errorf("cannot tell the data set's encoding: %w", ErrMalformed)
	}
	if h.TransferSyntax == "" {
		h.warn("no transfer syntax in the file meta; guessed from the data set")
	} else {
		h.warn("data set does not match its transfer syntax; guessed from the data set")
	}
	h.TransferSyntax = tsOf(sniffed)
	h.TSInferred = true
	return sniffed, nil
}

// encOf maps a transfer syntax to its data set encoding.
func encOf(ts string) (enc, bool) {
	switch ts {
	case "":
		return enc{}, false
	case ImplicitLE:
		return encImplicitLE, true
	case ExplicitBE:
		return encExplicitBE, true
	}
	if strings.HasPrefix(ts, "1.2.840.10008.1.2.") {
		return encExplicitLE, true // explicit VR LE and every compressed syntax
	}
	return enc{}, false
}

// plausibleEl reports whether b starts with an element header in encoding e
// that fits in rem bytes (-1: unknown).
func plausibleEl(b []byte, e enc, rem int64) bool {
	g := e.bo.Uint16(b)
	if g == 0 || g > 0x7FE0 && g != 0xFFFC {
		return false
	}
	if e.explicit {
		return validVR(b[4], b[5])
	}
	l := e.bo.Uint32(b[4:])
	return !validVR(b[4], b[5]) && (l == undefined || rem < 0 || int64(l) <= rem-8)
}

// sniffEnc guesses an encoding from the first element of a data set: of the
// plausible encodings, the one that reads the smaller group number.
func sniffEnc(b []byte, rem int64) (enc, bool) {
	if len(b) < 8 {
		return enc{}, false
	}
	best, found := enc{}, false
	var bestG uint16
	for _, e := range []enc{encExplicitLE, encExplicitBE, encImplicitLE} {
		if !plausibleEl(b, e, rem) {
			continue
		}
		if g := e.bo.Uint16(b); !found || g < bestG {
			best, bestG, found = e, g, true
		}
	}
	return best, found
}
