package ereceipts_test

import (
	"testing"

	"tally/domain"
	"tally/ereceipts"
)

// The merchant of an e-receipt: a DKIM-verified sender names it; a forged
// one never does.
func TestMerchantFromSender(t *testing.T) {
	verified := domain.EmailAuth{DKIM: "verified", FromDomain: "amazon.co.uk", SignedBy: []string{"amazon.co.uk"}}
	forged := domain.EmailAuth{DKIM: "failed", FromDomain: "amazon.co.uk", SenderForged: true}
	none := domain.EmailAuth{DKIM: "none"}
	body := domain.Fields{Vendor: "Amazon EU S.a.r.L.", Total: "21.20", Sources: map[string]string{"vendor": domain.FieldSourceText}}
	sender := domain.Fields{Vendor: "Amazon.co.uk", Total: "21.20", Sources: map[string]string{"vendor": domain.FieldSourceSender}}
	for _, c := range []struct {
		name       string
		auth       domain.EmailAuth
		fields     domain.Fields
		corrected  string
		want       string
		confidence int
	}{
		{"verified sender beats the body", verified, body, "", "Amazon.co.uk", 95},
		{"verified sender keeps its display name", verified, sender, "", "Amazon.co.uk", 95},
		{"unverified sender, confident body", none, body, "", "Amazon EU S.a.r.L.", 70},
		{"unverified sender named for want of a body name", none, sender, "", "Amazon.co.uk", 70},
		{"forged sender never names the merchant", forged, sender, "", "", 0},
		{"forged sender: the body's name is untrusted", forged, body, "", "Amazon EU S.a.r.L.", 30},
		{"a correction beats the sender", verified, body, "Amazon UK", "Amazon UK", 100},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := &domain.Document{ID: "doc-1", Source: domain.SourceEReceipt, Attempt: 1,
				Email: &domain.EmailInfo{From: "auto-confirm@amazon.co.uk", Auth: c.auth}}
			f := c.fields
			if c.corrected != "" {
				d.Corrections = &domain.Fields{Vendor: c.corrected}
				f.Vendor = c.corrected
			}
			d.Fields = &f
			got := ereceipts.FromDocument(d, 1).MerchantName
			switch {
			case c.want == "" && got != nil:
				t.Fatalf("merchant %v, want none", got.Value)
			case c.want == "":
			case got == nil:
				t.Fatalf("no merchant, want %q", c.want)
			case got.Value != c.want || got.Confidence != c.confidence:
				t.Fatalf("merchant %v (%d), want %q (%d)", got.Value, got.Confidence, c.want, c.confidence)
			}
		})
	}
}
