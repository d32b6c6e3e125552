package domain

import "regexp"

// decimalAmountRe is the contract for every amount in Fields: a plain
// decimal, at most 15 integer and 6 fractional digits, "-" for negatives.
var decimalAmountRe = regexp.MustCompile(`^-?[0-9]{1,15}(\.[0-9]{1,6})?$`)

// IsDecimalAmount reports whether s meets the amount contract of Fields.
func IsDecimalAmount(s string) bool { return decimalAmountRe.MatchString(s) }
