package ccda

import "strings"

// A reference read before the narrative it points to (a pointer into a
// later section) is held as a marker and resolved once the whole document
// is read; one that points nowhere becomes "".
const (
	pendingText = "\x00t" // + ID: the text of the element with that ID
	pendingRow  = "\x00r" // + ID: the first cell of that element's table row
)

func (rd *reader) resolvePending() {
	fix := func(s *string) {
		if len(*s) < 2 || (*s)[0] != 0 {
			return
		}
		id := (*s)[2:]
		var sp span
		var ok bool
		if strings.HasPrefix(*s, pendingRow) {
			sp, ok = rd.rows[id]
		}
		if !ok {
			sp, ok = rd.ids[id]
		}
		if !ok {
			*s = ""
			return
		}
		*s = normBytes(rd.narr[sp.start:sp.end])
	}
	fixLower := func(s *string) {
		if len(*s) > 0 && (*s)[0] == 0 {
			fix(s)
			*s = strings.ToLower(*s)
		}
	}
	d := rd.doc
	for i := range d.Medications {
		m := &d.Medications[i]
		for _, s := range []*string{&m.Name, &m.Dose, &m.Route} {
			fix(s)
		}
		fixLower(&m.Status)
	}
	for i := range d.Results {
		r := &d.Results[i]
		for _, s := range []*string{&r.Name, &r.Value, &r.Range} {
			fix(s)
		}
	}
	for i := range d.Vitals {
		v := &d.Vitals[i]
		fix(&v.Name)
		fix(&v.Value)
	}
	for i := range d.Problems {
		p := &d.Problems[i]
		fix(&p.Name)
		fixLower(&p.Status)
	}
	for i := range d.Allergies {
		a := &d.Allergies[i]
		for _, s := range []*string{&a.Name, &a.Reaction, &a.Severity} {
			fix(s)
		}
		fixLower(&a.Status)
	}
	for i := range d.Procedures {
		fix(&d.Procedures[i].Name)
	}
}
