package checklist

import (
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/handoffmed/handoff/platform/record"
)

// foldAccents maps the accented Latin letters of names to their base letter,
// as passports' machine-readable zones write them.
func foldAccents(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0xc0 {
			return r
		}
		for base, set := range accentSets {
			if strings.ContainsRune(set, r) {
				return base
			}
		}
		return r
	}, s)
}

var accentSets = map[rune]string{
	'A': "ÀÁÂÃÄÅĀĂĄ", 'a': "àáâãäåāăą", 'C': "ÇĆČ", 'c': "çćč", 'D': "ĎĐ", 'd': "ďđ",
	'E': "ÈÉÊËĒĖĘĚ", 'e': "èéêëēėęě", 'I': "ÌÍÎÏĪĮİ", 'i': "ìíîïīįı", 'N': "ÑŃŇ", 'n': "ñńň",
	'O': "ÒÓÔÕÖØŌŐ", 'o': "òóôõöøōő", 'U': "ÙÚÛÜŪŮŰŲ", 'u': "ùúûüūůűų", 'Y': "ÝŸ", 'y': "ýÿ",
	'S': "ŚŠŞ", 's': "śšşß", 'Z': "ŹŻŽ", 'z': "źżž", 'L': "Ł", 'l': "ł", 'R': "Ř", 'r': "ř", 'T': "Ť", 't': "ť", 'G': "Ğ", 'g': "ğ",
}

// person is an identity as one source states it.
type person struct {
	tokens []string // upper-case name tokens, letters only
	dob    string   // YYYY-MM-DD or empty
}

// relation is how a record's identity relates to the reference identity.
type relation int

const (
	relSame       relation = iota // same name (order, case, punctuation, separators aside), same or unknown birth date
	relMisspelled                 // the same person written differently: a spelling or birth-date difference
	relOther                      // another person
)

// nameTokens splits a name as printed ("DOE, JANE A", "Doe^Jane^A",
// "GARCIA-LOPEZ<<MARIA") into upper-case tokens of letters, accents folded.
func nameTokens(s string) []string {
	folded := strings.NewReplacer("'", "", "’", "", "`", "").Replace(foldAccents(s))
	var out []string
	for _, f := range strings.FieldsFunc(strings.ToUpper(folded), func(r rune) bool {
		return !unicode.IsLetter(r)
	}) {
		// Titles and suffixes do not identify anyone.
		switch f {
		case "MR", "MRS", "MS", "MISS", "DR", "JR", "SR", "II", "III", "IV", "MD":
			continue
		}
		out = append(out, f)
	}
	return out
}

// sameName compares two names tolerantly of order, case, punctuation and
// separators, strictly on spelling: every full word of the shorter name
// must appear in the longer one (a missing middle name is tolerated), an
// initial must fit a word of the other name, and words split differently
// ("MARY ANN" and "MARYANN") are the same letters.
func sameName(a, b []string) bool {
	fa, ia := split(a)
	fb, ib := split(b)
	if len(fa) == 0 || len(fb) == 0 {
		return false
	}
	onlyA, onlyB, common := diff(fa, fb)
	if len(onlyA) > 0 && len(onlyB) > 0 {
		if !sameLetters(onlyA, onlyB) {
			return false
		}
		// The same letters split differently count as matched words.
		common = append(common, onlyA...)
	}
	if len(common) == 0 {
		return false
	}
	// A one-word match ("DOE" and "DOE JANE") is too little unless one side
	// only has one full word.
	if len(common) < 2 && len(fa) > 1 && len(fb) > 1 {
		return false
	}
	return initialsFit(ia, fb, ib) && initialsFit(ib, fa, ia)
}

func split(ts []string) (full, initials []string) {
	for _, t := range ts {
		if len([]rune(t)) == 1 {
			initials = append(initials, t)
		} else {
			full = append(full, t)
		}
	}
	return full, initials
}

// diff returns the words only in a, only in b, and in both (as multisets).
func diff(a, b []string) (onlyA, onlyB, common []string) {
	used := make([]bool, len(b))
	for _, x := range a {
		found := false
		for j, y := range b {
			if !used[j] && x == y {
				used[j], found = true, true
				break
			}
		}
		if found {
			common = append(common, x)
		} else {
			onlyA = append(onlyA, x)
		}
	}
	for j, y := range b {
		if !used[j] {
			onlyB = append(onlyB, y)
		}
	}
	return onlyA, onlyB, common
}

