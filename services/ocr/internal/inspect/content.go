package inspect

import (
	"bytes"
	"math"
	"strconv"
)

// Matrix is a PDF transformation matrix [a b c d e f].
type Matrix [6]float64

// Identity is the identity matrix.
var Identity = Matrix{1, 0, 0, 1, 0, 0}

// Mul returns m×n: first m, then n.
func (m Matrix) Mul(n Matrix) Matrix {
	return Matrix{
		m[0]*n[0] + m[1]*n[2], m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2], m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4], m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

// Apply maps the point (x, y).
func (m Matrix) Apply(x, y float64) (float64, float64) {
	return m[0]*x + m[2]*y + m[4], m[1]*x + m[3]*y + m[5]
}

// Rect is an axis-aligned rectangle in user space.
type Rect struct{ X0, Y0, X1, Y1 float64 }

// Width and Height of r.
func (r Rect) Width() float64  { return r.X1 - r.X0 }
func (r Rect) Height() float64 { return r.Y1 - r.Y0 }

// Area of r, 0 when empty.
func (r Rect) Area() float64 {
	if r.X1 <= r.X0 || r.Y1 <= r.Y0 {
		return 0
	}
	return (r.X1 - r.X0) * (r.Y1 - r.Y0)
}

// Intersect returns the overlap of r and s.
func (r Rect) Intersect(s Rect) Rect {
	return Rect{max(r.X0, s.X0), max(r.Y0, s.Y0), min(r.X1, s.X1), min(r.Y1, s.Y1)}
}

// Placed is an image drawn on a page.
type Placed struct {
	Width, Height int    // pixels
	CTM           Matrix // maps the unit square to user space
	Box           Rect   // bounding box of the placed image in user space
	Axis          bool   // placed without rotation or shear (other than 90° steps)
	Inline        bool   // an inline image (BI … ID … EI)
	Ref           string // resource key of an image XObject (its object number), "" for inline
}

// Stats is what a content stream draws.
type Stats struct {
	VisibleChars   int // bytes shown with a visible text render mode
	InvisibleChars int // bytes shown with render mode 3 (or 7): an OCR layer
	Images         []Placed
	Ops            int // operators scanned
}

// Resolver answers what a named XObject is, for Do.
type Resolver interface {
	// XObject reports the kind of the XObject named name in the current
	// resources: "image" with its pixel size, or "form" with its matrix, its
	// content and the resolver of its own resources.
	XObject(name string) (x XObject, ok bool)
}

// XObject is an external object a content stream draws with Do.
type XObject struct {
	Kind          string // "image" or "form"
	Width, Height int
	Ref           string
	Matrix        Matrix
	Content       []byte
	Resources     Resolver
}

// Limits bound the work of one scan (a hostile PDF can nest forms and repeat
// operators without end).
type Limits struct {
	MaxOps   int // operators in total, all forms included
	MaxDepth int // form nesting
	MaxImgs  int // placed images kept
}

// DefaultLimits are generous for real documents.
var DefaultLimits = Limits{MaxOps: 2_000_000, MaxDepth: 12, MaxImgs: 10_000}

// Scan walks a content stream and counts what it draws. It never fails:
// malformed syntax is skipped, as viewers do.
func Scan(content []byte, res Resolver, base Matrix, lim Limits) Stats {
	s := &scanner{lim: lim}
	s.run(content, res, base, 0)
	return s.st
}

type gstate struct {
	ctm  Matrix
	mode int // text render mode
}

type scanner struct {
	st  Stats
	lim Limits
}

func (s *scanner) run(content []byte, res Resolver, base Matrix, depth int) {
	lx := lexer{data: content}
	gs := gstate{ctm: base}
	var stack []gstate
	var operands []token
	for {
		if s.st.Ops >= s.lim.MaxOps {
			return
		}
		tok, ok := lx.next()
		if !ok {
			return
		}
		if tok.kind != tokOp {
			if len(operands) < 64 {
				operands = append(operands, tok)
			}
			continue
		}
		s.st.Ops++
		op := string(tok.val)
		switch op {
		case "q":
			if len(stack) < 4096 {
				stack = append(stack, gs)
			}
		case "Q":
			if n := len(stack); n > 0 {
				gs = stack[n-1]
				stack = stack[:n-1]
			}
		case "cm":
			if m, ok := matrixOf(operands); ok {
				gs.ctm = m.Mul(gs.ctm)
			}
		case "Tr":
			if len(operands) == 1 && operands[0].kind == tokNum {
				gs.mode = int(operands[0].num)
			}
		case "BT":
			// Text render mode is part of the graphics state, kept across BT.
		case "Tj", "'":
			if n := len(operands); n >= 1 {
				s.text(gs, operands[n-1])
			}
		case "\"":
			if n := len(operands); n >= 1 {
				s.text(gs, operands[n-1])
			}
		case "TJ":
			if n := len(operands); n >= 1 && operands[n-1].kind == tokArray {
				s.text(gs, operands[n-1])
			}
		case "Do":
			if len(operands) == 1 && operands[0].kind == tokName && res != nil {
				s.do(string(operands[0].val), res, gs, depth)
			}
		case "BI":
			s.inline(&lx, gs)
		}
		operands = operands[:0]
	}
}

