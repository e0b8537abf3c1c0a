package ccda

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
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
	src, err := readAll(r, opt.maxBytes())
	if err != nil {
		return nil, err
	}
	return readString(src, opt, SourceXML)
}

// readAll reads r to its end through the limit, in one buffer sized from
// the reader's length when it tells it.
func readAll(r io.Reader, limit int64) (string, error) {
	hint := int64(64 << 10)
	switch v := r.(type) {
	case interface{ Len() int }:
		hint = int64(v.Len())
		if hint > limit {
			return "", fmt.Errorf("%w (limit %d bytes)", ErrTooLarge, limit)
		}
		// A reader that knows its length (bytes.Reader, strings.Reader,
		// bytes.Buffer) is within the limit: copy it once, directly.
		if wt, ok := r.(io.WriterTo); ok {
			var b strings.Builder
			b.Grow(int(hint))
			if _, err := wt.WriteTo(&b); err != nil {
				return "", fmt.Errorf("ccda: read: %w", err)
			}
			return b.String(), nil
		}
	case interface{ Stat() (fs.FileInfo, error) }:
		if fi, err := v.Stat(); err == nil && fi.Mode().IsRegular() {
			hint = min(fi.Size(), limit)
		}
	}
	lr := &limited{r: r, limit: limit}
	buf := make([]byte, 0, hint+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return string(buf), nil
		}
		if errors.Is(err, ErrTooLarge) {
			return "", fmt.Errorf("%w (limit %d bytes)", ErrTooLarge, limit)
		}
		if err != nil {
			return "", fmt.Errorf("ccda: read: %w", err)
		}
	}
}

// limited passes at most limit bytes and then fails with ErrTooLarge, so a
// long input is refused as soon as it passes the limit.
type limited struct {
	r     io.Reader
	n     int64 // bytes passed so far
	limit int64
}

