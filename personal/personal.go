package personal

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"tally/domain"
	"tally/keywatch"
	"tally/readmodel"
	"tally/seal"
)

// HashKeyName is the deployment key (in the secrets table) under which
// addresses are hashed to find their user.
const HashKeyName = "user-email-hash"

// ErrUnreadable means a sealed user is damaged (not what Tally writes):
// it cannot be opened with any key. Readers that must go on (projectors)
// treat it like an erased user.
var ErrUnreadable = errors.New("sealed user is unreadable")

// legacyNamespace scopes the ids of users known only from schema-1 events.
var legacyNamespace = uuid.MustParse("9b6f3c1e-4d2a-5f7b-8c9d-0e1f2a3b4c5d")

// Opened is a user as a reader may show them.
type Opened struct {
	// User is the name and e-mail; empty when erased or when the document
	// names no user.
	User domain.User
	// ID is the pseudonym to key the user by: the event's user_id, or for
	// a schema-1 event an id derived from the address under the deployment
	// key (LegacyID). Empty when the document names no user.
	ID string
	// Erased is true when the user's data no longer opens.
	Erased bool
	// Private is the document's sealed Private, opened; empty when there
	// was none (older events carry it in the clear) or when erased.
	Private domain.Private
}

// Keys seals, opens and erases users. It is safe for concurrent use.
type Keys struct {
	q    *readmodel.Queries
	pool *pgxpool.Pool

	mu sync.Mutex
	// hashKey is the deployment's address-hash key, loaded on first use
	// (so a process starts while the database is down) and kept: it never
	// changes.
	hashKey []byte

	// live keeps addresses' live keys for sealing uploads (Cached); nil
	// keeps none.
	live *keywatch.Cache[liveKeyOf, liveKey]
}

// liveKeyOf names an address's live key: tenant and address hash.
type liveKeyOf struct{ tenant, hash string }

// liveKey is the user an address is and the key their uploads are sealed
// with.
type liveKey struct {
	id  string
	key []byte
}

// liveKeyTTL bounds how long a live key is kept without a read; an
// erasure (or any other change to user_keys) ends it at once in every
// process that watches (package keywatch).
const liveKeyTTL = 10 * time.Minute

// liveKeyCacheSize bounds the addresses kept at once.
const liveKeyCacheSize = 10_000

// New returns the user keys kept in pool's database.
func New(pool *pgxpool.Pool) *Keys {
	return &Keys{q: readmodel.New(pool), pool: pool}
}

// Cached returns Keys that keep addresses' live keys for SealUpload while
// watch reports no change to user_keys: an API process seals every upload
// with the key of the address it names, mostly the same few.
func (k *Keys) Cached(watch *keywatch.Watch) *Keys {
	return &Keys{q: k.q, pool: k.pool, live: keywatch.NewCache[liveKeyOf, liveKey](watch, liveKeyCacheSize)}
}

// addressHash is the HMAC of an address under the deployment key, made on
// the deployment's first use.
func (k *Keys) addressHash(ctx context.Context, email string) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.hashKey == nil {
		hk, err := seal.SharedKey(ctx, k.q, HashKeyName)
		if err != nil {
			return nil, fmt.Errorf("personal: %w", err)
		}
		k.hashKey = hk
	}
	return emailHash(k.hashKey, email), nil
}

func (k *Keys) loadedHashKey(ctx context.Context) ([]byte, error) {
	if _, err := k.addressHash(ctx, ""); err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.hashKey, nil
}

