package understand

import (
	"errors"
	"fmt"
	"strings"

	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/textfold"
)

// ICAO 9303 part 4: the machine-readable zone of a passport (TD3) is two
// lines of 44 characters from the set A-Z, 0-9 and the filler '<'.
const mrzLen = 44

// Errors of ReadMRZ. They never quote the zone itself.
var (
	ErrNoMRZ      = errors.New("no passport machine-readable zone found")
	ErrCheckDigit = errors.New("machine-readable zone check digit mismatch")
)

// CheckDigit computes an ICAO 9303 check digit: weights 7, 3, 1 repeating,
// digits count as themselves, A-Z as 10-35 and the filler as 0. ok is false
// when s holds a character outside the MRZ set.
func CheckDigit(s string) (digit byte, ok bool) {
	weights := [3]int{7, 3, 1}
	sum := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		var v int
		switch {
		case c >= '0' && c <= '9':
			v = int(c - '0')
		case c >= 'A' && c <= 'Z':
			v = int(c-'A') + 10
		case c == '<':
			v = 0
		default:
			return 0, false
		}
		sum += v * weights[i%3]
	}
	return byte('0' + sum%10), true
}

func checks(field string, digit byte) bool {
	d, ok := CheckDigit(field)
	return ok && d == digit
}

// ReadMRZ finds a TD3 machine-readable zone in OCR text and decodes it.
// It tolerates what OCR does to the zone: spaces inside the lines, '«' or
// other look-alikes for the filler, lower case, a filler run that lost or
// gained characters, and letters read for digits (O for 0, I for 1, ...) in
// fields whose check digit then proves the correction. The result's Valid
// is set only when every check digit of the zone verifies; a zone whose
// check digits do not verify is returned with Valid false and ErrCheckDigit.
func ReadMRZ(text string) (*record.Passport, error) {
	lines := candidateLines(text)
	var partial *record.Passport
	var partialErr error
	for i := 0; i+1 < len(lines); i++ {
		l1, ok := normaliseLine1(lines[i])
		if !ok {
			continue
		}
		// The second line normally follows the first; OCR sometimes puts a
		// junk line between them.
		for j := i + 1; j < len(lines) && j <= i+2; j++ {
			p, err := ParseTD3(l1, lines[j])
			if err == nil {
				correctFromVIZ(p, text)
				return p, nil
			}
			if p != nil && partial == nil {
				partial, partialErr = p, err
			}
		}
	}
	if partial != nil {
		return partial, partialErr
	}
	return nil, ErrNoMRZ
}

// candidateLines returns the text's lines cleaned to the MRZ alphabet, keeping
// only lines that could belong to a zone.
func candidateLines(text string) []string {
	var out []string
	for _, raw := range strings.Split(text, "\n") {
		l := cleanMRZLine(raw)
		if len(l) >= 30 && len(l) <= 60 {
			out = append(out, l)
		}
	}
	return out
}

// cleanMRZLine upper-cases a line, drops spaces and maps look-alikes of the
// filler to '<'. Other characters outside the MRZ set are dropped.
func cleanMRZLine(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '<':
			b.WriteRune(r)
		case r == '«' || r == '‹' || r == '≤' || r == '⟨' || r == '〈' || r == '(' || r == '[' || r == '{':
			b.WriteByte('<')
		case r == ' ' || r == '\t' || r == '\r':
		default:
			// '|', '.', ',' and the like are OCR noise.
		}
	}
	return b.String()
}

// normaliseLine1 checks that l looks like the first line of a passport zone
// and brings it to 44 characters (the name field ends in filler, so a run
// that OCR shortened or lengthened can be padded or cut).
func normaliseLine1(l string) (string, bool) {
	if len(l) < 10 || l[0] != 'P' {
		return "", false
	}
	// The second character is a type letter or the filler; OCR may read the
	// filler as K or C.
	if c := l[1]; c != '<' && (c < 'A' || c > 'Z') {
		return "", false
	}
	if strings.Count(l, "<") < 3 {
		return "", false
	}
	return fixFillerLength(fillerNoise(l)), true
}

// fillerNoise restores the trailing filler of the name field where OCR
// read some '<' as C, E or K: from the first "<<<" after the names, a run
// made only of those letters and '<' is all filler.
func fillerNoise(l string) string {
	for k := 5; k+3 <= len(l); k++ {
		if l[k:k+3] != "<<<" {
			continue
		}
		if strings.Trim(l[k:], "<CEK") == "" {
			return l[:k] + strings.Repeat("<", len(l)-k)
		}
		return l
	}
	return l
}

// fixFillerLength pads or trims the trailing filler of a line to 44.
func fixFillerLength(l string) string {
	if len(l) > mrzLen {
		extra := l[mrzLen:]
		if strings.Trim(extra, "<") == "" {
			return l[:mrzLen]
		}
		return l
	}
	return l + strings.Repeat("<", mrzLen-len(l))
}

