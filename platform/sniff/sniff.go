// Package sniff tells what a file is from its first bytes, never its name.
package sniff

import (
	"bytes"
	"encoding/binary"
	"unicode/utf8"

	"github.com/handoffmed/handoff/platform/record"
)

// HeadSize is how many leading bytes Detect wants (it works with fewer).
const HeadSize = 4096

// Extra content types that are recognised but not processed.
const (
	TypeHEIC       = "heic"
	TypeOOXML      = "ooxml" // .docx/.xlsx: a ZIP the pipeline does not expand
	TypeExecutable = "executable"
)

// Detect returns the content type of a file from its head: a record.Type*
// constant or one of the extra types above. It never panics.
func Detect(head []byte) string {
	switch {
	case len(head) == 0:
		return record.TypeUnknown
	case len(head) >= 132 && string(head[128:132]) == "DICM":
		if hasUID(head[132:min(len(head), 1024)], "1.2.840.10008.1.3.10") {
			return record.TypeDICOMDIR
		}
		return record.TypeDICOM
	case bytes.Contains(head[:min(len(head), 1024)], []byte("%PDF-")):
		return record.TypePDF
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		return record.TypeJPEG
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return record.TypePNG
	case bytes.HasPrefix(head, []byte("II*\x00")) || bytes.HasPrefix(head, []byte("MM\x00*")):
		return record.TypeTIFF
	case bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("PK\x05\x06")):
		if bytes.Contains(head, []byte("[Content_Types].xml")) {
			return TypeOOXML
		}
		return record.TypeZIP
	case len(head) >= 12 && string(head[4:8]) == "ftyp" && isHEIF(string(head[8:12])):
		return TypeHEIC
	case bytes.HasPrefix(head, []byte("MZ")) || bytes.HasPrefix(head, []byte("\x7fELF")) ||
		bytes.HasPrefix(head, []byte{0xCF, 0xFA, 0xED, 0xFE}) || bytes.HasPrefix(head, []byte{0xCA, 0xFE, 0xBA, 0xBE}):
		return TypeExecutable
	case PreamblelessDICOM(head):
		return record.TypeDICOM
	case isText(head):
		return record.TypeText
	}
	return record.TypeUnknown
}

// hasUID reports whether b holds uid as a whole value (not a prefix of a
// longer UID).
func hasUID(b []byte, uid string) bool {
	for {
		i := bytes.Index(b, []byte(uid))
		if i < 0 {
			return false
		}
		b = b[i+len(uid):]
		if len(b) == 0 || b[0] != '.' && (b[0] < '0' || b[0] > '9') {
			return true
		}
	}
}

func isHEIF(brand string) bool {
	switch brand {
	case "heic", "heix", "hevc", "heim", "heis", "mif1", "msf1", "avif":
		return true
	}
	return false
}

// PreamblelessDICOM reports whether head plausibly starts a DICOM data set
// written without the 128-byte preamble and "DICM" marker: a first element
// in group 0002 or 0008, little or big endian, with either a valid explicit
// VR or a small implicit length.
func PreamblelessDICOM(head []byte) bool {
	if len(head) < 16 {
		return false
	}
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		group, elem := order.Uint16(head[0:2]), order.Uint16(head[2:4])
		if group != 0x0002 && group != 0x0008 || elem > 0x0100 {
			continue
		}
		if vr := string(head[4:6]); validVR(vr) {
			return true
		}
		if l := order.Uint32(head[4:8]); l < 1024 {
			// Implicit VR: the next element must follow in the same group.
			next := 8 + int(l)
			if next+4 <= len(head) && order.Uint16(head[next:next+2]) == group {
				return true
			}
		}
	}
	return false
}

func validVR(vr string) bool {
	switch vr {
	case "AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT", "OB", "OD", "OF", "OL", "OV", "OW",
		"PN", "SH", "SL", "SQ", "SS", "ST", "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV":
		return true
	}
	return false
}

// isText reports whether head looks like text: no NUL bytes and almost all
// printable (UTF-8 or a single-byte encoding).
func isText(head []byte) bool {
	if bytes.HasPrefix(head, []byte("\xEF\xBB\xBF")) {
		head = head[3:]
	}
	if len(head) == 0 {
		return false
	}
	// A cut at the end of head may split a UTF-8 sequence.
	if n := len(head); n > 4 && !utf8.Valid(head[n-4:]) {
		head = head[:n-4]
	}
	bad := 0
	for _, c := range head {
		switch {
		case c == 0:
			return false
		case c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f':
			bad++
		}
	}
	return bad*100 < len(head)
}
