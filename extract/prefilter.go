package extract

import (
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// lineRegexp is a regexp with a literal prefilter: needles holds strings of
// which every match contains at least one. The rules ask dozens of label
// patterns of every line, and most lines hold none of their words; a few
// substring searches answer those lines for a fraction of running the
// backtracker from every position of the line.
//
// The methods below consult the prefilter; the embedded Regexp's others
// behave exactly as the plain regexp's.
type lineRegexp struct {
	*regexp.Regexp
	// needles is nil when the pattern has no such set (a match may be
	// made of wide character classes alone): every line goes to the
	// regexp.
	needles []needle
	// folds: some needle is compared in any case.
	folds bool
	// branches are the alternatives of a pattern that is an alternation
	// at its top, each with its own prefilter, or nil. MatchString asks
	// only the branches whose words the line holds: one long alternation
	// of labels costs the backtracker steps in proportion to the whole
	// pattern at every position of a long line, where the one branch
	// whose word is there costs a substring search.
	branches []lineRegexp
}

// needle is a string a match must contain; fold means in any case, as
// (?i) matches it (Unicode simple case folding, like the regexp).
type needle struct {
	s    string
	fold bool
}

// mustLineRegexp compiles expr like regexp.MustCompile and works out its
// prefilter.
func mustLineRegexp(expr string) lineRegexp {
	re := regexp.MustCompile(expr)
	parsed, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		// regexp.MustCompile accepted it with the same flags.
		panic("extract: " + err.Error())
	}
	simple := parsed.Simplify()
	needles := requiredLiterals(simple)
	folds := slices.ContainsFunc(needles, func(n needle) bool { return n.fold })
	r := lineRegexp{Regexp: re, needles: needles, folds: folds}
	if simple.Op == syntax.OpAlternate && needles != nil {
		// A match of the whole is a match of one branch, and the other
		// way round. (Only for MatchString: which match comes first is
		// the whole pattern's to decide.) Every branch has needles, or
		// the whole would have none.
		for _, branch := range simple.Sub {
			r.branches = append(r.branches, mustLineRegexp(branch.String()))
		}
	}
	return r
}

