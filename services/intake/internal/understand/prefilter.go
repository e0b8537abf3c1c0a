package understand

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode"
)

// A prefiltered expression skips its regular-expression search when the
// text holds none of the literal strings every match must contain: most
// of the classifier's signals are absent from most documents, and a
// substring search is many times faster than the expression's.
type prefiltered struct {
	re *regexp.Regexp
	// need: a match contains at least one of these; nil means the
	// expression has no such literals and always runs. In a case-
	// insensitive expression's they are folded, and looked for in the
	// folded text (fold).
	need   []string
	folded bool
}

func newPrefiltered(pattern string) prefiltered {
	re := regexp.MustCompile(pattern)
	tree, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return prefiltered{re: re}
	}
	tree = tree.Simplify()
	folded := foldsCase(tree)
	return prefiltered{re: re, need: required(tree, folded), folded: folded}
}

// MatchString reports whether the expression, which is case-sensitive,
// matches text.
func (p prefiltered) MatchString(text string) bool {
	if p.folded {
		return p.Match(text, fold(text))
	}
	return p.Match(text, text)
}

// Match reports whether the expression matches text; folded is
// fold(text) for a case-insensitive one (computed once for many
// expressions).
func (p prefiltered) Match(text, folded string) bool {
	in := text
	if p.folded {
		in = folded
	}
	if p.need != nil && !containsAny(in, p.need) {
		return false
	}
	return p.re.MatchString(text)
}

// fold maps every letter to one member of its case-folding orbit, for the
// ASCII letters the lower-case one: ſ (U+017F) folds with s, and the
// Kelvin sign, which lowers to k, with k.
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		if r == 'ſ' {
			return 's'
		}
		return unicode.ToLower(r)
	}, s)
}

func containsAny(text string, lits []string) bool {
	for _, l := range lits {
		if strings.Contains(text, l) {
			return true
		}
	}
	return false
}

// required returns literal strings of which every match of re contains at
// least one, or nil when it cannot tell. It is conservative: an operator
// it does not know, or anything that may match the empty string gives
// nil. With folded, the literals are folded (a text that holds a literal
// holds it folded once folded); a case-folded literal with a letter
// outside ASCII, whose folding orbit fold may split, gives nil.
func required(re *syntax.Regexp, folded bool) []string {
	switch re.Op {
	case syntax.OpLiteral:
		lit := string(re.Rune)
		switch {
		case len(re.Rune) == 0:
			return nil
		case re.Flags&syntax.FoldCase == 0 && !folded:
			return []string{lit}
		case re.Flags&syntax.FoldCase != 0 && (!folded || !isASCII(lit)):
			return nil
		}
		return []string{fold(lit)}
	case syntax.OpCapture, syntax.OpPlus:
		return required(re.Sub[0], folded)
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0], folded)
		}
		return nil
	case syntax.OpConcat:
		// Every part of a concatenation is in the match: the part whose
		// shortest literal is longest filters best.
		var best []string
		for _, sub := range re.Sub {
			if r := required(sub, folded); r != nil && (best == nil || shortest(r) > shortest(best)) {
				best = r
			}
		}
		return best
	case syntax.OpAlternate:
		var out []string
		for _, sub := range re.Sub {
			r := required(sub, folded)
			if r == nil {
				return nil
			}
			out = append(out, r...)
		}
		return out
	}
	return nil
}

// foldsCase reports whether any literal of re is case-insensitive.
func foldsCase(re *syntax.Regexp) bool {
	if re.Op == syntax.OpLiteral && re.Flags&syntax.FoldCase != 0 {
		return true
	}
	for _, sub := range re.Sub {
		if foldsCase(sub) {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func shortest(lits []string) int {
	n := -1
	for _, l := range lits {
		if n < 0 || len(l) < n {
			n = len(l)
		}
	}
	return n
}