// ParseTD3 decodes the two lines of a TD3 zone. It returns the decoded
// passport even when a check digit fails (with Valid false and an error
// wrapping ErrCheckDigit), and nil when the lines are not a TD3 zone.
func ParseTD3(line1, line2 string) (*record.Passport, error) {
	l1 := cleanMRZLine(line1)
	l2 := cleanMRZLine(line2)
	l1 = fillerNoise(l1)
	if len(l1) != mrzLen {
		l1 = fixFillerLength(l1)
	}
	if len(l1) != mrzLen || l1[0] != 'P' {
		return nil, fmt.Errorf("line 1: %w", ErrNoMRZ)
	}
	var first *record.Passport
	var firstErr error
	for _, c := range line2Candidates(l2) {
		p, err := decodeTD3(l1, c)
		if err == nil {
			return p, nil
		}
		if first == nil {
			first, firstErr = p, err
		}
	}
	if first == nil {
		return nil, fmt.Errorf("line 2: %w", ErrNoMRZ)
	}
	return first, firstErr
}

// line2Candidates lists the ways to read a second line as 44 characters:
// as it is, cut after 44 (OCR adds noise at the edge), or with its filler
// run lengthened or shortened.
func line2Candidates(l string) []string {
	var out []string
	if len(l) == mrzLen {
		out = append(out, l)
	}
	if len(l) > mrzLen && len(l) <= mrzLen+3 {
		out = append(out, l[:mrzLen])
	}
	if f, ok := fitLine2(l); ok && f != l {
		out = append(out, f)
	}
	return out
}

// decodeTD3 decodes two 44-character lines.
func decodeTD3(l1, l2 string) (*record.Passport, error) {

	p := &record.Passport{}
	surname, given := splitName(l1[5:44])
	p.Surname, p.GivenNames = surname, given

	// Line 2 fields, with OCR repairs proven by their check digits.
	docNum, docOK := repairField(l2[0:9], l2[9], docNumberAlt, false)
	nat := alphaOnly(l2[10:13])
	dob, dobOK := repairField(l2[13:19], l2[19], numericAlt, true)
	sex := l2[20]
	exp, expOK := repairField(l2[21:27], l2[27], numericAlt, true)
	opt := l2[28:42]
	if strings.Count(opt, "<") >= 8 && strings.Trim(opt, "<CEK") == "" {
		opt = strings.Repeat("<", 14) // filler read as C, E or K
	}
	optCheck := l2[42]
	if optCheck != '<' {
		optCheck = digitOf(optCheck)
	}
	optOK := checks(opt, optCheck) || (strings.Trim(opt, "<") == "" && (optCheck == '<' || optCheck == '0'))
	composite := docNum + string(digitOf(l2[9])) + dob + string(digitOf(l2[19])) + exp + string(digitOf(l2[27])) + opt + string(optCheck)
	compOK := checks(composite, digitOf(l2[43]))

	p.DocumentNumber = strings.TrimRight(docNum, "<")
	p.Nationality = strings.TrimRight(nat, "<")
	switch sex {
	case 'M', 'F', 'X':
		p.Sex = string(sex)
	}
	if d, ok := mrzDate(dob); ok {
		p.BirthDate = d
	}
	if d, ok := mrzDate(exp); ok {
		p.Expiry = d
	}
	if p.BirthDate != "" && p.Expiry != "" {
		p.BirthDate = birthCentury(dob, exp)
		p.Expiry = expiryDate(exp)
	}
	p.Valid = docOK && dobOK && expOK && optOK && compOK && p.BirthDate != "" && p.Expiry != "" && p.Surname != ""
	if !p.Valid {
		return p, fmt.Errorf("passport zone: %w", ErrCheckDigit)
	}
	return p, nil
}

// fitLine2 brings a second line to 44 characters when OCR lost or added
// filler in the optional-data field (the only long filler run of line 2).
func fitLine2(l string) (string, bool) {
	if len(l) == mrzLen {
		return l, true
	}
	if len(l) < mrzLen-4 || len(l) > mrzLen+4 {
		return "", false
	}
	// Adjust the longest run of '<' that starts at or after position 28.
	start, end := -1, -1
	for i := 20; i < len(l); i++ {
		if l[i] == '<' {
			j := i
			for j < len(l) && l[j] == '<' {
				j++
			}
			if end-start < j-i {
				start, end = i, j
			}
			i = j
		}
	}
	if start < 0 {
		return "", false
	}
	diff := mrzLen - len(l)
	if diff > 0 {
		return l[:start] + strings.Repeat("<", diff) + l[start:], true
	}
	if end-start+diff < 0 {
		return "", false
	}
	return l[:start] + l[start-diff:], true
}

// splitName splits the name field: primary identifier, "<<", secondary
// identifiers separated by '<'.
func splitName(f string) (surname, given string) {
	f = strings.TrimRight(f, "<")
	s, g, _ := strings.Cut(f, "<<")
	clean := func(x string) string {
		x = strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return -1 // digits never occur in names
			}
			return r
		}, x)
		return strings.Join(strings.FieldsFunc(x, func(r rune) bool { return r == '<' }), " ")
	}
	return clean(s), clean(g)
}

