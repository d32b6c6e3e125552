package templates

import (
	"strconv"
	"strings"
)

// CompareVersions orders bundle versions semver-style: the part before the
// first "-" is split on "." (and "+", which starts build metadata and is
// ignored) and compared numerically where both parts are numbers, missing
// parts counting as 0; a pre-release ("1.2.0-rc1") comes before its release.
// It returns -1, 0 or +1. "2026.11.10" > "2026.11.9" > "2026.2".
func CompareVersions(a, b string) int {
	a, _, _ = strings.Cut(a, "+")
	b, _, _ = strings.Cut(b, "+")
	coreA, preA, hasPreA := strings.Cut(a, "-")
	coreB, preB, hasPreB := strings.Cut(b, "-")
	if c := compareParts(strings.Split(coreA, "."), strings.Split(coreB, "."), "0"); c != 0 {
		return c
	}
	switch {
	case hasPreA && !hasPreB:
		return -1
	case !hasPreA && hasPreB:
		return 1
	case !hasPreA:
		return 0
	}
	return compareParts(strings.Split(preA, "."), strings.Split(preB, "."), "")
}

// compareParts compares dot-separated parts; pad stands in for a missing
// part ("" makes the shorter list smaller, as semver pre-releases do).
func compareParts(a, b []string, pad string) int {
	for i := 0; i < max(len(a), len(b)); i++ {
		x, y := pad, pad
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if c := comparePart(x, y); c != 0 {
			return c
		}
	}
	return 0
}

// comparePart: numbers numerically, numbers before words, words by bytes.
func comparePart(x, y string) int {
	nx, errX := strconv.ParseUint(x, 10, 64)
	ny, errY := strconv.ParseUint(y, 10, 64)
	switch {
	case errX == nil && errY == nil:
		switch {
		case nx < ny:
			return -1
		case nx > ny:
			return 1
		}
		return 0
	case x == "" || y == "":
		return strings.Compare(x, y)
	case errX == nil:
		return -1
	case errY == nil:
		return 1
	}
	return strings.Compare(x, y)
}
