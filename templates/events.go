package templates

// The template set's history lives in the event stream on its own
// aggregate. These belong with the other event contracts in package domain
// once that package takes them; the strings are part of the public event
// contract and are never renamed.
const (
	// TypeTemplatesActivated records that a template bundle became the
	// active one (an update or a rollback).
	TypeTemplatesActivated = "TemplatesActivated"
	// AggregateTemplates is the aggregate type of the deployment's
	// template set, part of its subject.
	AggregateTemplates = "templates"
	// SystemTenant owns events that belong to the deployment, not to a
	// tenant.
	SystemTenant = "system"
	// AggregateID is the one template-set aggregate of a deployment (a
	// name-based UUID of "urn:tally:templates"), so its subject is
	// tally.events.system.templates.02ceeb74-dab3-54d9-9beb-de44476a7118.
	AggregateID = "02ceeb74-dab3-54d9-9beb-de44476a7118"
)

// Reasons for an activation.
const (
	ReasonUpdate   = "update"
	ReasonRollback = "rollback"
)

// TemplatesActivated is the payload of TypeTemplatesActivated.
type TemplatesActivated struct {
	Version string `json:"version"`
	// PreviousVersion was active until then; empty for the first bundle.
	PreviousVersion string `json:"previous_version,omitempty"`
	// Checksum is the hex sha256 of the bundle file as published.
	Checksum string `json:"checksum"`
	// Templates is how many templates the bundle holds.
	Templates int `json:"templates"`
	// Reason is ReasonUpdate or ReasonRollback.
	Reason string `json:"reason"`
	// Source is where an update came from (s3://bucket/key, a path).
	Source string `json:"source,omitempty"`
}
