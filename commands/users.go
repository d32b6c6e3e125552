package commands

import (
	"context"
	"errors"
	"fmt"

	"tally/domain"
	"tally/eventstore"
)

// People seals users at upload and erases them; personal.Keys is the one
// implementation.
type People interface {
	// SealUpload seals the user and the upload's Private with the user's
	// key, read once for both.
	SealUpload(ctx context.Context, tenant string, u domain.User, pr domain.Private) (domain.SealedUser, error)
	// SealPrivate seals pr with the key of user id, which an upload made;
	// domain.ErrUserErased when that key is gone.
	SealPrivate(ctx context.Context, tenant, userID string, pr domain.Private) (string, error)
	// Erase destroys an address's keys and returns every user id it has
	// had; an unknown address is domain.ErrUserNotFound.
	Erase(ctx context.Context, tenant, email string) ([]string, error)
	// Files returns the blob keys of the documents of users ids.
	Files(ctx context.Context, tenant string, ids []string) ([]string, error)
}

// errErasureUnrecorded: the keys are gone (the data is erased) but the
// event store did not take UserErased; calling again records it.
var errErasureUnrecorded = domain.NewError(domain.KindUpstream,
	"the user's data is erased, but the event store did not take the UserErased event; call again to record it")

// ErrNoPeople: the handler was built without WithPeople.
var ErrNoPeople = errors.New("no user keys configured")

// seal turns the user of an upload, and the upload's Private, into the
// sealed form events carry. A route that names no user seals nothing:
// there is no one whose erasure would have to reach the Private.
func (h *Handler) seal(ctx context.Context, tenant string, u domain.User, pr domain.Private) (domain.SealedUser, error) {
	if u.Email == "" {
		return domain.SealedUser{}, nil
	}
	if h.people == nil {
		return domain.SealedUser{}, ErrNoPeople
	}
	s, err := h.people.SealUpload(ctx, tenant, u, pr)
	if err != nil {
		return domain.SealedUser{}, fmt.Errorf("seal user: %w", err)
	}
	return s, nil
}

// EraseUser is a request to forget a user (an address in a tenant).
type EraseUser struct {
	Meta
	Email string
}

// EraseUser destroys the user's keys, which blanks them in the read
// models at once, then appends UserErased on each of the user's ids, so a
// read model rebuilt later and every subscriber learn of it too. The keys
// go first: once they are gone the data is unreadable whatever happens
// next; an append that fails is made by calling again (each id's event is
// appended once, on an aggregate of its own). It returns the ids.
func (h *Handler) EraseUser(ctx context.Context, cmd EraseUser) ([]string, error) {
	if err := validateMeta(cmd.Meta); err != nil {
		return nil, err
	}
	if err := domain.ValidateEmail(cmd.Email); err != nil {
		return nil, err
	}
	if h.people == nil {
		return nil, ErrNoPeople
	}
	ids, err := h.people.Erase(ctx, cmd.Tenant, cmd.Email)
	if err != nil {
		return nil, err
	}
	// The files go too: an upload or an e-mail names its user inside,
	// whatever the events say. Deleting a missing file is no error, so an
	// erasure called again finishes what a failed one left.
	files, err := h.people.Files(ctx, cmd.Tenant, ids)
	if err != nil {
		return nil, err
	}
	for _, key := range files {
		if err := h.blobs.Delete(ctx, key); err != nil {
			return nil, fmt.Errorf("delete an erased user's file: %w", ErrBlobStore.Wrap(err))
		}
	}
	for _, id := range ids {
		meta := cmd.Meta
		meta.CommandID = "erase:" + id
		e, err := h.envelope(meta, id, domain.TypeUserErased, domain.UserErased{UserID: id})
		if err != nil {
			return nil, err
		}
		e.AggregateType = domain.AggregateUser
		seq, err := h.events.Append(ctx, e, 0)
		if errors.Is(err, eventstore.ErrConflict) {
			continue // recorded by an earlier erasure of the address
		}
		if err != nil {
			return nil, errErasureUnrecorded.Wrap(fmt.Errorf("record erasure of user %s: %w", id, ErrEventStore.Wrap(err)))
		}
		h.log.InfoContext(ctx, "user erased", "user_id", id, "tenant", cmd.Tenant, "seq", seq, "correlation_id", cmd.CorrelationID)
	}
	return ids, nil
}