// Normalise is how addresses are compared: trimmed and lower-cased.
func Normalise(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

func emailHash(hashKey []byte, email string) []byte {
	m := hmac.New(sha256.New, hashKey)
	m.Write([]byte(Normalise(email)))
	return m.Sum(nil)
}

// LegacyID is the id of a user named in the clear by schema-1 events: a
// keyed hash, so it says nothing of the address without the deployment key.
func LegacyID(emailHash []byte) string {
	return uuid.NewSHA1(legacyNamespace, emailHash).String()
}

// aad binds a sealed user to its tenant and id: a value copied onto
// another user or tenant does not open.
func aad(tenant, userID string) []byte {
	return []byte("tally-user\x00" + tenant + "\x00" + userID)
}

// privateAAD binds a sealed Private the same way, apart from the user:
// one never opens as the other.
func privateAAD(tenant, userID string) []byte {
	return []byte("tally-private\x00" + tenant + "\x00" + userID)
}

// Seal returns the user's pseudonym and their name and e-mail sealed with
// their key, making the key on the address's first use. A user without an
// e-mail is no one: the zero SealedUser.
func (k *Keys) Seal(ctx context.Context, tenant string, u domain.User) (domain.SealedUser, error) {
	return k.SealUpload(ctx, tenant, u, domain.Private{})
}

// SealUpload is Seal that also seals an upload's Private with the same
// key (SealedUser.Private), read once for both. A user without an e-mail
// is no one: the zero SealedUser, and pr stays with the caller.
func (k *Keys) SealUpload(ctx context.Context, tenant string, u domain.User, pr domain.Private) (domain.SealedUser, error) {
	u.Email = Normalise(u.Email)
	if u.Email == "" {
		return domain.SealedUser{}, nil
	}
	h, err := k.addressHash(ctx, u.Email)
	if err != nil {
		return domain.SealedUser{}, err
	}
	id, key, err := k.liveKey(ctx, tenant, h)
	if err != nil {
		return domain.SealedUser{}, err
	}
	box, err := seal.New(key)
	if err != nil {
		return domain.SealedUser{}, err
	}
	plain, err := json.Marshal(u)
	if err != nil {
		return domain.SealedUser{}, err
	}
	out := domain.SealedUser{ID: id, Sealed: base64.StdEncoding.EncodeToString(box.Seal(plain, aad(tenant, id)))}
	if !pr.IsZero() {
		if out.Private, err = sealPrivate(box, tenant, id, pr); err != nil {
			return domain.SealedUser{}, err
		}
	}
	return out, nil
}

// sealPrivate seals pr with box, bound to the tenant and user (privateAAD).
func sealPrivate(box *seal.Box, tenant, userID string, pr domain.Private) (string, error) {
	plain, err := json.Marshal(pr)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(box.Seal(plain, privateAAD(tenant, userID))), nil
}

// SealPrivate seals pr with the key of the user an upload named (its
// pseudonymous id), for what a document learns of its user after the
// upload: a result's extracted text. It never makes a key: for an erased
// user (or one whose key never reached this database) it answers
// domain.ErrUserErased, and what would have been sealed must not be
// kept at all.
func (k *Keys) SealPrivate(ctx context.Context, tenant, userID string, pr domain.Private) (string, error) {
	id, err := uuid.Parse(userID)
	if err != nil {
		return "", fmt.Errorf("seal for user %q: not a UUID", userID)
	}
	key, err := k.userKey(ctx, tenant, id)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && key == nil) {
		return "", domain.ErrUserErased
	}
	if err != nil {
		return "", fmt.Errorf("read user key: %w", err)
	}
	box, err := seal.New(key)
	if err != nil {
		return "", err
	}
	return sealPrivate(box, tenant, userID, pr)
}

// liveKey reads the address's key, or makes it, and keeps it when Keys
// are Cached.
func (k *Keys) liveKey(ctx context.Context, tenant string, h []byte) (string, []byte, error) {
	of := liveKeyOf{tenant: tenant, hash: string(h)}
	now := time.Now()
	if l, ok := k.live.Get(of, now); ok {
		return l.id, l.key, nil
	}
	stamp, cacheable := k.live.Stamp()
	id, key, err := k.readOrMakeKey(ctx, tenant, h)
	if err == nil && cacheable && key != nil {
		k.live.Put(of, stamp, liveKey{id: id, key: key}, now.Add(liveKeyTTL))
	}
	return id, key, err
}

