package ccda

// tree is one entry of a section read as a small tree, so that the rules
// for its fields can look around it. Nodes and attributes live in slices
// reused from entry to entry; a node's text is a span of one buffer, so the
// text of any node is that of all its descendants in document order.
type tree struct {
	nodes []node
	attrs []xattr
	text  []byte
	stack []int32
}

type node struct {
	name              string // local name of an urn:hl7-org:v3 element, "" for other namespaces
	a0, a1            int32  // attributes: tree.attrs[a0:a1]
	first, last, next int32  // children as a linked list; none when absent
	t0, t1            int32  // text span in tree.text
}

const none = int32(-1)

func (t *tree) init() {
	t.nodes = make([]node, 0, 64)
	t.attrs = make([]xattr, 0, 128)
}

func (t *tree) reset() {
	t.nodes = t.nodes[:0]
	t.attrs = t.attrs[:0]
	t.text = t.text[:0]
	t.stack = t.stack[:0]
}

func (t *tree) open(sc *scanner) {
	name := sc.local
	if !sc.v3 {
		name = ""
	}
	i := int32(len(t.nodes))
	a0 := int32(len(t.attrs))
	t.attrs = append(t.attrs, sc.attrs...)
	t.nodes = append(t.nodes, node{name: name, a0: a0, a1: int32(len(t.attrs)),
		first: none, last: none, next: none, t0: int32(len(t.text))})
	if k := len(t.stack); k > 0 {
		p := &t.nodes[t.stack[k-1]]
		if p.last == none {
			p.first = i
		} else {
			t.nodes[p.last].next = i
		}
		p.last = i
	}
	t.stack = append(t.stack, i)
}

func (t *tree) close() {
	k := len(t.stack) - 1
	t.nodes[t.stack[k]].t1 = int32(len(t.text))
	t.stack = t.stack[:k]
}

func (t *tree) attrsOf(n int32) []xattr { return t.attrs[t.nodes[n].a0:t.nodes[n].a1] }

// child returns the first child of n with that name, or none.
func (t *tree) child(n int32, name string) int32 {
	if n == none {
		return none
	}
	for c := t.nodes[n].first; c != none; c = t.nodes[c].next {
		if t.nodes[c].name == name {
			return c
		}
	}
	return none
}

// find follows a path of child names the way ElementTree's find does: the
// first match in document order over all the branches.
func (t *tree) find(n int32, path ...string) int32 {
	if n == none {
		return none
	}
	for c := t.nodes[n].first; c != none; c = t.nodes[c].next {
		if t.nodes[c].name != path[0] {
			continue
		}
		if len(path) == 1 {
			return c
		}
		if r := t.find(c, path[1:]...); r != none {
			return r
		}
	}
	return none
}

// each calls fn for every child of n with that name.
func (t *tree) each(n int32, name string, fn func(c int32)) {
	if n == none {
		return
	}
	for c := t.nodes[n].first; c != none; c = t.nodes[c].next {
		if t.nodes[c].name == name {
			fn(c)
		}
	}
}

func (t *tree) attr(n int32, local string) string {
	if n == none {
		return ""
	}
	return attr(t.attrsOf(n), local)
}

func (t *tree) has(n int32, local string) bool {
	if n == none {
		return false
	}
	for _, a := range t.attrsOf(n) {
		if a.local == local && a.prefix == "" {
			return true
		}
	}
	return false
}

// xsiType returns the xsi:type of n without a prefix ("PQ", "IVL_TS").
func (t *tree) xsiType(n int32) string {
	if n == none {
		return ""
	}
	for _, a := range t.attrsOf(n) {
		if a.local == "type" && a.xsi {
			v := a.value
			for i := len(v) - 1; i >= 0; i-- {
				if v[i] == ':' {
					return v[i+1:]
				}
			}
			return v
		}
	}
	return ""
}

// textOf is the whitespace-normalised text of n and its descendants.
func (t *tree) textOf(n int32) string {
	if n == none {
		return ""
	}
	return normBytes(t.text[t.nodes[n].t0:t.nodes[n].t1])
}

// templates reports whether n has a templateId child with one of the roots.
func (t *tree) templates(n int32, roots ...string) bool {
	if n == none {
		return false
	}
	for c := t.nodes[n].first; c != none; c = t.nodes[c].next {
		if t.nodes[c].name != "templateId" {
			continue
		}
		r := t.attr(c, "root")
		for _, x := range roots {
			if r == x {
				return true
			}
		}
	}
	return false
}
