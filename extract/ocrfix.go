package extract

import (
	"regexp"
	"strings"
	"unicode"
)

// OCR text has its own misreadings, which printed or typed text never
// shows. cleanOCRText repairs the few that the field rules trip over; it is
// applied to OCR output only, and only in shapes where the repair cannot
// turn a correct reading into a wrong one.

// spacedDecimalRe: a decimal point followed by a stray space ("164. 80").
var spacedDecimalRe = regexp.MustCompile(`(\d)([.,]) (\d{2})(\D|$)`)

// yenForYRe: "¥" read for a "Y" inside a word ("D.I.¥."); before a digit
// it stays a currency sign.
var yenForYRe = regexp.MustCompile(`¥([^\d\s]|$)`)

// ocrWordRe: a five-character token that may be a misread "TOTAL"
// ("TOTAI", "Tota!", "T0TAL", "POTAL"); OCR reads l as 1, ! or |, and o as 0.
var ocrWordRe = regexp.MustCompile(`(^|[^\p{L}\p{N}])([\p{L}0-9!|]{5})([^\p{L}\p{N}]|$)`)

// strayMarkRe: a lone mark that OCR reads from a receipt's edge, a fold
// or a speck ("|", "!", "«") as a token of its own anywhere in a line.
var strayMarkRe = regexp.MustCompile(`(^|\s)[|!«»~¦]+(\s|$)`)

// edgeMarkRe: lone punctuation at either end of a line (": BANDAR BARU
// :"); inside a line a lone ":" separates a label from its value and is
// kept.
var edgeMarkRe = regexp.MustCompile(`^(\s*[:;.,'‘’"“”|!]+\s+)+|(\s+[:;.,'‘’"“”|!]+)+\s*$`)

func cleanOCRText(text string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if strayMarkRe.MatchString(l) {
			for strayMarkRe.MatchString(l) {
				l = strayMarkRe.ReplaceAllString(l, "$1$2")
			}
			l = strings.TrimSpace(l)
		}
		l = edgeMarkRe.ReplaceAllString(l, "")
		l = spacedDecimalRe.ReplaceAllString(l, "$1$2$3$4")
		l = yenForYRe.ReplaceAllString(l, "Y$1")
		l = ocrWordRe.ReplaceAllStringFunc(l, func(m string) string {
			sub := ocrWordRe.FindStringSubmatch(m)
			if w := sub[2]; misreadTotal(w) {
				return sub[1] + caseLike("TOTAL", w) + sub[3]
			}
			return m
		})
		l = wordRe.ReplaceAllStringFunc(l, digitForLetter)
		lines[i] = l
	}
	return strings.Join(lines, "\n")
}

// wordRe: a run of letters and digits, the unit digitForLetter looks at.
var wordRe = regexp.MustCompile(`[\p{L}0-9]+`)

// digitForLetter repairs a word that OCR read with one digit for a letter:
// 0 for O ("L0T", "K0ALA", "0ld") and, inside lower-case letters, 1 for l
// ("Ja1an", "Leve1"). It leaves alone any token that could be meant as it
// stands: more than one digit (codes, "SS21", "U13"), fewer than two
// letters ("B1", "1A"), a digit ending a short token ("UG1", "G0"),
// ordinals ("1st"), and a 1 among capitals, which is as often an I as an L.
func digitForLetter(w string) string {
	letters, digits, at := 0, 0, -1
	for i, r := range w {
		switch {
		case r >= '0' && r <= '9':
			digits++
			at = i
		default:
			letters++
		}
	}
	if letters == 1 && digits >= 2 {
		return letterOForZero(w)
	}
	if digits != 1 || letters < 2 || (w[at] != '0' && w[at] != '1') {
		return w
	}
	if at == len(w)-1 && letters < 3 {
		return w
	}
	if at == 0 {
		switch strings.ToLower(w[1:]) {
		case "st", "nd", "rd", "th":
			return w
		}
	}
	// the case of the neighbouring letters decides the replacement
	var near []rune
	if at > 0 {
		near = append(near, []rune(w[:at])[len([]rune(w[:at]))-1])
	}
	if at+1 < len(w) {
		near = append(near, []rune(w[at+1:])[0])
	}
	lower, upper := true, true
	for _, r := range near {
		lower = lower && unicode.IsLower(r)
		upper = upper && unicode.IsUpper(r)
	}
	var with string
	switch {
	case w[at] == '0' && lower:
		with = "o"
	case w[at] == '0' && upper:
		with = "O"
	case w[at] == '1' && lower:
		with = "l"
	default:
		return w
	}
	return w[:at] + with + w[at+1:]
}

// letterOForZero repairs a number read with one O for a zero ("430O0"):
// the O must sit between two digits, so that codes that end or begin
// with a letter ("10O", "O12") stay as they are.
func letterOForZero(w string) string {
	i := strings.IndexAny(w, "Oo")
	if i <= 0 || i == len(w)-1 || !isDigit(w[i-1]) || !isDigit(w[i+1]) {
		return w
	}
	return w[:i] + "0" + w[i+1:]
}

// misreadTotal: w differs from "total" in exactly one character, which is
// a known OCR confusion of that letter, or is "total" spelled with digits
// for letters. Real words one letter from "total" ("tonal", "totem") are
// not such confusions.
func misreadTotal(w string) bool {
	lw := strings.ToLower(w)
	if lw == "total" || len(lw) != 5 {
		return false
	}
	confusable := map[byte]string{
		't': "fli1ip",
		'o': "0aeuc",
		'a': "4@o",
		'l': "1i!|j",
	}
	diff := 0
	for i := 0; i < 5; i++ {
		want := "total"[i]
		if lw[i] == want {
			continue
		}
		if !strings.ContainsRune(confusable[want], rune(lw[i])) {
			return false
		}
		diff++
	}
	return diff == 1
}

// caseLike writes word in the case of the token it replaces.
func caseLike(word, like string) string {
	if strings.ToLower(like) == like {
		return strings.ToLower(word)
	}
	if strings.ToUpper(like[1:]) == like[1:] {
		return word
	}
	return word[:1] + strings.ToLower(word[1:])
}
