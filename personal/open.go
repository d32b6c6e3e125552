package personal

import (
	"context"
	"errors"

	"tally/domain"
	"tally/readmodel"
)

// Opener opens a sealed user: Keys, Snapshot, and Tx inside a projector's
// transaction.
type Opener interface {
	Open(ctx context.Context, tenant string, s domain.SealedUser) (Opened, error)
}

// Tx opens with OpenIn, in the transaction of Q.
type Tx struct{ Q *readmodel.Queries }

// Open is OpenIn.
func (t Tx) Open(ctx context.Context, tenant string, s domain.SealedUser) (Opened, error) {
	return OpenIn(ctx, t.Q, tenant, s)
}

// openShown opens s; a damaged value is shown like an erased user rather
// than stopping the reader (a projector would stop at that event for good).
func openShown(ctx context.Context, o Opener, tenant string, s domain.SealedUser) (Opened, error) {
	opened, err := o.Open(ctx, tenant, s)
	if errors.Is(err, ErrUnreadable) {
		return Opened{ID: s.ID, Erased: true}, nil
	}
	return opened, err
}

// shown is a document's Private as readers show it: blank once its user
// is erased, opened where the event sealed it, and as the event has it
// otherwise (older events, and documents that name no user).
func shown(clear domain.Private, sealed bool, owner Opened) domain.Private {
	switch {
	case owner.Erased:
		return domain.Private{}
	case sealed:
		return owner.Private
	}
	return clear
}

// OpenUpload returns an upload as readers show it, whatever the schema
// version that wrote it: its Private opened into its clear fields (blank
// once the user is erased), and its user. This is the one place an
// upload's personal fields are opened.
func OpenUpload(ctx context.Context, o Opener, tenant string, p domain.DocumentUploaded) (domain.DocumentUploaded, Opened, error) {
	owner, err := openShown(ctx, o, tenant, p.Owner())
	if err != nil {
		return p, Opened{}, err
	}
	return p.WithPrivate(shown(p.Private(), p.PrivateSealed != "", owner)), owner, nil
}

// OpenDocument opens a document folded from its events, as OpenUpload
// does its upload, and the subjects of its order's parts (each sealed
// with its own upload's key). It returns the document's user.
func OpenDocument(ctx context.Context, o Opener, d *domain.Document) (Opened, error) {
	owner, err := openShown(ctx, o, d.Tenant, d.Owner)
	if err != nil {
		return Opened{}, err
	}
	subjects := make([]string, len(d.Parts))
	for i, part := range d.Parts {
		subjects[i] = part.Subject
		switch {
		case owner.Erased:
			subjects[i] = "" // an order's parts are its user's e-mails
		case part.PrivateSealed != "":
			p, err := openShown(ctx, o, d.Tenant, domain.SealedUser{ID: part.UserID, Private: part.PrivateSealed})
			if err != nil {
				return Opened{}, err
			}
			subjects[i] = shown(domain.Private{}, true, p).Subject
		}
	}
	d.SetPrivate(shown(d.Private(), d.Owner.Private != "", owner), subjects)
	return owner, nil
}

// OpenResultText returns a result's extracted text as readers show it:
// opened where the result sealed it (blank once its user is erased), and
// as the event has it otherwise (a document without a user, and results
// written before texts were sealed, which erasure blanks in the read
// models and Redact in histories).
func OpenResultText(ctx context.Context, o Opener, tenant string, t domain.ResultText) (string, error) {
	if t.PrivateSealed == "" {
		return t.Text, nil
	}
	opened, err := openShown(ctx, o, tenant, t.Sealed())
	if err != nil || opened.Erased {
		return "", err
	}
	return opened.Private.Text, nil
}
