package docs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/handoffmed/handoff/platform/ccda"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/services/intake/internal/understand"
)

// MaxCCDA bounds a text upload that is a C-CDA (bare, or embedded in an
// HTML file): it may be larger than MaxText, up to the reader's own limit.
const MaxCCDA = ccda.DefaultMaxBytes

// headSize is how much of a text upload is looked at to tell a C-CDA.
const headSize = 64 << 10

// UnderstandText reads a text upload of size bytes (0 when unknown) from r
// and understands it: a C-CDA (a bare XML, or an HTML file that embeds one,
// as a Blue Button bbClear export does) is read with platform/ccda into a
// portal export with its coded facts (FromCCDA); anything else is read as
// plain text by the analyzer's rules. A C-CDA that cannot be read is
// rejected with an input code and a message that quotes nothing of the
// document; err is only for a failed read of r (worth a retry).
func UnderstandText(an *understand.Analyzer, r io.Reader, size int64) (doc record.Document, rejected *record.Error, err error) {
	return understandText(an, r, size, MaxCCDA)
}

// understandText is UnderstandText with the C-CDA size limit as a
// parameter (the test of an upload of unknown size uses a smaller one).
func understandText(an *understand.Analyzer, r io.Reader, size, maxCCDA int64) (record.Document, *record.Error, error) {
	br := bufio.NewReaderSize(r, headSize)
	head, err := br.Peek(headSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return record.Document{}, nil, fmt.Errorf("read text: %w", err)
	}
	head = bytes.Clone(head)
	if !maybeCCDA(head) {
		text, err := io.ReadAll(io.LimitReader(br, MaxText))
		if err != nil {
			return record.Document{}, nil, fmt.Errorf("read text: %w", err)
		}
		return plainText(an, text), nil, nil
	}
	bare := bareCCDA(head)
	if bare && size > maxCCDA {
		return record.Document{}, tooLarge(maxCCDA), nil
	}
	data, err := readUpTo(br, size, maxCCDA)
	if err != nil {
		return record.Document{}, nil, fmt.Errorf("read text: %w", err)
	}
	if int64(len(data)) > maxCCDA {
		if bare {
			return record.Document{}, tooLarge(maxCCDA), nil
		}
		return plainText(an, []byte(data[:MaxText])), nil, nil
	}
	d, err := ccda.ExtractString(data, ccda.Options{MaxBytes: maxCCDA})
	if err == nil {
		return FromCCDA(d, an.Vocabulary()), nil, nil
	}
	// A C-CDA that does not read is rejected; an HTML page or an XML of
	// another kind that merely is not a C-CDA is text, as any other.
	var me *ccda.MalformedError
	switch {
	case errors.Is(err, ccda.ErrNotCCDA):
	case errors.Is(err, ccda.ErrEntities) && (bare || strings.Contains(data, "ClinicalDocument")):
		return record.Document{}, &record.Error{Code: record.CodeUnreadable,
			Message: "the C-CDA XML declares entities in a DOCTYPE: entity declarations are not accepted (nothing was expanded)"}, nil
	case !bare:
	case errors.Is(err, ccda.ErrTooLarge):
		return record.Document{}, tooLarge(maxCCDA), nil
	case errors.Is(err, ccda.ErrTooDeep):
		return record.Document{}, &record.Error{Code: record.CodeUnreadable,
			Message: fmt.Sprintf("the C-CDA XML nests elements more than %d deep", ccda.DefaultMaxDepth)}, nil
	case errors.As(err, &me) && me.Line > 0:
		return record.Document{}, &record.Error{Code: record.CodeUnreadable,
			Message: fmt.Sprintf("the C-CDA XML is malformed (line %d): it is not well-formed XML", me.Line)}, nil
	case errors.Is(err, ccda.ErrMalformed):
		return record.Document{}, &record.Error{Code: record.CodeUnreadable,
			Message: "the C-CDA XML is malformed: it is not well-formed XML or not in a supported encoding"}, nil
	}
	return plainText(an, []byte(data[:min(len(data), MaxText)])), nil, nil
}

func tooLarge(limit int64) *record.Error {
	return &record.Error{Code: record.CodeTooLarge,
		Message: fmt.Sprintf("the C-CDA document is larger than %d MiB, the most that is read", limit>>20)}
}

// readUpTo reads r to its end, or to one byte past limit, into one string
// sized from the size the upload says it has (the reader then works on it
// without another copy).
func readUpTo(r io.Reader, size, limit int64) (string, error) {
	var b strings.Builder
	if size > 0 {
		b.Grow(int(min(size, limit) + 1))
	}
	_, err := io.Copy(&b, io.LimitReader(r, limit+1))
	return b.String(), err
}

func plainText(an *understand.Analyzer, text []byte) record.Document {
	return an.Analyze(understand.Input{Type: record.TypeText, Pages: understand.SplitPages(Plain(text))})
}

// maybeCCDA reports whether a text upload may be (or hold) a C-CDA: its
// head is XML whose root is a ClinicalDocument, names one, or it is an
// HTML page (which may embed one anywhere).
func maybeCCDA(head []byte) bool {
	return bareCCDA(head) || looksHTML(head)
}

// bareCCDA reports whether a head is a C-CDA XML itself (not an HTML page
// that embeds one): the reader sniffs it as one, or it is markup that names
// a ClinicalDocument before any HTML (a DOCTYPE the sniffer stops at).
func bareCCDA(head []byte) bool {
	if ccda.Sniff(head) {
		return true
	}
	t := bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xEF\xBB\xBF")), " \t\r\n")
	return bytes.HasPrefix(t, []byte("<")) && !looksHTML(head) && bytes.Contains(head, []byte("ClinicalDocument"))
}

// looksHTML reports whether a head is an HTML page.
func looksHTML(head []byte) bool {
	h := bytes.ToLower(head[:min(len(head), 4096)])
	return bytes.Contains(h, []byte("<html")) || bytes.Contains(h, []byte("<!doctype html"))
}