// sameLetters reports whether two word lists join to the same letters in
// some order of words ("MARY ANN" / "MARYANN").
func sameLetters(a, b []string) bool {
	ja, jb := strings.Join(a, ""), strings.Join(b, "")
	if len(ja) != len(jb) {
		return false
	}
	if len(a) == 1 && len(b) == 1 {
		return ja == jb
	}
	// Few words: try the orders of the longer list.
	long, other := a, jb
	if len(b) > len(a) {
		long, other = b, ja
	}
	if len(long) > 4 {
		return false
	}
	found := false
	permute(long, 0, func(p []string) {
		if strings.Join(p, "") == other {
			found = true
		}
	})
	return found
}

func permute(xs []string, k int, f func([]string)) {
	if k == len(xs) {
		f(xs)
		return
	}
	for i := k; i < len(xs); i++ {
		xs[k], xs[i] = xs[i], xs[k]
		permute(xs, k+1, f)
		xs[k], xs[i] = xs[i], xs[k]
	}
}

// initialsFit reports whether every initial fits the first letter of a word
// or initial of the other name.
func initialsFit(initials, otherFull, otherInitials []string) bool {
	for _, i := range initials {
		ok := false
		for _, w := range otherFull {
			if strings.HasPrefix(w, i) {
				ok = true
				break
			}
		}
		for _, w := range otherInitials {
			if w == i {
				ok = true
			}
		}
		if !ok && len(otherFull)+len(otherInitials) > 0 {
			// The other name has no word for the initial: a middle initial
			// that the other side leaves out is tolerated.
			ok = len(otherInitials) == 0
		}
		if !ok {
			return false
		}
	}
	return true
}

// similarName reports whether two names that are not the same could be the
// same person's name written differently: they share a word and the other
// words are close in spelling, or every word is close to one of the other.
func similarName(a, b []string) bool {
	fa, _ := split(a)
	fb, _ := split(b)
	onlyA, onlyB, common := diff(fa, fb)
	if len(fa) == 0 || len(fb) == 0 {
		return false
	}
	short, long := onlyA, onlyB
	if len(short) > len(long) {
		short, long = long, short
	}
	for _, w := range short {
		close := false
		for _, v := range long {
			if editDistance(w, v) <= 2 && min(len(w), len(v)) >= 3 {
				close = true
				break
			}
		}
		if !close {
			return false
		}
	}
	return len(common) > 0 || len(short) > 0
}

// compare relates a record's identity to the reference identity.
func compare(ref, rec person) relation {
	dobDiff := ref.dob != "" && rec.dob != "" && ref.dob != rec.dob
	switch {
	case len(rec.tokens) == 0:
		if dobDiff {
			return relMisspelled
		}
		return relSame
	case sameName(ref.tokens, rec.tokens):
		if dobDiff {
			return relMisspelled
		}
		return relSame
	case similarName(ref.tokens, rec.tokens) && !dobDiff:
		return relMisspelled
	}
	return relOther
}

// editDistance is the Levenshtein distance of two words.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

