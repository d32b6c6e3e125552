package projections

import (
	"math/big"
	"strings"

	"github.com/jackc/pgx/v5/pgtype"

	"tally/domain"
)

// decimal is a PostgreSQL numeric as a fold keeps it: digits and a scale
// (digits after the point). Sums follow numeric's rule, the scale of a
// sum is the larger of the two, so a folded total prints as the one
// summed by statements does ("12.50", not "12.5").
type decimal struct {
	digits big.Int
	scale  int32
}

// parseDecimal reads an amount that meets domain.IsDecimalAmount.
func parseDecimal(s string) decimal {
	var d decimal
	whole, frac, _ := strings.Cut(s, ".")
	d.digits.SetString(whole+frac, 10)
	d.scale = int32(len(frac))
	return d
}

// add returns d + o.
func (d decimal) add(o decimal) decimal {
	var out decimal
	a, b := d.scaled(max(d.scale, o.scale)), o.scaled(max(d.scale, o.scale))
	out.digits.Add(a, b)
	out.scale = max(d.scale, o.scale)
	return out
}

// neg returns -d.
func (d decimal) neg() decimal {
	var out decimal
	out.digits.Neg(&d.digits)
	out.scale = d.scale
	return out
}

func (d decimal) scaled(scale int32) *big.Int {
	v := new(big.Int).Set(&d.digits)
	if scale > d.scale {
		v.Mul(v, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale-d.scale)), nil))
	}
	return v
}

func (d decimal) numeric() pgtype.Numeric {
	return pgtype.Numeric{Int: new(big.Int).Set(&d.digits), Exp: -d.scale, Valid: true}
}

// nullDecimal is a nullable numeric column.
type nullDecimal struct {
	decimal
	valid bool
}

func (d nullDecimal) numeric() pgtype.Numeric {
	if !d.valid {
		return pgtype.Numeric{}
	}
	return d.decimal.numeric()
}

// amountOf is amount(s) as a numeric: null unless s is a decimal amount.
func amountOf(s string) nullDecimal {
	if !domain.IsDecimalAmount(s) {
		return nullDecimal{}
	}
	return nullDecimal{decimal: parseDecimal(s), valid: true}
}
