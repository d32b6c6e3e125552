package extract

import (
	"math/big"
	"strings"
	"unicode"

	"tally/domain"
)

// Line items are read from table rows: a line with a description (a few
// letters) and amounts, the last amount being the line's amount. Such
// lines are everywhere on a document (addresses with house numbers, tax
// tables, payment notes), so a row only counts with evidence that it is a
// line item:
//
//   - strong: a run of consecutive rows whose amounts add up to a figure
//     printed on a summary line below them (subtotal, total, "Summe");
//   - per row: the row prints a quantity and a unit price whose product is
//     its amount.
//
// Without either, no line items are returned: a wrong list is worse than
// none for the people correcting it.

// itemRow is one candidate table row.
type itemRow struct {
	line   int
	item   domain.LineItem
	amount *big.Rat
	arith  bool // quantity x unit price = amount
}

// maxItemRows bounds the rows considered, and so the work of the window
// search below on pathological input.
const maxItemRows = 400

// notItemRe marks rows that are summaries, taxes, payments or notes, never
// items of the document.
var notItemRe = mustLineRegexp(`total|summe|\bsum\b|totaal|betrag\b|rounding|\bround|\bcash\b|\bchange\b|\btunai\b|\bbaki\b|tender|\bpayment|\bpaid\b|\bbalance\b|\bdue\b|discount|saving|rabatt|abschlag|zuschlag|anzahlung|skonto|shipping|delivery\s*fee|versandkosten|\binvoice\b|\brechnung\b|\bfactuur\b|\bdate\b|\bdatum\b|\btel\b|phone|\bfax\b|\bpage\b|\bseite\b|\biban\b|\bbic\b|account|\bkonto\b|(price|preis|prijs)\s*:`)

// taxRowRe: a row that starts with a tax label is a line of the tax
// table; "19 % VAT" further right in an item row is that item's rate.
var taxRowRe = mustLineRegexp(`^[\s\d.,%]*(tax|vat|gst|mwst|ust|umsatzsteuer|btw|tva|sst)\b|\b(tax|vat|gst|mwst|ust|btw|tva|sst)\s*:`)

// findLineItems returns the line items of the document, or nil.
func findLineItems(lines []textLine) []domain.LineItem {
	rows := itemRows(lines)
	if len(rows) == 0 {
		return nil
	}
	if best := summedRun(lines, rows); best != nil {
		return best
	}
	var out []domain.LineItem
	for _, r := range rows {
		if r.arith {
			out = append(out, r.item)
		}
	}
	return out
}

// itemRows finds the candidate rows. A row whose amount wrapped onto the
// next line (a description, unit price and quantity, then the amount alone
// below them, as wide tables render in narrow columns) is joined with it.
func itemRows(lines []textLine) []itemRow {
	var rows []itemRow
	for i := 0; i < len(lines) && len(rows) < maxItemRows; i++ {
		l := lines[i]
		if notItemRe.MatchString(l.lower) || taxRowRe.MatchString(l.lower) {
			continue
		}
		hits := amountsIn(l.raw)
		if len(hits) == 0 {
			continue
		}
		desc := rowDescription(l.raw, hits)
		if letterCount(desc) < 5 {
			desc = descriptionAbove(lines, i, desc)
		}
		if desc == "" {
			continue
		}
		if j, h, ok := wrappedAmount(lines, i); ok && !endsWithAmount(l.raw, hits) {
			if r, ok := makeRow(i, desc, hits, &h); ok {
				rows = append(rows, r)
				i = j
				continue
			}
		}
		if r, ok := makeRow(i, desc, hits, nil); ok {
			rows = append(rows, r)
		}
	}
	return rows
}

// endsWithAmount: the row's last column is an amount with decimals, so
// nothing of it wrapped.
func endsWithAmount(s string, hits []amountHit) bool {
	last := hits[len(hits)-1]
	return last.decimals && strings.TrimSpace(strings.Trim(s[last.end:], " €$£¥")) == ""
}

// wrappedAmount: the next non-empty line holds exactly one amount with
// decimals and no words.
func wrappedAmount(lines []textLine, i int) (int, amountHit, bool) {
	for j := i + 1; j < len(lines) && j <= i+2; j++ {
		l := strings.TrimSpace(lines[j].raw)
		if l == "" {
			continue
		}
		if letterCount(l) > 0 {
			return 0, amountHit{}, false
		}
		var dec []amountHit
		for _, h := range amountsIn(l) {
			if h.decimals {
				dec = append(dec, h)
			}
		}
		if len(dec) != 1 {
			return 0, amountHit{}, false
		}
		return j, dec[0], true
	}
	return 0, amountHit{}, false
}

