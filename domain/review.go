package domain

// ReviewConfidence is the confidence below which an extracted key field
// asks for a person's look: of the fields given 90 or more, at least 95 %
// were right (Fields.Confidence).
const ReviewConfidence = 90

// reviewFields are the fields an expense is useless without.
var reviewFields = []string{"vendor", "date", "total"}

// NeedsReview says whether a person should look at a document's values:
// a key field (vendor, date, total) is missing, or extraction was unsure
// of it, or the structured e-invoice and the visible text disagree on it,
// and the user has not corrected that field. A field the user set is
// reviewed by definition.
func NeedsReview(machine, corrections Fields) bool {
	values := func(f Fields) map[string]string {
		return map[string]string{"vendor": f.Vendor, "date": f.Date, "total": f.Total}
	}
	got, fixed := values(machine), values(corrections)
	for _, name := range reviewFields {
		if fixed[name] != "" {
			continue
		}
		if got[name] == "" {
			return true
		}
		if c, ok := machine.Confidence[name]; ok && c < ReviewConfidence {
			return true
		}
		for _, d := range machine.Disagreements {
			if d.Field == name {
				return true
			}
		}
	}
	return false
}
