package seal_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"tally/blob"
	"tally/commands"
	"tally/domain"
	"tally/eventstore/eventstoretest"
	"tally/mailbox"
	"tally/migrations/pgtest"
	"tally/personal"
	"tally/readmodel"
	"tally/seal"
	"tally/webhooks"
)

// dump is what a copy of the database holds: every row of every table.
type dump struct {
	text  string            // every row as text, to look for values in the clear
	bytea [][]byte          // every bytea value, the candidate keys
	named map[string][]byte // secrets by name
	users map[string][]byte // user_keys.key by tenant/user_id
}

// dumpDatabase reads every table through SQL, as pg_dump would.
func dumpDatabase(t *testing.T, pool *pgxpool.Pool) dump {
	t.Helper()
	ctx := context.Background()
	d := dump{named: map[string][]byte{}, users: map[string][]byte{}}
	rows, err := pool.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	var all strings.Builder
	for _, tbl := range tables {
		rows, err := pool.Query(ctx, fmt.Sprintf(`SELECT t::text FROM public.%q t`, tbl))
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			all.WriteString(tbl + " " + s + "\n")
		}
		rows.Close()
	}
	d.text = all.String()
	cols, err := pool.Query(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = 'public' AND data_type = 'bytea'`)
	if err != nil {
		t.Fatal(err)
	}
	var pairs [][2]string
	for cols.Next() {
		var tb, c string
		if err := cols.Scan(&tb, &c); err != nil {
			t.Fatal(err)
		}
		pairs = append(pairs, [2]string{tb, c})
	}
	cols.Close()
	for _, p := range pairs {
		rows, err := pool.Query(ctx, fmt.Sprintf(`SELECT %q FROM public.%q WHERE %q IS NOT NULL`, p[1], p[0], p[1]))
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var b []byte
			if err := rows.Scan(&b); err != nil {
				t.Fatal(err)
			}
			d.bytea = append(d.bytea, b)
		}
		rows.Close()
	}
	q := readmodel.New(pool)
	secrets, err := q.ListSecretValues(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		d.named[s.Name] = s.Value
	}
	keys, err := q.ListStoredUserKeys(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		d.users[k.Tenant+"/"+k.UserID.String()] = k.Key
	}
	return d
}

// sealedValues are the three kinds of value a dump must not open, with
// the associated data their owners seal them under (public in the source).
type sealedValue struct {
	what   string
	sealed []byte
	aad    []byte
	plain  []byte
}

// opens reports whether any of keys opens v.
func opens(keys [][]byte, v sealedValue) bool {
	for _, k := range keys {
		if len(k) != seal.KeySize {
			continue
		}
		box, err := seal.New(k)
		if err != nil {
			continue
		}
		if got, err := box.Open(v.sealed, v.aad); err == nil && bytes.Equal(got, v.plain) {
			return true
		}
	}
	return false
}

// A copy of the database (every row of every table) and of the stream
// (the events of an upload) opens nothing without the master key; with
// it, everything.
func TestDatabaseDumpOpensNothingWithoutTheMasterKey(t *testing.T) {
	master, _ := seal.NewKey()
	ring, err := seal.NewRing(master)
	if err != nil {
		t.Fatal(err)
	}
	old := seal.Swap(ring)
	t.Cleanup(func() { seal.Swap(old) })

	_, pool := pgtest.New(t)
	ctx := context.Background()
	const tenant = "acme"

	hooks, err := webhooks.Open(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	ep, secret, err := hooks.Create(ctx, tenant, webhooks.EndpointSpec{URL: "https://hooks.example.com/x", Events: []string{"document.completed"}})
	if err != nil {
		t.Fatal(err)
	}
	links, err := mailbox.NewLinks(ctx, pool, mailbox.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	const password = "imap-app-password-7d1e"
	link, err := links.Create(ctx, tenant, mailbox.NewLink{Host: "imap.example.com", Port: 993, TLS: "imaps",
		Username: "ann", Password: password, User: domain.User{Email: "ann@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	// An upload through the commands: the user travels in the event.
	people := personal.New(pool)
	events, _ := eventstoretest.Start(t)
	files, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cmds := commands.New(events, files, slog.New(slog.DiscardHandler), commands.WithPeople(people))
	user := domain.User{Name: "Ann Example", Email: "ann.dump@example.com"}
	res, err := cmds.UploadInvoice(ctx, commands.UploadInvoice{Meta: commands.Meta{Tenant: tenant}, Source: domain.SourceUpload,
		Filename: "inv.pdf", Content: []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"), User: user})
	if err != nil {
		t.Fatal(err)
	}
	cmds.Wait()
	history, err := events.Load(ctx, tenant, res.DocumentID)
	if err != nil || len(history) == 0 {
		t.Fatalf("events of the upload: %v %v", history, err)
	}
	var uploaded domain.DocumentUploaded
	if err := history[0].Decode(&uploaded); err != nil {
		t.Fatal(err)
	}
	su := uploaded.Owner()

	d := dumpDatabase(t, pool)
	// The copy of the stream: every event of the document, as stored.
	for _, e := range history {
		raw, _ := json.Marshal(e)
		d.text += "event " + string(raw) + "\n"
	}
	sealedUser, _ := base64.StdEncoding.DecodeString(su.Sealed)
	var hookSealed, passwordSealed []byte
	if err := pool.QueryRow(ctx, `SELECT secret_sealed FROM webhook_endpoints WHERE id = $1`, ep.ID).Scan(&hookSealed); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT password_sealed FROM mailbox_links WHERE id = $1`, link.ID).Scan(&passwordSealed); err != nil {
		t.Fatal(err)
	}
	userPlain := []byte(fmt.Sprintf(`{"name":%q,"email":%q}`, user.Name, user.Email))
	values := []sealedValue{
		{"webhook secret", hookSealed, ep.ID[:], []byte(secret)},
		{"IMAP password", passwordSealed, []byte("mailbox-password\x00" + tenant + "\x00" + link.ID.String()), []byte(password)},
		{"user", sealedUser, []byte("tally-user\x00" + tenant + "\x00" + su.ID), userPlain},
	}
	for _, v := range values {
		if strings.Contains(d.text, string(v.plain)) || strings.Contains(d.text, user.Email) {
			t.Errorf("the %s is in the dump in the clear", v.what)
		}
		// Every bytea value of a key's length, and every 32-byte window
		// of a longer one, tried as the key.
		var candidates [][]byte
		for _, b := range d.bytea {
			for i := 0; i+seal.KeySize <= len(b); i++ {
				candidates = append(candidates, b[i:i+seal.KeySize])
			}
		}
		if opens(candidates, v) {
			t.Errorf("the %s opens with a key found in the dump", v.what)
		}
	}

	// With the master key, the dump's wrapped keys open all three.
	withMaster, err := seal.NewRing(master)
	if err != nil {
		t.Fatal(err)
	}
	var unwrapped [][]byte
	for name, v := range d.named {
		k, err := withMaster.Unwrap(v, seal.SecretPlace(name))
		if err != nil {
			t.Fatalf("secret %s does not unwrap with the master key: %v", name, err)
		}
		unwrapped = append(unwrapped, k)
	}
	for where, v := range d.users {
		tn, id, _ := strings.Cut(where, "/")
		k, err := withMaster.Unwrap(v, seal.UserKeyPlace(tn, id))
		if err != nil {
			t.Fatalf("user key %s does not unwrap with the master key: %v", where, err)
		}
		unwrapped = append(unwrapped, k)
	}
	for _, v := range values {
		if !opens(unwrapped, v) {
			t.Errorf("the %s does not open with the master key", v.what)
		}
	}

	// A process with another master key reads none of them.
	other, _ := seal.NewKey()
	otherRing, _ := seal.NewRing(other)
	seal.Swap(otherRing)
	if _, err := webhooks.Open(ctx, pool); err == nil {
		t.Error("the webhook store opened under another master key")
	}
	if _, err := people.Open(ctx, tenant, su); err == nil {
		t.Error("the user opened under another master key")
	}
	seal.Swap(ring)
	if o, err := people.Open(ctx, tenant, su); err != nil || o.User.Email != user.Email {
		t.Fatalf("user under the master key: %+v %v", o, err)
	}
}