// readOrMakeKey reads the address's key, or makes it. Of two processes
// making it at once, the second insert does nothing and reads the first's.
func (k *Keys) readOrMakeKey(ctx context.Context, tenant string, h []byte) (string, []byte, error) {
	row, err := k.q.GetLiveUserKey(ctx, readmodel.GetLiveUserKeyParams{Tenant: tenant, EmailHash: h})
	if err == nil {
		key, err := unwrapUserKey(tenant, row.UserID, row.Key)
		return row.UserID.String(), key, err
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return "", nil, fmt.Errorf("read user key: %w", err)
	}
	fresh, err := seal.NewKey()
	if err != nil {
		return "", nil, err
	}
	ring, err := seal.Installed()
	if err != nil {
		return "", nil, err
	}
	id := uuid.New()
	wrapped, err := ring.Wrap(fresh, seal.UserKeyPlace(tenant, id.String()))
	if err != nil {
		return "", nil, err
	}
	made, err := k.q.InsertUserKey(ctx, readmodel.InsertUserKeyParams{Tenant: tenant, UserID: id, EmailHash: h, Key: wrapped})
	if err == nil {
		return made.UserID.String(), fresh, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return "", nil, fmt.Errorf("make user key: %w", err)
	}
	row, err = k.q.GetLiveUserKey(ctx, readmodel.GetLiveUserKeyParams{Tenant: tenant, EmailHash: h})
	if err != nil {
		return "", nil, fmt.Errorf("read user key made by another writer: %w", err)
	}
	key, err := unwrapUserKey(tenant, row.UserID, row.Key)
	return row.UserID.String(), key, err
}

// unwrapUserKey opens a key as user_keys stores it: wrapped by the master
// key (package seal). A nil key (erased) stays nil.
func unwrapUserKey(tenant string, id uuid.UUID, stored []byte) ([]byte, error) {
	if stored == nil {
		return nil, nil
	}
	ring, err := seal.Installed()
	if err != nil {
		return nil, err
	}
	key, err := ring.Unwrap(stored, seal.UserKeyPlace(tenant, id.String()))
	if err != nil {
		return nil, fmt.Errorf("personal: user key %s: %w", id, err)
	}
	return key, nil
}

// Open returns the user a document names, or Erased.
func (k *Keys) Open(ctx context.Context, tenant string, s domain.SealedUser) (Opened, error) {
	return open(ctx, k.q, k.userKey, k.loadedHashKey, tenant, s)
}

func (k *Keys) userKey(ctx context.Context, tenant string, id uuid.UUID) ([]byte, error) {
	stored, err := k.q.GetUserKey(ctx, readmodel.GetUserKeyParams{Tenant: tenant, UserID: id})
	if err != nil {
		return nil, err
	}
	return unwrapUserKey(tenant, id, stored)
}

// OpenIn is Open inside the caller's transaction, for projectors: the key
// row is read FOR SHARE, so an erasure running meanwhile waits for the
// caller's commit and then blanks what it wrote. It needs no Keys: the
// address-hash key (for schema-1 events only) is read through q as well.
func OpenIn(ctx context.Context, q *readmodel.Queries, tenant string, s domain.SealedUser) (Opened, error) {
	cache, _ := ctx.Value(keyCacheKey{}).(map[userRef][]byte)
	key := func(ctx context.Context, tenant string, id uuid.UUID) ([]byte, error) {
		if k, ok := cache[userRef{tenant, id}]; ok {
			return k, nil
		}
		stored, err := q.OpenUserKey(ctx, readmodel.OpenUserKeyParams{Tenant: tenant, UserID: id})
		if err != nil {
			return nil, err
		}
		k, err := unwrapUserKey(tenant, id, stored)
		if err == nil && k != nil && cache != nil {
			cache[userRef{tenant, id}] = k
		}
		return k, err
	}
	return open(ctx, q, key, func(ctx context.Context) ([]byte, error) { return hashKeyIn(ctx, q) }, tenant, s)
}

type keyCacheKey struct{}

type userRef struct {
	tenant string
	id     uuid.UUID
}

// WithKeyCache returns a context under which OpenIn reads each user's key
// once, for a unit of work in one transaction (a projector's batch of
// events, many of them one user's). OpenIn reads a key FOR SHARE, so no
// erasure deletes it before that transaction ends, and reading it again
// in the transaction would return the same key; a key not found is not
// kept. The context must not outlive the transaction, nor be shared by
// goroutines.
func WithKeyCache(ctx context.Context) context.Context {
	return context.WithValue(ctx, keyCacheKey{}, map[userRef][]byte{})
}

// hashKeyIn reads the address-hash key, making it if no process has yet.
func hashKeyIn(ctx context.Context, q *readmodel.Queries) ([]byte, error) {
	return seal.SharedKey(ctx, q, HashKeyName)
}

