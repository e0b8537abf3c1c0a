package ccda

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

const (
	nsV3  = "urn:hl7-org:v3"
	nsXSI = "http://www.w3.org/2001/XMLSchema-instance"
)

// Read reads a bare C-CDA XML document from r, reading at most
// Options.MaxBytes. It returns ErrTooLarge, ErrTooDeep, ErrEntities,
// ErrMalformed (as *MalformedError) or ErrNotCCDA, wrapped.
func Read(r io.Reader, opt Options) (*Document, error) {
	d := &Document{Source: SourceXML}
	if err := read(r, opt, d); err != nil {
		return nil, err
	}
	return d, nil
}

// limited passes at most max bytes and then fails with ErrTooLarge, so a
// long input is refused as soon as it passes the limit.
type limited struct {
	r   io.Reader
	n   int64 // bytes passed so far
	max int64
}

func (l *limited) Read(p []byte) (int, error) {
	if l.n >= l.max {
		// One byte more decides between "exactly max" and "too large".
		var one [1]byte
		k, err := l.r.Read(one[:])
		if k > 0 {
			return 0, ErrTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > l.max-l.n {
		p = p[:l.max-l.n]
	}
	k, err := l.r.Read(p)
	l.n += int64(k)
	return k, err
}

// Frame roles: what an open element means to the reader.
const (
	roleOther = iota
	roleDoc
	roleRecordTarget
	rolePatientRole
	rolePatient
	roleName
	roleGiven
	roleFamily
	roleTitle
	roleSection
	roleNarrative // the section's <text> and everything inside it
)

type frame struct {
	role uint8
	sec  *section
	// For text captured into reader.scratch (title, given, family).
	capture int
	// For narrative elements: an ID's span start, a table row's bookkeeping.
	id      string
	idStart int // where the element's text starts in reader.narr
	row     *row
	isRow   bool
	isCell  bool
}

type section struct {
	roots   []string
	code    string
	kind    int
	decided bool
}

type row struct {
	ids       []string
	firstCell span
	hasCell   bool
}

type span struct{ start, end int }

// reader holds the state of one Read.
type reader struct {
	opt   Options
	doc   *Document
	stack []frame
	depth int

	scratch []byte // captured header text

	narr  []byte          // all narrative text, in document order
	ids   map[string]span // narrative element ID -> its text
	rows  map[string]span // narrative element ID -> first cell of its table row
	inNar int             // >0 inside a section's <text>
	nameN int             // patient <name> elements seen
	inLeg bool            // the chosen patient name is use="L"

	t       tree // the entry being read, as a tree
	inEntry int  // depth of the open entry element, 0 when none
	entryK  int

	pending bool // some references were read before their narrative
}

func read(r io.Reader, opt Options, d *Document) error {
	lr := &limited{r: r, max: opt.maxBytes()}
	dec := xml.NewDecoder(lr)
	dec.Strict = true
	dec.CharsetReader = charsetReader
	rd := &reader{opt: opt, doc: d, ids: map[string]span{}, rows: map[string]span{}}
	rd.t.init()
	sawRoot := false
	for {
		tok, err := dec.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				if !sawRoot {
					return &MalformedError{Offset: dec.InputOffset()}
				}
				if rd.depth != 0 {
					line, _ := dec.InputPos()
					return &MalformedError{Line: line, Offset: dec.InputOffset()}
				}
				break
			}
			return classify(err, dec)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			rd.depth++
			if rd.depth > opt.maxDepth() {
				return fmt.Errorf("%w (more than %d levels)", ErrTooDeep, opt.maxDepth())
			}
			if rd.depth == 1 {
				if sawRoot {
					line, _ := dec.InputPos()
					return &MalformedError{Line: line, Offset: dec.InputOffset()}
				}
				sawRoot = true
				if t.Name.Space != nsV3 || t.Name.Local != "ClinicalDocument" {
					return ErrNotCCDA
				}
			}
			rd.start(t)
		case xml.EndElement:
			rd.end()
			rd.depth--
		case xml.CharData:
			rd.chars(t)
		case xml.Directive:
			if bytes.Contains(t, []byte("ENTITY")) {
				return ErrEntities
			}
		}
	}
	if rd.pending {
		rd.resolvePending()
	}
	return nil
}

