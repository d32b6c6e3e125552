package mailbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/google/uuid"

	"tally/domain"
	"tally/mailauth"
	"tally/netguard"
	"tally/readmodel"
)

// ErrBusy means another scrape of the same mailbox is running; this one
// did nothing.
var ErrBusy = errors.New("another scrape of this mailbox is running")

// Outcomes remembered in the seen table.
const (
	outcomeSubmitted        = "submitted"
	outcomeTooLarge         = "too_large"
	outcomeRejected         = "rejected"
	outcomeUnknownForwarder = "unknown_forwarder"
	outcomeUnauthenticated  = "unauthenticated"
	outcomeUnparsable       = "unparsable"
	outcomeSeenBefore       = "seen_before"
)

// metaBatch is how many envelopes one FETCH asks for.
const metaBatch = 50

// Scraper searches mailboxes and submits their new receipts.
type Scraper struct {
	Links   *Links
	Filters FilterSource
	Submit  Submitter
	Limits  Limits
	// Forward is the forwarding mailbox (FORWARD_IMAP_URL); nil when there
	// is none. Its Address is the inbox's e-mail address, to which each
	// tenant's +token is added.
	Forward *Account
	// DKIM checks that a forward's sender domain signed it; nil means a
	// Verifier on the system resolver.
	DKIM *mailauth.Verifier
	Log  *slog.Logger
	// Now is the clock, time.Now unless set.
	Now func() time.Time
}

// Result counts what one scrape did.
type Result struct {
	// New messages submitted as documents.
	New int `json:"new"`
	// Seen: found again, already dealt with.
	Seen int `json:"seen"`
	// Skipped: found by the search but from another sender or before the
	// cutoff (checked exactly, which IMAP's date-only search cannot).
	Skipped          int `json:"skipped"`
	TooLarge         int `json:"too_large"`
	Rejected         int `json:"rejected"`
	UnknownForwarder int `json:"unknown_forwarder"`
	// Unauthenticated: forwards from a confirmed sender whose domain did
	// not sign them (DKIM), while the tenant requires it.
	Unauthenticated int `json:"unauthenticated"`
	Unparsable      int `json:"unparsable"`
	// More is true when MaxMessages stopped the scrape; the rest waits for
	// the next one.
	More bool `json:"more"`
}

func (s *Scraper) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// limits are the scraper's, with the links' outbound setting: it is the
// operator's, made once where the links are.
func (s *Scraper) limits() Limits {
	l := s.Limits
	l.AllowPrivateNetworks = l.AllowPrivateNetworks || s.Links.limits.AllowPrivateNetworks
	l.setDefaults()
	return l
}

// ScrapeLink scrapes one linked mailbox and records the outcome on the
// link. A second scrape of the same link while one runs is ErrBusy.
func (s *Scraper) ScrapeLink(ctx context.Context, id uuid.UUID) (Result, error) {
	var res Result
	err := s.locked(ctx, "mailbox-scrape:"+id.String(), func() error {
		row, acct, err := s.Links.account(ctx, id)
		if err != nil {
			return err
		}
		started := s.now()
		var scrapeErr error
		res, scrapeErr = s.scrapeLink(ctx, row, acct)
		msg := ""
		if scrapeErr != nil {
			msg = PublicError(scrapeErr).Error()
		}
		// The outcome is recorded even when the scrape failed, on a context
		// of its own: the API shows it, and a cancelled scrape still made
		// its documents.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := s.Links.q.RecordMailboxScrape(rctx, readmodel.RecordMailboxScrapeParams{
			ID: id, ScrapedAt: timestamptz(started), Error: msg, New: int32(res.New),
		}); err != nil {
			return errors.Join(scrapeErr, fmt.Errorf("record scrape: %w", err))
		}
		s.logResult(ctx, "mailbox scraped", id, res, scrapeErr)
		return scrapeErr
	})
	return res, err
}