func (s *scanner) text(gs gstate, t token) {
	n := t.strBytes
	if gs.mode == 3 || gs.mode == 7 {
		s.st.InvisibleChars += n
	} else {
		s.st.VisibleChars += n
	}
}

func (s *scanner) do(name string, res Resolver, gs gstate, depth int) {
	x, ok := res.XObject(name)
	if !ok {
		return
	}
	switch x.Kind {
	case "image":
		s.place(gs.ctm, x.Width, x.Height, x.Ref, false)
	case "form":
		if depth+1 >= s.lim.MaxDepth {
			return
		}
		s.run(x.Content, x.Resources, x.Matrix.Mul(gs.ctm), depth+1)
	}
}

func (s *scanner) place(ctm Matrix, w, h int, ref string, inline bool) {
	if len(s.st.Images) >= s.lim.MaxImgs {
		return
	}
	xs, ys := make([]float64, 0, 4), make([]float64, 0, 4)
	for _, c := range [4][2]float64{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
		x, y := ctm.Apply(c[0], c[1])
		xs, ys = append(xs, x), append(ys, y)
	}
	box := Rect{minOf(xs), minOf(ys), maxOf(xs), maxOf(ys)}
	const eps = 1e-6
	scale := math.Max(math.Abs(ctm[0])+math.Abs(ctm[1]), math.Abs(ctm[2])+math.Abs(ctm[3]))
	axis := (math.Abs(ctm[1]) <= eps*scale && math.Abs(ctm[2]) <= eps*scale) ||
		(math.Abs(ctm[0]) <= eps*scale && math.Abs(ctm[3]) <= eps*scale)
	s.st.Images = append(s.st.Images, Placed{Width: w, Height: h, CTM: ctm, Box: box, Axis: axis, Inline: inline, Ref: ref})
}

// inline skips an inline image, recording it.
func (s *scanner) inline(lx *lexer, gs gstate) {
	w, h := 0, 0
	var key string
	for {
		tok, ok := lx.next()
		if !ok {
			return
		}
		if tok.kind == tokOp && string(tok.val) == "ID" {
			break
		}
		switch tok.kind {
		case tokName:
			key = string(tok.val)
			continue
		case tokNum:
			switch key {
			case "W", "Width":
				w = int(tok.num)
			case "H", "Height":
				h = int(tok.num)
			}
		}
		key = ""
	}
	// Binary data follows one white-space byte and ends at "EI" between
	// white space (a heuristic every reader uses).
	d := lx.data[lx.pos:]
	end := len(d)
	for i := 1; i+2 <= len(d); i++ {
		if d[i] == 'E' && d[i+1] == 'I' && isSpace(d[i-1]) && (i+2 == len(d) || isSpace(d[i+2]) || isDelim(d[i+2])) {
			end = i + 2
			break
		}
	}
	lx.pos += end
	s.place(gs.ctm, w, h, "", true)
}

func matrixOf(ops []token) (Matrix, bool) {
	if len(ops) != 6 {
		return Matrix{}, false
	}
	var m Matrix
	for i, t := range ops {
		if t.kind != tokNum || math.IsNaN(t.num) || math.IsInf(t.num, 0) {
			return Matrix{}, false
		}
		m[i] = t.num
	}
	return m, true
}

func minOf(v []float64) float64 {
	m := v[0]
	for _, x := range v[1:] {
		m = math.Min(m, x)
	}
	return m
}

func maxOf(v []float64) float64 {
	m := v[0]
	for _, x := range v[1:] {
		m = math.Max(m, x)
	}
	return m
}

type tokKind int

const (
	tokOp tokKind = iota
	tokNum
	tokName
	tokString
	tokArray
	tokDict
	tokOther
)

type token struct {
	kind     tokKind
	val      []byte
	num      float64
	strBytes int // bytes of string data (for arrays: of all strings inside)
}