func (l *limited) Read(p []byte) (int, error) {
	if l.n >= l.limit {
		// One byte more decides between "exactly limit" and "too large".
		var one [1]byte
		k, err := l.r.Read(one[:])
		if k > 0 {
			return 0, ErrTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > l.limit-l.n {
		p = p[:l.limit-l.n]
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
	doc   *Document
	sc    scanner
	stack []frame
	depth int

	scratch []byte // captured header text

	narr  []byte          // all narrative text, in document order
	ids   map[string]span // narrative element ID -> its text
	rows  map[string]span // narrative element ID -> first cell of its table row
	row   *row            // the open outermost table row of the narrative
	inNar int             // >0 inside a section's <text>
	nameN int             // patient <name> elements seen
	inLeg bool            // the chosen patient name is use="L"

	t       tree // the entry being read, as a tree
	inEntry int  // depth of the open entry element, 0 when none
	entryK  int

	pending bool // some references were read before their narrative
}

// readString reads a whole document held in memory.
func readString(src string, opt Options, source string) (*Document, error) {
	if int64(len(src)) > opt.maxBytes() {
		return nil, fmt.Errorf("%w (limit %d bytes)", ErrTooLarge, opt.maxBytes())
	}
	src, err := prepare(src)
	if err != nil {
		return nil, err
	}
	d := &Document{Source: source}
	rd := &reader{doc: d, ids: map[string]span{}, rows: map[string]span{}}
	rd.narr = make([]byte, 0, len(src)/4)
	rd.t.init()
	sc := &rd.sc
	sc.reset(src)
	maxDepth := opt.maxDepth()
	for {
		if err := sc.next(); err != nil {
			if errors.Is(err, ErrEntities) {
				return nil, ErrEntities
			}
			return nil, &MalformedError{Line: sc.line(), Offset: int64(sc.pos)}
		}
		switch sc.kind {
		case tokEOF:
			if rd.pending {
				rd.resolvePending()
			}
			return d, nil
		case tokStart:
			rd.depth++
			if rd.depth > maxDepth {
				return nil, fmt.Errorf("%w (more than %d levels)", ErrTooDeep, maxDepth)
			}
			if rd.depth == 1 && (!sc.v3 || sc.local != "ClinicalDocument") {
				return nil, ErrNotCCDA
			}
			rd.start()
		case tokEnd:
			rd.end()
			rd.depth--
		case tokText:
			rd.chars(sc.text)
		}
	}
}

// prepare checks the input's encoding: UTF-8 (or ASCII) as it is, Latin-1
// and Windows-1252 converted; anything else, or bytes that are not XML
// characters, is malformed.
func prepare(src string) (string, error) {
	if strings.HasPrefix(src, "\xFE\xFF") || strings.HasPrefix(src, "\xFF\xFE") {
		return "", fmt.Errorf("%w: UTF-16 is not supported", &MalformedError{})
	}
	head := strings.TrimPrefix(src, "\xEF\xBB\xBF")
	if strings.HasPrefix(head, "<?xml") {
		if end := strings.Index(head, "?>"); end > 0 {
			enc, _ := pseudoAttr(head[5:end], "encoding")
			switch strings.ToLower(enc) {
			case "", "utf-8", "utf8", "us-ascii", "ascii":
			case "iso-8859-1", "latin1", "latin-1", "l1", "iso_8859-1", "windows-1252", "cp1252":
				src = decodeSingleByte(src, strings.Contains(enc, "1252"))
			default:
				return "", fmt.Errorf("%w: unsupported character encoding", &MalformedError{Line: 1})
			}
		}
	}
	if i := invalidAt(src); i >= 0 {
		return "", &MalformedError{Line: 1 + strings.Count(src[:i], "\n"), Offset: int64(i)}
	}
	return src, nil
}

func (rd *reader) parent() *frame {
	if len(rd.stack) == 0 {
		return nil
	}
	return &rd.stack[len(rd.stack)-1]
}

func (rd *reader) start() {
	sc := &rd.sc
	if rd.inEntry > 0 {
		rd.t.open(sc)
		rd.stack = append(rd.stack, frame{role: roleOther})
		return
	}
	local := sc.local
	if !sc.v3 {
		local = ""
	}
	p := rd.parent()
	f := frame{role: roleOther}
	switch {
	case p == nil:
		f.role = roleDoc
	case p.role == roleNarrative:
		f.role = roleNarrative
		rd.narrativeStart(&f, p, local, sc.attrs)
	case local == "section":
		f.role = roleSection
		f.sec = &section{}
	case p.role == roleSection:
		rd.sectionChild(&f, p.sec, local)
	case p.role == roleDoc:
		rd.docChild(&f, local, sc.attrs)
	case p.role == roleRecordTarget && local == "patientRole":
		f.role = rolePatientRole
	case p.role == rolePatientRole && local == "patient":
		f.role = rolePatient
	case p.role == rolePatient:
		rd.patientChild(&f, local, sc.attrs)
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

func (rd *reader) docChild(f *frame, local string, attrs []xattr) {
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

func (rd *reader) patientChild(f *frame, local string, attrs []xattr) {
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

func (rd *reader) sectionChild(f *frame, s *section, local string) {
	attrs := rd.sc.attrs
	switch local {
	case "templateId":
		if !s.decided {
			s.roots = append(s.roots, attr(attrs, "root"))
		}
	case "code":
		if !s.decided {
			s.code = attr(attrs, "code")
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
			rd.t.open(&rd.sc)
		}
	}
}

// narrativeStart keeps, for each ID in a section's narrative, where its
// text starts, and for the outermost table row around it (the first row in
// document order that holds it), the row's first cell: a medication's name
// column when the entry points at its sig.
func (rd *reader) narrativeStart(f *frame, p *frame, local string, attrs []xattr) {
	switch {
	case local == "tr" && rd.row == nil:
		f.isRow = true
		f.row = &row{}
		rd.row = f.row
	case p.isRow && (local == "td" || local == "th") && !p.row.hasCell:
		f.isCell = true
	}
	f.idStart = len(rd.narr)
	if id := attr(attrs, "ID"); id != "" {
		f.id = id
		if rd.row != nil {
			rd.row.ids = append(rd.row.ids, id)
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
				if _, ok := rd.rows[id]; !ok {
					rd.rows[id] = f.row.firstCell
				}
			}
			rd.row = nil
		}
		if p := rd.parent(); p == nil || p.role != roleNarrative {
			rd.inNar--
		}
	}
}

func (rd *reader) chars(c string) {
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

// attr returns the value of the unprefixed attribute with that name.
func attr(attrs []xattr, local string) string {
	for i := range attrs {
		if attrs[i].local == local && attrs[i].prefix == "" {
			return attrs[i].value
		}
	}
	return ""
}