// ScrapeForward scrapes the forwarding mailbox.
func (s *Scraper) ScrapeForward(ctx context.Context) (Result, error) {
	if s.Forward == nil {
		return Result{}, errors.New("no forwarding mailbox configured (FORWARD_IMAP_URL)")
	}
	id := ForwardID(*s.Forward)
	var res Result
	err := s.locked(ctx, "mailbox-scrape:"+id.String(), func() error {
		var err error
		res, err = s.scrapeForward(ctx, id, *s.Forward)
		s.logResult(ctx, "forwarding mailbox scraped", id, res, err)
		return err
	})
	return res, err
}

func (s *Scraper) logResult(ctx context.Context, msg string, id uuid.UUID, res Result, err error) {
	attrs := []any{"link_id", id.String(), "new", res.New, "seen", res.Seen, "skipped", res.Skipped,
		"too_large", res.TooLarge, "rejected", res.Rejected, "unknown_forwarders", res.UnknownForwarder,
		"unauthenticated", res.Unauthenticated, "unparsable", res.Unparsable, "more", res.More}
	if err != nil {
		// The kind only: server answers may quote the login.
		s.Log.WarnContext(ctx, msg+" with an error", append(attrs, "error_kind", errorKind(err))...)
		return
	}
	s.Log.InfoContext(ctx, msg, attrs...)
}

// errorKind names what went wrong without quoting anyone.
func errorKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, ErrLogin):
		return "login refused"
	case errors.Is(err, netguard.ErrRefused):
		return "address not public"
	case errors.Is(err, ErrFolder):
		return "folder refused"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.As(err, &ne):
		return "network"
	case errors.Is(err, ErrNotFound):
		return "link deleted"
	}
	return "imap or store error"
}

// locked runs fn under a PostgreSQL advisory lock named name, or returns
// ErrBusy when another process holds it.
func (s *Scraper) locked(ctx context.Context, name string, fn func() error) error {
	conn, err := s.Links.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("scrape lock: %w", err)
	}
	defer conn.Release()
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", name).Scan(&got); err != nil {
		return fmt.Errorf("scrape lock: %w", err)
	}
	if !got {
		return ErrBusy
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, "SELECT pg_advisory_unlock(hashtextextended($1, 0))", name); err != nil {
			// A connection that may still hold the lock must not go back
			// to the pool.
			_ = conn.Conn().Close(uctx)
		}
	}()
	return fn()
}

// scrapeLink is one scrape of a linked mailbox, without the lock: two of
// them at once still make each document once (the command id is derived
// from the message), which the tests rely on.
func (s *Scraper) scrapeLink(ctx context.Context, row readmodel.MailboxLink, acct Account) (Result, error) {
	var res Result
	filter, err := s.Filters.Filter(ctx, row.Tenant)
	if err != nil {
		return res, fmt.Errorf("load the retailer filter: %w", err)
	}
	searches := filter.searches(s.now())
	if len(searches) == 0 {
		return res, nil
	}
	limits := s.limits()
	sess, err := dial(ctx, acct, limits)
	if err != nil {
		return res, err
	}
	defer sess.close()
	uidValidity, err := sess.selectFolder(acct.folder())
	if err != nil {
		return res, err
	}
	found := map[imap.UID][]search{}
	for _, sr := range searches {
		// SINCE compares dates only, in no time zone: a day earlier finds
		// everything, and the exact cutoff is checked on each message.
		criteria := &imap.SearchCriteria{Since: sr.since.UTC().Add(-24 * time.Hour).Truncate(24 * time.Hour)}
		if sr.from != "" {
			criteria.Header = []imap.SearchCriteriaHeaderField{{Key: "From", Value: sr.from}}
		}
		uids, err := sess.search(criteria)
		if err != nil {
			return res, err
		}
		for _, uid := range uids {
			found[uid] = append(found[uid], sr)
		}
	}
	take := func(m meta) bool {
		for _, sr := range found[m.uid] {
			if sr.matches(m.from()) && !m.date().Before(sr.since) {
				return true
			}
		}
		return false
	}
	user := domain.User{Email: row.UserEmail, Name: row.UserName}
	tenant := func([]byte) (owner, error) {
		return owner{tenant: row.Tenant, user: user, ok: true, authentic: true}, nil
	}
	return s.process(ctx, sess, row.ID, uidValidity, sortedUIDs(found), take, tenant, false)
}