// classify turns a decoder error into one of the package's errors, keeping
// positions and dropping the decoder's message (it may quote the document).
func classify(err error, dec *xml.Decoder) error {
	switch {
	case errors.Is(err, ErrTooLarge):
		return fmt.Errorf("%w (limit %d bytes)", ErrTooLarge, dec.InputOffset())
	case errors.Is(err, errCharset):
		return fmt.Errorf("%w: unsupported character encoding", &MalformedError{Offset: dec.InputOffset()})
	}
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return &MalformedError{Line: se.Line, Offset: dec.InputOffset()}
	}
	var ue xml.UnmarshalError
	if errors.As(err, &ue) {
		return &MalformedError{Offset: dec.InputOffset()}
	}
	return fmt.Errorf("ccda: read: %w", err)
}

func (rd *reader) parent() *frame {
	if len(rd.stack) == 0 {
		return nil
	}
	return &rd.stack[len(rd.stack)-1]
}

func (rd *reader) start(t xml.StartElement) {
	if rd.inEntry > 0 {
		rd.t.open(t)
		rd.stack = append(rd.stack, frame{role: roleOther})
		return
	}
	local := t.Name.Local
	if t.Name.Space != nsV3 {
		local = ""
	}
	p := rd.parent()
	f := frame{role: roleOther}
	switch {
	case p == nil:
		f.role = roleDoc
	case p.role == roleNarrative:
		f.role = roleNarrative
		rd.narrativeStart(&f, p, local, t.Attr)
	case local == "section":
		f.role = roleSection
		f.sec = &section{}
	case p.role == roleSection:
		rd.sectionChild(&f, p.sec, local, t)
	case p.role == roleDoc:
		rd.docChild(&f, local, t.Attr)
	case p.role == roleRecordTarget && local == "patientRole":
		f.role = rolePatientRole
	case p.role == rolePatientRole && local == "patient":
		f.role = rolePatient
	case p.role == rolePatient:
		rd.patientChild(&f, local, t.Attr)
	case p.role == roleName && (local == "given" || local == "family"):
		if local == "given" {
			f.role = roleGiven
		} else {
			f.role = roleFamily
		}
		f.capture = len(rd.scratch)
	}
	rd.stack = append(rd.stack, f)
}

func (rd *reader) docChild(f *frame, local string, attrs []xml.Attr) {
	d := rd.doc
	switch local {
	case "recordTarget":
		f.role = roleRecordTarget
	case "title":
		f.role = roleTitle
		f.capture = len(rd.scratch)
	case "code":
		d.TypeCode = attr(attrs, "code")
	case "effectiveTime":
		d.Date = tsDate(attr(attrs, "value"))
	case "templateId":
		if strings.HasPrefix(attr(attrs, "root"), tplPrefix+"22.1.") {
			v := versionOf(attr(attrs, "extension"))
			if versionRank(v) > versionRank(d.Version) {
				d.Version = v
			}
		}
	}
}

func (rd *reader) patientChild(f *frame, local string, attrs []xml.Attr) {
	p := &rd.doc.Patient
	switch local {
	case "name":
		rd.nameN++
		legal := attr(attrs, "use") == "L"
		// The first name, unless a later one is the legal name.
		if rd.nameN == 1 || legal && !rd.inLeg {
			f.role = roleName
			p.Given, p.Family = nil, ""
			rd.inLeg = legal
		}
	case "birthTime":
		p.BirthDate = tsDate(attr(attrs, "value"))
	case "administrativeGenderCode":
		switch strings.ToUpper(attr(attrs, "code")) {
		case "M":
			p.Sex = "M"
		case "F":
			p.Sex = "F"
		case "UN":
			p.Sex = "X"
		}
	}
}