// mayMatch is false only when s holds none of the needles, so that no
// match is possible.
func (r lineRegexp) mayMatch(s string) bool {
	if r.needles == nil {
		return true
	}
	ascii := r.folds && isASCII(s)
	for _, n := range r.needles {
		switch {
		case !n.fold:
			if strings.Contains(s, n.s) {
				return true
			}
		case ascii:
			if containsFoldASCII(s, n.s) {
				return true
			}
		default:
			if containsFold(s, n.s) {
				return true
			}
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// MatchString reports whether s contains a match of the pattern.
func (r lineRegexp) MatchString(s string) bool {
	if r.branches != nil {
		return slices.ContainsFunc(r.branches, func(b lineRegexp) bool { return b.MatchString(s) })
	}
	return r.mayMatch(s) && r.Regexp.MatchString(s)
}

// FindStringIndex is regexp.Regexp.FindStringIndex.
func (r lineRegexp) FindStringIndex(s string) []int {
	if !r.mayMatch(s) {
		return nil
	}
	return r.Regexp.FindStringIndex(s)
}

// FindStringSubmatch is regexp.Regexp.FindStringSubmatch.
func (r lineRegexp) FindStringSubmatch(s string) []string {
	if !r.mayMatch(s) {
		return nil
	}
	return r.Regexp.FindStringSubmatch(s)
}

// FindStringSubmatchIndex is regexp.Regexp.FindStringSubmatchIndex.
func (r lineRegexp) FindStringSubmatchIndex(s string) []int {
	if !r.mayMatch(s) {
		return nil
	}
	return r.Regexp.FindStringSubmatchIndex(s)
}

// FindAllStringIndex is regexp.Regexp.FindAllStringIndex.
func (r lineRegexp) FindAllStringIndex(s string, n int) [][]int {
	if !r.mayMatch(s) {
		return nil
	}
	return r.Regexp.FindAllStringIndex(s, n)
}

// FindAllStringSubmatch is regexp.Regexp.FindAllStringSubmatch.
func (r lineRegexp) FindAllStringSubmatch(s string, n int) [][]string {
	if !r.mayMatch(s) {
		return nil
	}
	return r.Regexp.FindAllStringSubmatch(s, n)
}

// containsFoldASCII is containsFold for an s of ASCII characters only,
// where folding is ASCII's (the non-ASCII runes that fold to an ASCII
// letter, such as the Kelvin sign for k, cannot occur in s), so a byte
// comparison of lower case letters decides.
func containsFoldASCII(s, sub string) bool {
	if len(sub) == 0 {
		return true
	}
	for i := 0; i+len(sub) <= len(s); i++ {
		j := 0
		for j < len(sub) && lowerASCII(s[i+j]) == lowerASCII(sub[j]) {
			j++
		}
		if j == len(sub) {
			return true
		}
	}
	return false
}

func lowerASCII(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

// containsFold reports whether s contains sub under simple case folding,
// rune by rune as the regexp compares them (an invalid byte reads as
// U+FFFD in both).
func containsFold(s, sub string) bool {
	for i := 0; i < len(s); {
		if hasPrefixFold(s[i:], sub) {
			return true
		}
		_, w := utf8.DecodeRuneInString(s[i:])
		i += w
	}
	return false
}

func hasPrefixFold(s, prefix string) bool {
	for _, want := range prefix {
		got, w := utf8.DecodeRuneInString(s)
		if w == 0 || !equalFoldRune(got, want) {
			return false
		}
		s = s[w:]
	}
	return true
}

// equalFoldRune: a and b lie in one orbit of unicode.SimpleFold.
func equalFoldRune(a, b rune) bool {
	if a == b {
		return true
	}
	for f := unicode.SimpleFold(b); f != b; f = unicode.SimpleFold(f) {
		if f == a {
			return true
		}
	}
	return false
}

// maxClassNeedles bounds how many single characters a character class may
// stand for and still serve as needles.
const maxClassNeedles = 16

// requiredLiterals returns a set of strings of which every match of re
// contains one, or nil when it cannot tell. A concatenation needs all of
// its parts, so any part's set will do (the one whose shortest string is
// longest rejects the most lines); an alternation needs one of its
// branches, so it needs the union of theirs.
func requiredLiterals(re *syntax.Regexp) []needle {
	switch re.Op {
	case syntax.OpLiteral:
		if len(re.Rune) == 0 || slices.Contains(re.Rune, utf8.RuneError) {
			// U+FFFD in a pattern also matches each invalid byte.
			return nil
		}
		return []needle{{s: string(re.Rune), fold: re.Flags&syntax.FoldCase != 0}}
	case syntax.OpCharClass:
		// re.Rune holds inclusive ranges: lo, hi, lo, hi, ...
		var set []needle
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if len(set) == maxClassNeedles || r == utf8.RuneError || !utf8.ValidRune(r) {
					return nil
				}
				set = append(set, needle{s: string(r)})
			}
		}
		if len(set) == 0 {
			return nil
		}
		return set
	case syntax.OpCapture, syntax.OpPlus:
		return requiredLiterals(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min < 1 {
			return nil
		}
		return requiredLiterals(re.Sub[0])
	case syntax.OpConcat:
		// Besides each part's own set, a run of parts that each match
		// only a few exact strings needs one of their joins: "u" then
		// "st" or "msatzsteuer" needs "ust" or "umsatzsteuer", which
		// rejects more lines than "st" does.
		var best []needle
		consider := func(set []needle) {
			if set != nil && shortest(set) > 0 && betterNeedles(set, best) {
				best = set
			}
		}
		// A join is worth it while its set stays short: each needle is
		// one more scan of the line.
		considerJoin := func(set []needle) {
			if len(set) <= maxClassNeedles {
				consider(sortedNeedles(slices.Clone(set)))
			}
		}
		var run []needle
		for _, sub := range re.Sub {
			if exact, ok := exactLiterals(sub); ok {
				if run == nil {
					run = exact
				} else if run = joinNeedles(run, exact); run == nil {
					// Too many joins to list: start a new run here.
					run = exact
				}
				considerJoin(run)
				continue
			}
			run = nil
			consider(requiredLiterals(sub))
		}
		return best
	case syntax.OpAlternate:
		var union []needle
		for _, sub := range re.Sub {
			set := requiredLiterals(sub)
			if set == nil {
				return nil
			}
			union = append(union, set...)
		}
		return sortedNeedles(union)
	}
	return nil
}

// sortedNeedles sorts set and drops repeats.
func sortedNeedles(set []needle) []needle {
	slices.SortFunc(set, func(a, b needle) int {
		if c := strings.Compare(a.s, b.s); c != 0 {
			return c
		}
		switch {
		case a.fold == b.fold:
			return 0
		case a.fold:
			return 1
		}
		return -1
	})
	return slices.Compact(set)
}

// maxJoins bounds the strings a run of exact parts may stand for.
const maxJoins = 64

// exactLiterals returns every string re can match when they are few
// (maxJoins at most): literals, small classes, alternations and
// concatenations of those. Zero-width assertions (\b, ^, $) match the
// empty string here: they constrain where the text sits, not what it is.
func exactLiterals(re *syntax.Regexp) ([]needle, bool) {
	switch re.Op {
	case syntax.OpLiteral, syntax.OpCharClass:
		set := requiredLiterals(re)
		return set, set != nil
	case syntax.OpEmptyMatch, syntax.OpWordBoundary, syntax.OpNoWordBoundary,
		syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText:
		return []needle{{}}, true
	case syntax.OpCapture:
		return exactLiterals(re.Sub[0])
	case syntax.OpAlternate:
		var union []needle
		for _, sub := range re.Sub {
			set, ok := exactLiterals(sub)
			if !ok || len(union)+len(set) > maxJoins {
				return nil, false
			}
			union = append(union, set...)
		}
		return union, true
	case syntax.OpConcat:
		set := []needle{{}}
		for _, sub := range re.Sub {
			exact, ok := exactLiterals(sub)
			if !ok {
				return nil, false
			}
			if set = joinNeedles(set, exact); set == nil {
				return nil, false
			}
		}
		return set, true
	}
	return nil, false
}

// joinNeedles returns every string of a followed by one of b, or nil when
// there would be more than maxJoins. A join compares in any case when
// either part does: that lets more lines through, never fewer.
func joinNeedles(a, b []needle) []needle {
	if len(a)*len(b) > maxJoins {
		return nil
	}
	out := make([]needle, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			out = append(out, needle{s: x.s + y.s, fold: x.fold || y.fold})
		}
	}
	return out
}

// betterNeedles prefers the set whose shortest needle is longer, then the
// smaller set: both let fewer lines without a match through.
func betterNeedles(a, b []needle) bool {
	if b == nil {
		return true
	}
	if sa, sb := shortest(a), shortest(b); sa != sb {
		return sa > sb
	}
	return len(a) < len(b)
}

func shortest(set []needle) int {
	n := len(set[0].s)
	for _, x := range set[1:] {
		n = min(n, len(x.s))
	}
	return n
}