func (s *state) identity(f facts) {
	docs := s.byCat[record.CategoryPassport]
	pp, ppID := s.passport()
	if len(docs) == 0 {
		s.add(CodeIDMissing, record.SeverityError,
			"No passport: upload a clear photo of the passport's identification page (the page with the photo and the two lines of letters and < at the bottom).")
		s.part(record.PartID, record.PartMissing, nil)
		return
	}
	status := record.PartOK
	if pp == nil {
		hasZone := false
		for _, d := range docs {
			if d.d.Passport != nil {
				hasZone = true
			}
		}
		if hasZone {
			s.add(CodeIDUnreadable, record.SeverityWarning,
				"The passport's machine-readable lines (the two lines at the bottom) could not be read with valid check digits: upload a sharper, straight photo of the identification page.", ids(docs)...)
		} else {
			s.add(CodeIDNotPassport, record.SeverityWarning,
				"The identity document is not a passport or its machine-readable lines are not visible: hospitals abroad need the passport's identification page.", ids(docs)...)
		}
		s.part(record.PartID, record.PartWarning, ids(docs))
		return
	}
	if t, err := time.Parse(time.DateOnly, pp.Expiry); err == nil {
		switch {
		case !t.After(s.ref):
			s.add(CodeIDExpiry, record.SeverityWarning, "The passport has expired: renew it before travel.", ppID)
			status = record.PartWarning
		case t.Before(s.ref.AddDate(0, passportMinMonths, 0)):
			s.add(CodeIDExpiry, record.SeverityWarning, "The passport expires within 6 months: many countries require 6 months of validity for a visa.", ppID)
			status = record.PartWarning
		}
	}
	ref := person{tokens: nameTokens(pp.GivenNames + " " + pp.Surname), dob: pp.BirthDate}
	// A name longer than the zone's 39 characters is cut: its last word
	// may be the start of the records' word.
	truncated := len(strings.Fields(pp.Surname))+len(strings.Fields(pp.GivenNames)) > 0 &&
		len(strings.Join(strings.Fields(pp.Surname), "<"))+2+len(strings.Join(strings.Fields(pp.GivenNames), "<")) >= 39
	var nameDiff, dobDiff []string
	check := func(rec person, file string) {
		ref := ref
		// The zone holds the surname, then the given names: the cut word is
		// the last given name (or the surname when there is none).
		cut := len(nameTokens(pp.GivenNames)) - 1
		if cut < 0 {
			cut = len(ref.tokens) - 1
		}
		if truncated && cut >= 0 && cut < len(ref.tokens) {
			last := ref.tokens[cut]
			for _, w := range rec.tokens {
				if len(w) > len(last) && strings.HasPrefix(w, last) {
					ref.tokens = slices.Clone(ref.tokens)
					ref.tokens[cut] = w
					break
				}
			}
		}
		switch compare(ref, rec) {
		case relMisspelled:
			if sameName(ref.tokens, rec.tokens) || len(rec.tokens) == 0 {
				dobDiff = append(dobDiff, file)
			} else {
				nameDiff = append(nameDiff, file)
			}
		case relOther:
			// Only the case fields reach here as another person: the
			// passport is not the patient's the case describes.
			nameDiff = append(nameDiff, file)
		}
	}
	// The case fields.
	if p := s.c.Patient; p.FamilyName != "" || p.GivenName != "" || p.BirthDate != "" {
		check(person{tokens: nameTokens(p.GivenName + " " + p.FamilyName), dob: p.BirthDate}, "")
	}
	// Imaging headers (studies of another patient are reported as such).
	anchor, _ := s.anchor()
	for _, st := range s.studies {
		if st.PatientName == "" && st.PatientBirthDate == "" {
			continue
		}
		if compare(anchor, studyPerson(st)) == relOther {
			continue
		}
		rec := studyPerson(st)
		if compare(ref, rec) == relOther {
			continue
		}
		fs := studyFiles(st)
		if len(fs) > 0 {
			check(rec, fs[0])
		}
	}
	// Names and birth dates printed on documents with a text layer (names
	// read by OCR are too unsure to call a spelling difference).
	var otherDocs []string
	for _, cat := range sortedCats(s.byCat) {
		if cat == record.CategoryPassport {
			continue
		}
		for _, d := range s.byCat[cat] {
			if len(d.d.OCRPages) > 0 {
				continue
			}
			dob := ""
			if len(d.d.BirthDates) > 0 {
				dob = d.d.BirthDates[0]
			}
			if len(d.d.Names) == 0 {
				if dob != "" && ref.dob != "" && !slices.Contains(d.d.BirthDates, ref.dob) {
					dobDiff = append(dobDiff, d.id)
				}
				continue
			}
			best := relOther
			for _, n := range d.d.Names {
				best = min(best, compare(ref, person{tokens: nameTokens(n), dob: dob}))
			}
			switch best {
			case relSame:
			case relMisspelled:
				for _, n := range d.d.Names {
					if compare(ref, person{tokens: nameTokens(n), dob: dob}) == relMisspelled {
						check(person{tokens: nameTokens(n), dob: dob}, d.id)
						break
					}
				}
			default:
				// Only a different birth date as well makes it another
				// patient's document (a name read from the wrong field
				// must not).
				if dob != "" && ref.dob != "" && !slices.Contains(d.d.BirthDates, ref.dob) {
					otherDocs = append(otherDocs, d.id)
				}
			}
		}
	}
	if len(nameDiff) > 0 || len(dobDiff) > 0 {
		var what []string
		if len(nameDiff) > 0 {
			what = append(what, "the name is spelled differently")
		}
		if len(dobDiff) > 0 {
			what = append(what, "the birth date differs")
		}
		fs := append(append([]string{ppID}, nameDiff...), dobDiff...)
		fs = slices.DeleteFunc(fs, func(s string) bool { return s == "" })
		where := "records"
		if slices.Contains(nameDiff, "") || slices.Contains(dobDiff, "") {
			where = "records or the case details"
		}
		s.add(CodeIDNameMismatch, record.SeverityError,
			"The passport and the "+where+" do not agree: "+strings.Join(what, " and ")+
				". Names must be spelled the same on the passport, the records, visa paperwork and admission forms; ask for corrected records or correct the case details.", fs...)
		status = record.PartWarning
	}
	if len(otherDocs) > 0 {
		s.add(CodeDocPatientMismatch, record.SeverityWarning,
			plural(len(otherDocs), "document names", "documents name")+" a different patient than the passport: check that it belongs to this case.", otherDocs...)
	}
	s.part(record.PartID, status, ids(docs))
}