func (rd *reader) sectionChild(f *frame, s *section, local string, t xml.StartElement) {
	switch local {
	case "templateId":
		if !s.decided {
			s.roots = append(s.roots, attr(t.Attr, "root"))
		}
	case "code":
		if !s.decided {
			s.code = attr(t.Attr, "code")
		}
	case "text":
		f.role = roleNarrative
		rd.inNar++
	case "entry":
		if !s.decided {
			s.kind = sectionKind(s.roots, s.code)
			s.decided = true
		}
		if s.kind != kindNone {
			rd.inEntry = rd.depth
			rd.entryK = s.kind
			rd.t.reset()
			rd.t.open(t)
		}
	}
}

func (rd *reader) narrativeStart(f *frame, p *frame, local string, attrs []xml.Attr) {
	switch {
	case local == "tr":
		f.isRow = true
		f.row = &row{}
	case p.isRow && (local == "td" || local == "th") && !p.row.hasCell:
		f.isCell = true
	}
	f.idStart = len(rd.narr)
	if id := attr(attrs, "ID"); id != "" {
		f.id = id
		if f.isRow {
			f.row.ids = append(f.row.ids, id)
		}
		for i := len(rd.stack) - 1; i >= 0 && rd.stack[i].role == roleNarrative; i-- {
			if rd.stack[i].isRow {
				rd.stack[i].row.ids = append(rd.stack[i].row.ids, id)
			}
		}
	}
}

func (rd *reader) end() {
	n := len(rd.stack) - 1
	f := rd.stack[n]
	rd.stack = rd.stack[:n]
	if rd.inEntry > 0 {
		rd.t.close()
		if rd.depth == rd.inEntry {
			rd.inEntry = 0
			rd.entry(rd.entryK)
		}
		return
	}
	switch f.role {
	case roleTitle:
		rd.doc.Title = norm(string(rd.scratch[f.capture:]))
		rd.scratch = rd.scratch[:f.capture]
	case roleGiven:
		if g := norm(string(rd.scratch[f.capture:])); g != "" {
			rd.doc.Patient.Given = append(rd.doc.Patient.Given, g)
		}
		rd.scratch = rd.scratch[:f.capture]
	case roleFamily:
		if rd.doc.Patient.Family == "" {
			rd.doc.Patient.Family = norm(string(rd.scratch[f.capture:]))
		}
		rd.scratch = rd.scratch[:f.capture]
	case roleNarrative:
		if f.id != "" {
			if _, ok := rd.ids[f.id]; !ok {
				rd.ids[f.id] = span{f.idStart, len(rd.narr)}
			}
		}
		if f.isCell {
			p := rd.parent()
			if p != nil && p.isRow && !p.row.hasCell {
				p.row.firstCell = span{f.idStart, len(rd.narr)}
				p.row.hasCell = true
			}
		}
		if f.isRow {
			for _, id := range f.row.ids {
				// Outer rows close last: the outermost row wins.
				rd.rows[id] = f.row.firstCell
			}
		}
		if p := rd.parent(); p == nil || p.role != roleNarrative {
			rd.inNar--
		}
	}
}

func (rd *reader) chars(c xml.CharData) {
	switch {
	case rd.inEntry > 0:
		rd.t.text = append(rd.t.text, c...)
	case rd.inNar > 0:
		rd.narr = append(rd.narr, c...)
	default:
		if f := rd.parent(); f != nil {
			switch f.role {
			case roleTitle, roleGiven, roleFamily:
				rd.scratch = append(rd.scratch, c...)
			}
		}
	}
}

// attr returns the value of the attribute with that local name and no namespace.
func attr(attrs []xml.Attr, local string) string {
	for _, a := range attrs {
		if a.Name.Local == local && a.Name.Space == "" {
			return a.Value
		}
	}
	return ""
}