// open opens s with the key userKey reads (pgx.ErrNoRows or a nil key
// when erased); q answers whether a schema-1 address was erased.
func open(ctx context.Context, q *readmodel.Queries, userKey func(context.Context, string, uuid.UUID) ([]byte, error),
	hashKey func(context.Context) ([]byte, error), tenant string, s domain.SealedUser) (Opened, error) {
	if s.ID == "" && s.Sealed == "" && s.Private == "" {
		if s.Plain == nil || s.Plain.Email == "" {
			return Opened{}, nil // the route named no user
		}
		// Schema 1: in the clear. Blank it when the address was erased.
		hk, err := hashKey(ctx)
		if err != nil {
			return Opened{}, err
		}
		h := emailHash(hk, s.Plain.Email)
		erased, err := q.AddressErased(ctx, readmodel.AddressErasedParams{Tenant: tenant, EmailHash: h})
		if err != nil {
			return Opened{}, fmt.Errorf("read erasures: %w", err)
		}
		if erased {
			return Opened{ID: LegacyID(h), Erased: true}, nil
		}
		return Opened{ID: LegacyID(h), User: domain.User{Name: s.Plain.Name, Email: Normalise(s.Plain.Email)}}, nil
	}
	id, err := uuid.Parse(s.ID)
	if err != nil {
		return Opened{}, fmt.Errorf("open user: user_id %q is not a UUID: %w", s.ID, ErrUnreadable)
	}
	key, err := userKey(ctx, tenant, id)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && key == nil) {
		// Erased; or the key never reached this database (a stream
		// restored elsewhere): either way the data does not open.
		return Opened{ID: s.ID, Erased: true}, nil
	}
	if err != nil {
		return Opened{}, fmt.Errorf("read user key: %w", err)
	}
	box, err := seal.New(key)
	if err != nil {
		return Opened{}, err
	}
	out := Opened{ID: s.ID}
	// A part of an order carries its Private alone, without the user.
	if s.Sealed != "" {
		if err := openJSON(box, s.Sealed, aad(tenant, s.ID), &out.User); err != nil {
			return Opened{}, fmt.Errorf("open user %s: user_sealed %v: %w", s.ID, err, ErrUnreadable)
		}
	}
	if s.Private != "" {
		if err := openJSON(box, s.Private, privateAAD(tenant, s.ID), &out.Private); err != nil {
			return Opened{}, fmt.Errorf("open user %s: private_sealed %v: %w", s.ID, err, ErrUnreadable)
		}
	}
	return out, nil
}

// openJSON opens a base64 value sealed by box under aad into v.
func openJSON(box *seal.Box, sealed string, aad []byte, v any) error {
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil {
		return fmt.Errorf("is not base64 (%v)", err)
	}
	plain, err := box.Open(raw, aad)
	if err != nil {
		return err
	}
	return json.Unmarshal(plain, v)
}