// scrapeForward is one scrape of the forwarding mailbox: everything that
// arrived after the last message seen, each matched to a user by its
// tenant address and confirmed sender.
func (s *Scraper) scrapeForward(ctx context.Context, id uuid.UUID, acct Account) (Result, error) {
	if acct.Address == "" {
		return Result{}, errors.New("the forwarding mailbox has no e-mail address (FORWARD_IMAP_URL ?address=)")
	}
	sess, err := dial(ctx, acct, s.limits())
	if err != nil {
		return Result{}, err
	}
	defer sess.close()
	uidValidity, err := sess.selectFolder(acct.folder())
	if err != nil {
		return Result{}, err
	}
	last, err := s.Links.q.MaxSeenUID(ctx, readmodel.MaxSeenUIDParams{LinkID: id, UidValidity: int64(uidValidity)})
	if err != nil {
		return Result{}, fmt.Errorf("last seen message: %w", err)
	}
	uids, err := sess.search(&imap.SearchCriteria{UID: []imap.UIDSet{{{Start: imap.UID(last + 1), Stop: 0}}}})
	if err != nil {
		return Result{}, err
	}
	// "n:*" also names the last message when n is past it.
	uids = slices.DeleteFunc(uids, func(u imap.UID) bool { return int64(u) <= last })
	match := func(raw []byte) (owner, error) {
		return s.forwardOwner(ctx, acct.Address, raw)
	}
	return s.process(ctx, sess, id, uidValidity, uids, func(meta) bool { return true }, match, true)
}

// owner is whose a message is: ok when a tenant's user claims it,
// authentic when its sender is proven as far as the tenant requires.
type owner struct {
	tenant        string
	user          domain.User
	ok, authentic bool
}