func alphaOnly(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '0':
			return 'O'
		case '1':
			return 'I'
		case '5':
			return 'S'
		case '8':
			return 'B'
		}
		return r
	}, s)
}

// Look-alikes OCR confuses. numericAlt maps letters read in a digits-only
// field; docNumberAlt lists both ways for the alphanumeric document number.
var (
	numericAlt = map[byte][]byte{
		'O': {'0'}, 'Q': {'0'}, 'D': {'0'}, 'U': {'0'}, 'I': {'1'}, 'L': {'1'}, 'T': {'1'},
		'Z': {'2'}, 'S': {'5'}, 'B': {'8'}, 'G': {'6'}, 'A': {'4'},
	}
	// Only O and 0 are swapped in the document number: every extra
	// look-alike would give a wrong number a further chance to pass its
	// check digit by luck.
	docNumberAlt = map[byte][]byte{'O': {'0'}, '0': {'O'}}
)

// repairField returns the field unchanged when its check digit verifies.
// Otherwise it tries the look-alike substitutions (O and 0 only, at most 2^6 variants)
// and returns the first variant that the check digit proves. The check
// digit itself is read with the numeric look-alikes.
func repairField(field string, check byte, alt map[byte][]byte, numeric bool) (string, bool) {
	check = digitOf(check)
	f := []byte(field)
	if numeric {
		// Letters are never valid in a numeric field: map them first.
		for i, c := range f {
			if c >= 'A' && c <= 'Z' {
				if rs, ok := alt[c]; ok {
					f[i] = rs[0]
				}
			}
		}
		s := string(f)
		return s, checks(s, check) && isDigits(s)
	}
	if checks(field, check) {
		return field, true
	}
	var pos []int
	for i, c := range f {
		if _, ok := alt[c]; ok {
			pos = append(pos, i)
		}
	}
	if len(pos) > 6 {
		pos = pos[:6]
	}
	for mask := 1; mask < 1<<len(pos); mask++ {
		g := []byte(field)
		for k, i := range pos {
			if mask&(1<<k) != 0 {
				g[i] = alt[g[i]][0]
			}
		}
		if checks(string(g), check) {
			return string(g), true
		}
	}
	return field, false
}

// digitOf reads a check digit that OCR may have read as a look-alike letter.
func digitOf(c byte) byte {
	if rs, ok := numericAlt[c]; ok {
		return rs[0]
	}
	return c
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// mrzDate checks a YYMMDD field.
func mrzDate(s string) (string, bool) {
	if !isDigits(s) || len(s) != 6 {
		return "", false
	}
	m := int(s[2]-'0')*10 + int(s[3]-'0')
	d := int(s[4]-'0')*10 + int(s[5]-'0')
	if m < 1 || m > 12 || d < 1 || d > 31 {
		return "", false
	}
	return s, true
}

// expiryDate puts an expiry in 20YY (passports issued since 1970 expire
// after 1970; 70-99 read as 19YY for old documents).
func expiryDate(s string) string {
	yy := int(s[0]-'0')*10 + int(s[1]-'0')
	year := 2000 + yy
	if yy >= 70 {
		year = 1900 + yy
	}
	return fmt.Sprintf("%04d-%s-%s", year, s[2:4], s[4:6])
}

// birthCentury puts a birth date in the latest century that is before the
// passport's expiry, which needs no clock.
func birthCentury(dob, exp string) string {
	expYear := 0
	fmt.Sscanf(expiryDate(exp)[:4], "%d", &expYear)
	yy := int(dob[0]-'0')*10 + int(dob[1]-'0')
	year := (expYear/100)*100 + yy
	if year >= expYear {
		year -= 100
	}
	return fmt.Sprintf("%04d-%s-%s", year, dob[2:4], dob[4:6])
}

// correctFromVIZ repairs OCR errors in the zone's name fields, which have
// no check digit, from the printed (visual inspection) zone of the same
// page: a name word that the printed page does not hold is replaced by the
// one printed word within two edits of it, with the same first letter.
func correctFromVIZ(p *record.Passport, text string) {
	words := map[string]bool{}
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, "<") || strings.Contains(l, "«") {
			continue
		}
		for _, w := range strings.FieldsFunc(strings.ToUpper(l), func(r rune) bool { return r < 'A' || r > 'Z' }) {
			if len(w) >= 2 {
				words[w] = true
			}
		}
	}
	if len(words) == 0 {
		return
	}
	fix := func(name string) string {
		ts := strings.Fields(name)
		for i, t := range ts {
			if words[t] {
				continue
			}
			var cands []string
			for w := range words {
				if w[0] == t[0] && abs(len(w)-len(t)) <= 1 && textfold.EditDistance(w, t) <= 2 {
					cands = append(cands, w)
				}
			}
			if len(cands) == 1 {
				ts[i] = cands[0]
			}
		}
		return strings.Join(ts, " ")
	}
	p.Surname = fix(p.Surname)
	p.GivenNames = fix(p.GivenNames)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