// makeRow reads a row's numbers: the amount is the last one with decimals
// (or the wrapped one), the unit price the one before it, and the quantity
// any other number whose product with the unit price is the amount.
func makeRow(line int, desc string, hits []amountHit, wrapped *amountHit) (itemRow, bool) {
	nums := hits
	var amt amountHit
	if wrapped != nil {
		amt = *wrapped
	} else {
		k := -1
		for i := len(hits) - 1; i >= 0; i-- {
			if hits[i].decimals || hits[i].currency {
				k = i
				break
			}
		}
		if k < 0 {
			return itemRow{}, false
		}
		amt, nums = hits[k], hits[:k]
	}
	a, ok := rat(amt.value)
	if !ok {
		return itemRow{}, false
	}
	r := itemRow{line: line, amount: a, item: domain.LineItem{Description: desc, Amount: amt.value}}
	// Look for quantity x unit price = amount among the other numbers,
	// the unit price nearest the amount first.
	for k := 0; k < 2*len(nums) && !r.arith; k++ {
		pi := len(nums) - 1 - k%len(nums)
		if (k < len(nums)) != nums[pi].decimals {
			continue // prices with decimals first, then the rest
		}
		p, ok := rat(nums[pi].value)
		if !ok || p.Sign() == 0 {
			continue
		}
		for qi := len(nums) - 1; qi >= 0; qi-- {
			if qi == pi {
				continue
			}
			q, ok := rat(nums[qi].value)
			if !ok || q.Sign() == 0 {
				continue
			}
			if centsEqual(new(big.Rat).Mul(p, q), a) {
				r.arith = true
				r.item.UnitPrice, r.item.Quantity = nums[pi].value, nums[qi].value
				break
			}
		}
	}
	if !r.arith && len(nums) > 0 {
		if p := nums[len(nums)-1]; p.decimals && sameAmount(p.value, amt.value) {
			// A price column equal to the amount: one unit.
			r.item.UnitPrice = p.value
		}
	}
	return r, true
}

// centsEqual: x and y round to the same cent (unit prices often carry
// more decimals than the amount printed).
func centsEqual(x, y *big.Rat) bool {
	d := new(big.Rat).Sub(x, y)
	d.Abs(d)
	return d.Cmp(big.NewRat(1, 200)) <= 0
}

// rowDescription is the longest run of words in the row outside its
// numbers, trimmed of column noise; empty when there is none worth the
// name.
func rowDescription(s string, hits []amountHit) string {
	best := ""
	prev := 0
	parts := make([]string, 0, len(hits)+1)
	for _, h := range hits {
		parts = append(parts, s[prev:h.start])
		prev = h.end
	}
	parts = append(parts, s[prev:])
	for _, p := range parts {
		for _, col := range splitColumns(p) {
			col = strings.Trim(col, " :€$£¥-*|[]")
			if letterCount(col) >= 3 && len(col) > len(best) {
				best = col
			}
		}
	}
	if !meaningfulDescription(best) {
		return ""
	}
	return strings.ToValidUTF8(best, "\uFFFD")
}

// descriptionAbove: receipts often print an item's name on its own line
// and the code, quantity and price below it; a row whose own words are
// only a short code takes the name from the line above when that line
// holds words and no amount.
func descriptionAbove(lines []textLine, i int, desc string) string {
	if i == 0 {
		return desc
	}
	above := lines[i-1]
	text := strings.TrimSpace(above.raw)
	if letterCount(text) < 5 || len(amountsIn(text)) > 0 || notItemRe.MatchString(above.lower) || taxRowRe.MatchString(above.lower) {
		return desc
	}
	return strings.ToValidUTF8(strings.Join(splitColumns(text), " "), "\uFFFD")
}

// splitColumns cuts text at runs of two or more spaces (layout columns).
func splitColumns(s string) []string {
	var cols []string
	for _, c := range strings.Split(s, "  ") {
		if c = strings.TrimSpace(c); c != "" {
			cols = append(cols, c)
		}
	}
	return cols
}

// meaningfulDescription: at least one word of three letters; a currency
// code or unit alone ("EUR", "kg", "Stk") is not a description.
func meaningfulDescription(s string) bool {
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) }) {
		if len([]rune(w)) >= 3 && !isoCurrencies[strings.ToUpper(w)] {
			return true
		}
	}
	return false
}