// Erase destroys the keys of an address in a tenant and, in the same
// transaction, blanks the address and name, and the documents' Private
// (file names, subjects, e-receipt ids), in the read models (documents,
// search, monthly totals) and drops its e-mail preference. It returns every id the
// address has had (erased before or now, and its LegacyID), for the
// UserErased events that tell replays and subscribers. An address Tally
// never knew is domain.ErrUserNotFound; erasing again is not an error.
func (k *Keys) Erase(ctx context.Context, tenant, email string) ([]string, error) {
	email = Normalise(email)
	h, err := k.addressHash(ctx, email)
	if err != nil {
		return nil, err
	}
	var ids []string
	err = pgx.BeginFunc(ctx, k.pool, func(tx pgx.Tx) error {
		q := readmodel.New(tx)
		// First, so that a projector holding the key FOR SHARE commits
		// before the blanking below reads the rows it wrote.
		if _, err := q.EraseUserKeys(ctx, readmodel.EraseUserKeysParams{Tenant: tenant, EmailHash: h}); err != nil {
			return fmt.Errorf("erase keys: %w", err)
		}
		known, err := q.UserIDsOfAddress(ctx, readmodel.UserIDsOfAddressParams{Tenant: tenant, EmailHash: h})
		if err != nil {
			return err
		}
		if len(known) == 0 {
			shown, err := q.AddressInReadModels(ctx, readmodel.AddressInReadModelsParams{Tenant: tenant, UserEmail: email})
			if err != nil {
				return err
			}
			if !shown {
				return domain.ErrUserNotFound
			}
		}
		// The tombstone for schema-1 events, which name the address in
		// the clear and have no key of their own.
		legacy := LegacyID(h)
		if err := q.InsertUserTombstone(ctx, readmodel.InsertUserTombstoneParams{Tenant: tenant,
			UserID: uuid.MustParse(legacy), EmailHash: h}); err != nil {
			return fmt.Errorf("record erasure: %w", err)
		}
		all, err := q.UserIDsOfAddress(ctx, readmodel.UserIDsOfAddressParams{Tenant: tenant, EmailHash: h})
		if err != nil {
			return err
		}
		ids = ids[:0]
		for _, id := range all {
			ids = append(ids, id.String())
		}
		byEmail := pgtype.Text{String: email, Valid: true}
		if _, err := q.BlankDocumentUsers(ctx, readmodel.BlankDocumentUsersParams{Tenant: tenant, UserIds: ids, Email: byEmail}); err != nil {
			return fmt.Errorf("blank documents: %w", err)
		}
		if _, err := q.BlankSearchUsers(ctx, readmodel.BlankSearchUsersParams{Tenant: tenant, UserIds: ids}); err != nil {
			return fmt.Errorf("blank search: %w", err)
		}
		if _, err := q.BlankUserWebhookDeliveries(ctx, readmodel.BlankUserWebhookDeliveriesParams{Tenant: tenant, UserIds: ids}); err != nil {
			return fmt.Errorf("blank webhook deliveries: %w", err)
		}
		if _, err := q.BlankMonthlyDocumentUsers(ctx, readmodel.BlankMonthlyDocumentUsersParams{Tenant: tenant, UserIds: ids, Email: byEmail}); err != nil {
			return fmt.Errorf("blank monthly documents: %w", err)
		}
		if _, err := q.BlankMonthlyTotalUsers(ctx, readmodel.BlankMonthlyTotalUsersParams{Tenant: tenant, UserIds: ids, Email: byEmail}); err != nil {
			return fmt.Errorf("blank monthly totals: %w", err)
		}
		if _, err := q.DeleteAddressPreferences(ctx, readmodel.DeleteAddressPreferencesParams{Tenant: tenant, UserEmail: email}); err != nil {
			return fmt.Errorf("drop preferences: %w", err)
		}
		if _, err := q.DeleteAddressMailboxes(ctx, readmodel.DeleteAddressMailboxesParams{Tenant: tenant, UserEmail: email}); err != nil {
			return fmt.Errorf("drop linked mailboxes: %w", err)
		}
		if _, err := q.DeleteAddressForwardingSenders(ctx, readmodel.DeleteAddressForwardingSendersParams{Tenant: tenant, Email: email}); err != nil {
			return fmt.Errorf("drop forwarding senders: %w", err)
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, domain.ErrUserNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("erase user: %w", err)
	}
	return ids, nil
}

// Files returns the blob keys of the documents of users ids (an erased
// address's ids, as Erase returns them), so the erasure can delete the
// uploaded files and e-mails too.
func (k *Keys) Files(ctx context.Context, tenant string, ids []string) ([]string, error) {
	keys, err := k.q.UserDocumentFiles(ctx, readmodel.UserDocumentFilesParams{Tenant: tenant, UserIds: ids})
	if err != nil {
		return nil, fmt.Errorf("files of erased users: %w", err)
	}
	return keys, nil
}

// Erased reports whether an address was erased and has uploaded nothing
// since: storing anything about it (an unsubscribe from an old e-mail's
// link, say) would bring back what was erased.
func (k *Keys) Erased(ctx context.Context, tenant, email string) (bool, error) {
	h, err := k.addressHash(ctx, email)
	if err != nil {
		return false, err
	}
	st, err := k.q.AddressState(ctx, readmodel.AddressStateParams{Tenant: tenant, EmailHash: h})
	if err != nil {
		return false, fmt.Errorf("read erasures: %w", err)
	}
	return st.Erased && !st.Live, nil
}

// Redact returns an event as it may be shown (audit views, `tally events`).
// New events carry the user and their Private sealed and are shown as
// stored; an older DocumentUploaded carries the Private (and a schema-1
// one the user) in the clear, shown only while the user is not erased;
// a result's text in the clear is left out.
func (k *Keys) Redact(ctx context.Context, e domain.Envelope) (domain.Envelope, error) {
	if e.Type == domain.TypeReceiptExtracted || e.Type == domain.TypeExtractionRevised {
		// A result alone does not say whose document it is: a text it
		// holds in the clear is shown in the document's history only.
		return redact(e)
	}
	erased, err := k.uploadErased(ctx, e)
	if err != nil || !erased {
		return e, err
	}
	return redact(e)
}

// RedactHistory is Redact for one document's history, in order: the
// subjects that schema-1 OrderPartAdded events of an erased user's order
// hold in the clear go too (the event does not name its user; the
// document's upload does).
func (k *Keys) RedactHistory(ctx context.Context, history []domain.Envelope) ([]domain.Envelope, error) {
	out := make([]domain.Envelope, len(history))
	erased := false
	for i, e := range history {
		if e.Type == domain.TypeDocumentUploaded && i == 0 {
			var err error
			if erased, err = k.uploadErased(ctx, e); err != nil {
				return nil, err
			}
		}
		out[i] = e
		if erased {
			shown, err := redact(e)
			if err != nil {
				return nil, err
			}
			out[i] = shown
		}
	}
	return out, nil
}

// uploadErased: e is a DocumentUploaded whose user is erased.
func (k *Keys) uploadErased(ctx context.Context, e domain.Envelope) (bool, error) {
	if e.Type != domain.TypeDocumentUploaded {
		return false, nil
	}
	var p domain.DocumentUploaded
	if err := e.Decode(&p); err != nil || !p.Owner().Named() {
		return false, nil
	}
	owner, err := openShown(ctx, k, e.Tenant, p.Owner())
	return owner.Erased, err
}

// redact blanks what an event of an erased user holds in the clear.
func redact(e domain.Envelope) (domain.Envelope, error) {
	var drop [][]string // paths in the payload
	switch {
	case e.Type == domain.TypeDocumentUploaded && e.SchemaVersion < 3:
		drop = [][]string{{"filename"}, {"email", "subject"}, {"job", "email_hash"}, {"job", "client_user_id"}}
		if e.SchemaVersion == 1 {
			drop = append(drop, []string{"user"})
		}
	case e.Type == domain.TypeOrderPartAdded && e.SchemaVersion < 2:
		drop = [][]string{{"subject"}}
	case e.Type == domain.TypeReceiptExtracted || e.Type == domain.TypeExtractionRevised:
		// A result written before texts were sealed holds the text in
		// the clear; a sealed one no longer opens.
		drop = [][]string{{"text"}}
	default:
		return e, nil
	}
	var m map[string]any
	if err := json.Unmarshal(e.Data, &m); err != nil {
		return e, err
	}
	for _, path := range drop {
		obj := m
		for _, key := range path[:len(path)-1] {
			if obj, _ = obj[key].(map[string]any); obj == nil {
				break
			}
		}
		if obj != nil {
			delete(obj, path[len(path)-1])
		}
	}
	if e.SchemaVersion == 1 && m["user"] == nil && e.Type == domain.TypeDocumentUploaded {
		m["user"] = map[string]any{"email": ""}
	}
	data, err := json.Marshal(m)
	if err != nil {
		return e, err
	}
	e.Data = data
	return e, nil
}

// UserIDs returns every pseudonymous id an address has had in a tenant
// (live and erased, and the id of its schema-1 events), so a read model
// that keeps ids alone can be filtered by a person's address.
func (k *Keys) UserIDs(ctx context.Context, tenant, email string) ([]string, error) {
	h, err := k.addressHash(ctx, Normalise(email))
	if err != nil {
		return nil, err
	}
	rows, err := k.q.UserIDsOfAddress(ctx, readmodel.UserIDsOfAddressParams{Tenant: tenant, EmailHash: h})
	if err != nil {
		return nil, fmt.Errorf("user ids of an address: %w", err)
	}
	ids := []string{LegacyID(h)}
	for _, id := range rows {
		ids = append(ids, id.String())
	}
	return ids, nil
}