type lexer struct {
	data []byte
	pos  int
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isDelim(c byte) bool {
	return bytes.IndexByte([]byte("()<>[]{}/%"), c) >= 0
}

func (lx *lexer) skipSpace() {
	for lx.pos < len(lx.data) {
		c := lx.data[lx.pos]
		if isSpace(c) {
			lx.pos++
			continue
		}
		if c == '%' {
			for lx.pos < len(lx.data) && lx.data[lx.pos] != '\n' && lx.data[lx.pos] != '\r' {
				lx.pos++
			}
			continue
		}
		return
	}
}

// next returns the next token; arrays and dictionaries come back whole.
func (lx *lexer) next() (token, bool) {
	return lx.nextDepth(0)
}

func (lx *lexer) nextDepth(depth int) (token, bool) {
	lx.skipSpace()
	if lx.pos >= len(lx.data) {
		return token{}, false
	}
	d := lx.data
	c := d[lx.pos]
	switch {
	case c == '(':
		return lx.literal(), true
	case c == '<' && lx.pos+1 < len(d) && d[lx.pos+1] == '<':
		lx.pos += 2
		return lx.container(tokDict, ">>", depth), true
	case c == '<':
		return lx.hex(), true
	case c == '[':
		lx.pos++
		return lx.container(tokArray, "]", depth), true
	case c == '/':
		start := lx.pos + 1
		lx.pos++
		for lx.pos < len(d) && !isSpace(d[lx.pos]) && !isDelim(d[lx.pos]) {
			lx.pos++
		}
		return token{kind: tokName, val: d[start:lx.pos]}, true
	case c == ']' || c == '>' || c == ')' || c == '{' || c == '}':
		lx.pos++
		return token{kind: tokOther}, true
	}
	start := lx.pos
	for lx.pos < len(d) && !isSpace(d[lx.pos]) && !isDelim(d[lx.pos]) {
		lx.pos++
	}
	w := d[start:lx.pos]
	if (w[0] >= '0' && w[0] <= '9') || w[0] == '-' || w[0] == '+' || w[0] == '.' {
		if f, err := strconv.ParseFloat(string(w), 64); err == nil {
			return token{kind: tokNum, num: f, val: w}, true
		}
		return token{kind: tokOther, val: w}, true
	}
	return token{kind: tokOp, val: w}, true
}

func (lx *lexer) container(kind tokKind, end string, depth int) token {
	t := token{kind: kind}
	for {
		lx.skipSpace()
		if lx.pos >= len(lx.data) {
			return t
		}
		if bytes.HasPrefix(lx.data[lx.pos:], []byte(end)) {
			lx.pos += len(end)
			return t
		}
		if depth > 32 {
			lx.pos++
			continue
		}
		inner, ok := lx.nextDepth(depth + 1)
		if !ok {
			return t
		}
		if inner.kind == tokOp && (string(inner.val) == "BI" || string(inner.val) == "ID") {
			return t // not an array after all
		}
		if inner.kind == tokString || inner.kind == tokArray {
			t.strBytes += inner.strBytes
		}
	}
}

func (lx *lexer) literal() token {
	d := lx.data
	lx.pos++ // (
	depth, n := 1, 0
	for lx.pos < len(d) {
		c := d[lx.pos]
		lx.pos++
		switch c {
		case '\\':
			if lx.pos < len(d) {
				e := d[lx.pos]
				lx.pos++
				if e >= '0' && e <= '7' {
					for k := 0; k < 2 && lx.pos < len(d) && d[lx.pos] >= '0' && d[lx.pos] <= '7'; k++ {
						lx.pos++
					}
				} else if e == '\r' || e == '\n' {
					if e == '\r' && lx.pos < len(d) && d[lx.pos] == '\n' {
						lx.pos++
					}
					continue
				}
			}
			n++
		case '(':
			depth++
			n++
		case ')':
			depth--
			if depth == 0 {
				return token{kind: tokString, strBytes: n}
			}
			n++
		default:
			n++
		}
	}
	return token{kind: tokString, strBytes: n}
}

func (lx *lexer) hex() token {
	d := lx.data
	lx.pos++ // <
	digits := 0
	for lx.pos < len(d) && d[lx.pos] != '>' {
		c := d[lx.pos]
		if (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') {
			digits++
		}
		lx.pos++
	}
	if lx.pos < len(d) {
		lx.pos++
	}
	return token{kind: tokString, strBytes: (digits + 1) / 2}
}