// summedRun looks for the longest run of consecutive rows whose amounts
// add up to a figure printed on a summary line after the run; the rows
// in between must not be separated by a summary line themselves.
func summedRun(lines []textLine, rows []itemRow) []domain.LineItem {
	targets := summaryAmounts(lines)
	if len(targets) == 0 {
		return nil
	}
	byCent := map[string][]lineAmountAt{}
	for _, t := range targets {
		k := centOf(t.amount).String()
		byCent[k] = append(byCent[k], t)
	}
	bestI, bestJ := -1, -1
	cents := rowCents(rows)
	for i := range rows {
		if rows[i].amount.Sign() == 0 {
			continue // a run neither starts nor ends with a zero row
		}
		run := runSum{cents: cents}
		for j := i; j < len(rows); j++ {
			run.add(rows, j)
			if j-i <= bestJ-bestI || rows[j].amount.Sign() == 0 || run.isZero() {
				continue
			}
			if summedTo(byCent, run.rat(), rows[j].line) {
				bestI, bestJ = i, j
			}
		}
	}
	if bestI < 0 {
		return nil
	}
	// A single row matching a total is weak evidence (any one amount may
	// equal the total); keep it only with arithmetic of its own or when
	// no other row comes before it.
	if bestI == bestJ && !rows[bestI].arith && bestI > 0 {
		return nil
	}
	out := make([]domain.LineItem, 0, bestJ-bestI+1)
	for _, r := range rows[bestI : bestJ+1] {
		out = append(out, r.item)
	}
	return out
}

// rowCents is every row's amount in cents, when each is a whole number of
// cents small enough that no run of maxItemRows of them overflows (else
// nil): then the window search adds integers, not fractions (a search over
// n rows makes n*n/2 additions).
func rowCents(rows []itemRow) []int64 {
	const limit = 1 << 50 // times maxItemRows stays below 1<<63
	hundred := big.NewRat(100, 1)
	out := make([]int64, len(rows))
	for i, r := range rows {
		c := new(big.Rat).Mul(r.amount, hundred)
		if !c.IsInt() || !c.Num().IsInt64() {
			return nil
		}
		if v := c.Num().Int64(); -limit < v && v < limit {
			out[i] = v
			continue
		}
		return nil
	}
	return out
}

// runSum adds up a run of rows: in cents when rowCents could give them
// (cents is not nil), else in fractions.
type runSum struct {
	cents []int64
	total int64
	sum   *big.Rat
}

func (s *runSum) add(rows []itemRow, j int) {
	if s.cents != nil {
		s.total += s.cents[j]
		return
	}
	if s.sum == nil {
		s.sum = new(big.Rat)
	}
	s.sum.Add(s.sum, rows[j].amount)
}

func (s *runSum) isZero() bool {
	if s.cents != nil {
		return s.total == 0
	}
	return s.sum == nil || s.sum.Sign() == 0
}

func (s *runSum) rat() *big.Rat {
	if s.cents != nil {
		return big.NewRat(s.total, 100)
	}
	return s.sum
}

// centOf is x in whole cents, rounded down. Figures within half a cent
// of each other (centsEqual) are at most one cent apart in it, so a sum
// is compared with the figures of three cents only: comparing every pair
// of rows with every figure made a page of rows take seconds.
func centOf(x *big.Rat) *big.Int {
	c := new(big.Int).Mul(x.Num(), big.NewInt(100))
	return c.Div(c, x.Denom()) // Euclidean: rounds down, the denominator being positive
}

// summedTo: a summary figure printed below line equals sum to the cent.
func summedTo(byCent map[string][]lineAmountAt, sum *big.Rat, line int) bool {
	c := centOf(sum)
	one := big.NewInt(1)
	c.Sub(c, one)
	for range 3 {
		for _, t := range byCent[c.String()] {
			if t.line > line && centsEqual(sum, t.amount) {
				return true
			}
		}
		c.Add(c, one)
	}
	return false
}

// maxSummaryAmounts bounds the figures the rows are checked against.
const maxSummaryAmounts = 100

type lineAmountAt struct {
	line   int
	amount *big.Rat
}

// summaryRe: labels of figures that add up the rows above them.
var summaryRe = mustLineRegexp(`total|summe|\bsum\b|totaal|betrag|netto|amount`)

func summaryAmounts(lines []textLine) []lineAmountAt {
	var out []lineAmountAt
	for i, l := range lines {
		if !summaryRe.MatchString(l.lower) {
			continue
		}
		for _, h := range amountsIn(l.raw) {
			if a, ok := rat(h.value); ok && h.decimals && len(out) < maxSummaryAmounts {
				out = append(out, lineAmountAt{line: i, amount: a})
			}
		}
		if v, ok := labelledAmount(lines, i); ok && len(out) < maxSummaryAmounts {
			if a, ok := rat(v); ok {
				out = append(out, lineAmountAt{line: i, amount: a})
			}
		}
	}
	return out
}