// process takes the unseen messages among uids: each one take accepts is
// downloaded and, when its owner is known, submitted and remembered.
func (s *Scraper) process(ctx context.Context, sess *session, linkID uuid.UUID, uidValidity uint32, uids []imap.UID,
	take func(meta) bool, ownerOf func(raw []byte) (owner, error), forwarded bool,
) (Result, error) {
	var res Result
	q := s.Links.q
	limits := s.limits()
	seenRows, err := q.SeenUIDs(ctx, readmodel.SeenUIDsParams{LinkID: linkID, UidValidity: int64(uidValidity), Uids: toInt64(uids)})
	if err != nil {
		return res, fmt.Errorf("load seen messages: %w", err)
	}
	unseen := slices.DeleteFunc(slices.Clone(uids), func(u imap.UID) bool { return slices.Contains(seenRows, int64(u)) })
	res.Seen = len(uids) - len(unseen)
	mark := func(m meta, key, outcome string, doc uuid.NullUUID) error {
		err := q.MarkSeen(ctx, readmodel.MarkSeenParams{LinkID: linkID, UidValidity: int64(uidValidity), Uid: int64(m.uid),
			MessageKey: key, Outcome: outcome, DocumentID: doc})
		if err != nil {
			return fmt.Errorf("remember message: %w", err)
		}
		return nil
	}
	for batch := range slices.Chunk(unseen, metaBatch) {
		metas, err := sess.metas(batch)
		if err != nil {
			return res, err
		}
		for _, m := range metas {
			key := messageKey(m)
			if known, err := q.SeenKey(ctx, readmodel.SeenKeyParams{LinkID: linkID, MessageKey: key}); err != nil {
				return res, fmt.Errorf("look up message: %w", err)
			} else if known {
				// The same message under a new UIDVALIDITY (or a copy):
				// remember the new UID too, so it is not looked up again.
				res.Seen++
				if err := mark(m, key, outcomeSeenBefore, uuid.NullUUID{}); err != nil {
					return res, err
				}
				continue
			}
			if !take(m) {
				res.Skipped++
				continue
			}
			if m.size > limits.MaxMessageSize {
				res.TooLarge++
				if err := mark(m, key, outcomeTooLarge, uuid.NullUUID{}); err != nil {
					return res, err
				}
				continue
			}
			if res.New >= limits.MaxMessages {
				res.More = true
				return res, nil
			}
			raw, err := sess.body(m.uid)
			if errors.Is(err, errTooLarge) {
				res.TooLarge++
				if err := mark(m, key, outcomeTooLarge, uuid.NullUUID{}); err != nil {
					return res, err
				}
				continue
			}
			if err != nil {
				return res, err
			}
			who, err := ownerOf(raw)
			if err != nil {
				return res, err
			}
			if !who.ok {
				res.UnknownForwarder++
				if err := mark(m, key, outcomeUnknownForwarder, uuid.NullUUID{}); err != nil {
					return res, err
				}
				continue
			}
			if !who.authentic {
				res.Unauthenticated++
				if err := mark(m, key, outcomeUnauthenticated, uuid.NullUUID{}); err != nil {
					return res, err
				}
				continue
			}
			if forwarded {
				orig, _, err := Unforward(raw)
				if err != nil {
					res.Unparsable++
					if err := mark(m, key, outcomeUnparsable, uuid.NullUUID{}); err != nil {
						return res, err
					}
					continue
				}
				raw = orig
			}
			docID, err := s.Submit.SubmitEmail(ctx, who.tenant, who.user, raw, CommandID(linkID, key))
			if errors.Is(err, ErrRejected) {
				res.Rejected++
				if err := mark(m, key, outcomeRejected, uuid.NullUUID{}); err != nil {
					return res, err
				}
				continue
			}
			if err != nil {
				return res, fmt.Errorf("submit message: %w", err)
			}
			doc := uuid.NullUUID{}
			if parsed, err := uuid.Parse(docID); err == nil {
				doc = uuid.NullUUID{UUID: parsed, Valid: true}
			}
			// Only now is the message seen: a crash before this line
			// submits it again, onto the same document.
			if err := mark(m, key, outcomeSubmitted, doc); err != nil {
				return res, err
			}
			res.New++
		}
	}
	return res, nil
}

// messageKey identifies a message across UIDVALIDITY changes: its
// Message-ID, or when it has none its envelope (date, sender, subject,
// size).
func messageKey(m meta) string {
	var src string
	if m.envelope != nil && strings.TrimSpace(m.envelope.MessageID) != "" {
		src = "id:" + strings.TrimSpace(m.envelope.MessageID)
	} else {
		subject := ""
		if m.envelope != nil {
			subject = m.envelope.Subject
		}
		src = "env:" + m.date().UTC().Format(time.RFC3339) + "\x00" + m.from() + "\x00" + subject + "\x00" + strconv.FormatInt(m.size, 10)
	}
	sum := sha256.Sum256([]byte(src))
	return hex.EncodeToString(sum[:])
}

// CommandID names the submit of one message of one mailbox; the document
// id derives from it, so a message can only ever make one document.
func CommandID(linkID uuid.UUID, key string) string { return "mailbox:" + linkID.String() + ":" + key }

// forwardNamespace scopes the ids of forwarding mailboxes.
var forwardNamespace = uuid.MustParse("0d9f3c52-8a0e-4f55-b1f4-5b1d6a3e2c71")

// ForwardID is the id under which a forwarding mailbox's messages are
// remembered: the same account always gets the same id.
func ForwardID(a Account) uuid.UUID {
	return uuid.NewSHA1(forwardNamespace, []byte(strings.ToLower(a.Username+"@"+a.address()+"/"+a.folder())))
}

func sortedUIDs(m map[imap.UID][]search) []imap.UID {
	out := make([]imap.UID, 0, len(m))
	for uid := range m {
		out = append(out, uid)
	}
	slices.Sort(out)
	return out
}

func toInt64(uids []imap.UID) []int64 {
	out := make([]int64, len(uids))
	for i, u := range uids {
		out[i] = int64(u)
	}
	return out
}
