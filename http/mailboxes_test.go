package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/quotedprintable"
	"net/http/httptest"
	stdmail "net/mail"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"tally/apikeys"
	tallyhttp "tally/http"
	"tally/mail"
	"tally/mail/mailtest"
	"tally/mailbox"
	"tally/mailbox/mailboxtest"
	"tally/migrations/pgtest"
	"tally/queue"
)

const rabbitURL = "amqp://guest:guest@127.0.0.1:5672/"

// newMailboxHarness serves the API with mailboxes on a real database, a
// real broker and an in-process IMAP server; configure adjusts the links.
func newMailboxHarness(t *testing.T, configure ...func(*mailbox.Links)) (*harness, *mailboxtest.Server, queue.Topology) {
	t.Helper()
	_, pool := pgtest.New(t)
	log := slog.New(slog.DiscardHandler)
	links, err := mailbox.NewLinks(context.Background(), pool, mailbox.Limits{DialTimeout: 2 * time.Second, AllowPrivateNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range configure {
		c(links)
	}
	topo := mailbox.Topology("test_scrape_"+strings.ReplaceAll(uuid.NewString()[:8], "-", ""), time.Minute, 5)
	t.Cleanup(func() { deleteQueues(topo) })
	api := tallyhttp.New(tallyhttp.Deps{
		Pool: pool, Keys: apikeys.New(pool), Version: "test", Log: log, MaxFileSize: 1 << 20,
		Mailboxes: &mailbox.Service{Links: links, Publisher: &mailbox.Publisher{URL: rabbitURL, Topology: topo}},
	})
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	h := &harness{t: t, srv: srv, pool: pool, keys: map[string]string{}}
	for _, name := range []string{"a", "b"} {
		key, err := apikeys.New(pool).Create(context.Background(), name+strings.ReplaceAll(uuid.NewString()[:8], "-", ""))
		if err != nil {
			t.Fatal(err)
		}
		h.keys[name] = key
	}
	imap := mailboxtest.Start(t)
	imap.AddUser("ann@mail.test", "app-password-1")
	return h, imap, topo
}

func deleteQueues(topo queue.Topology) {
	conn, err := amqp.Dial(rabbitURL)
	if err != nil {
		return
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return
	}
	for _, q := range []string{topo.Queue, topo.Dead(), topo.Delay()} {
		_, _ = ch.QueueDelete(q, false, false, false)
	}
}

func jsonOf(v any) *strings.Reader {
	b, _ := json.Marshal(v)
	return strings.NewReader(string(b))
}

func TestMailboxRoutes(t *testing.T) {
	h, imap, topo := newMailboxHarness(t)
	link := map[string]any{
		"host": imap.Host, "port": imap.Port, "tls": "plain", "username": "ann@mail.test", "password": "app-password-1",
		"user": map[string]any{"email": "ann@example.com", "name": "Ann"},
	}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range link {
			m[kk] = vv
		}
		m[k] = v
		return m
	}

	// Bad input: 400 with the reasons; a refused login: 422 with why.
	code, body := h.do("POST", "/v1/mailboxes", "a", jsonOf(with("tls", "ssl")), "application/json")
	if code != 400 || !strings.Contains(body["detail"].(string), "tls must be imaps, starttls or plain") {
		t.Fatalf("bad tls: %d %v", code, body)
	}
	code, body = h.do("POST", "/v1/mailboxes", "a", jsonOf(with("host", "imap.example.com")), "application/json")
	if code != 400 || !strings.Contains(body["detail"].(string), "only for a server on this machine") {
		t.Fatalf("plain to a remote host: %d %v", code, body)
	}
	code, body = h.do("POST", "/v1/mailboxes", "a", jsonOf(with("password", "wrong")), "application/json")
	if code != 422 || !strings.Contains(body["detail"].(string), "refused the login") || strings.Contains(body["detail"].(string), "wrong") {
		t.Fatalf("wrong password: %d %v", code, body)
	}
	code, body = h.do("POST", "/v1/mailboxes", "a", jsonOf(with("port", 1)), "application/json")
	if code != 422 || !strings.Contains(body["detail"].(string), "could not be reached") || strings.Contains(body["detail"].(string), "dial") {
		t.Fatalf("nothing listening: %d %v", code, body)
	}

	code, created := h.do("POST", "/v1/mailboxes", "a", jsonOf(link), "application/json")
	if code != 201 || created["id"] == nil || created["last_scrape_result"] != "pending" {
		t.Fatalf("link: %d %v", code, created)
	}
	if _, ok := created["password"]; ok {
		t.Fatal("the password is returned")
	}
	id := created["id"].(string)
	code, got := h.do("GET", "/v1/mailboxes/"+id, "a", nil, "")
	if code != 200 || got["username"] != "ann@mail.test" || got["user"].(map[string]any)["email"] != "ann@example.com" ||
		got["messages_found"] != 0.0 || got["last_scrape_at"] != nil {
		t.Fatalf("get: %d %v", code, got)
	}
	code, list := h.do("GET", "/v1/mailboxes", "a", nil, "")
	if code != 200 || len(list["items"].([]any)) != 1 {
		t.Fatalf("list: %d %v", code, list)
	}

	// Another tenant sees nothing and can touch nothing.
	for _, req := range [][2]string{{"GET", ""}, {"DELETE", ""}, {"POST", "/scrape"}} {
		if code, _ := h.do(req[0], "/v1/mailboxes/"+id+req[1], "b", nil, ""); code != 404 {
			t.Errorf("tenant b %s %s: %d, want 404", req[0], req[1], code)
		}
	}
	if code, list := h.do("GET", "/v1/mailboxes", "b", nil, ""); code != 200 || len(list["items"].([]any)) != 0 {
		t.Errorf("tenant b list: %d %v", code, list)
	}
	if code, _ := h.do("GET", "/v1/mailboxes/not-a-uuid", "a", nil, ""); code != 404 {
		t.Errorf("malformed id: %d", code)
	}
	if code, _ := h.do("GET", "/v1/mailboxes", "", nil, ""); code != 401 {
		t.Errorf("no key: %d", code)
	}

	code, body = h.do("POST", "/v1/mailboxes/"+id+"/scrape", "a", nil, "")
	if code != 202 || body["status"] != "queued" {
		t.Fatalf("scrape: %d %v", code, body)
	}
	if n := depth(t, topo.Queue); n != 1 {
		t.Fatalf("%d jobs queued, want 1", n)
	}

	if code, _ := h.do("DELETE", "/v1/mailboxes/"+id, "a", nil, ""); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if code, _ := h.do("GET", "/v1/mailboxes/"+id, "a", nil, ""); code != 404 {
		t.Fatalf("get after delete: %d", code)
	}
}

// The routes of forwarding senders: registering an address another tenant
// holds answers exactly like a free one (it used to be a 409), and a
// sender counts only after the link mailed to it was followed with a POST.
func TestForwardingSenderRoutes(t *testing.T) {
	smtp := mailtest.Start(t)
	sender, err := mail.NewSender(mail.Config{URL: smtp.URL(), From: "tally@tally.test", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h, _, _ := newMailboxHarness(t, func(l *mailbox.Links) {
		l.Forwarding = mailbox.Forwarding{Inbox: "receipts@tally.test", PublicURL: "https://tally.test", Mail: sender}
	})
	code, body := h.do("POST", "/v1/forwarding-senders", "a", jsonOf(map[string]any{"email": "Bob@Example.com", "name": "Bob"}), "application/json")
	if code != 202 || body["email"] != "bob@example.com" || body["name"] != "Bob" || body["confirmed"] != false {
		t.Fatalf("register: %d %v", code, body)
	}
	code, other := h.do("POST", "/v1/forwarding-senders", "b", jsonOf(map[string]any{"email": "bob@example.com", "name": "Bob"}), "application/json")
	delete(body, "created_at")
	delete(other, "created_at")
	if code != 202 || !reflect.DeepEqual(body, other) {
		t.Fatalf("other tenant, same address: %d %v, want what tenant a got: %v", code, other, body)
	}
	code, body = h.do("POST", "/v1/forwarding-senders", "a", jsonOf(map[string]any{"email": "nobody"}), "application/json")
	if code != 400 {
		t.Fatalf("bad address: %d %v", code, body)
	}
	_, addrA := h.do("GET", "/v1/forwarding-address", "a", nil, "")
	_, addrB := h.do("GET", "/v1/forwarding-address", "b", nil, "")
	if a, _ := addrA["address"].(string); !strings.HasPrefix(a, "receipts+") || addrA["address"] == addrB["address"] || addrA["require_dkim"] != true {
		t.Fatalf("addresses %v and %v", addrA, addrB)
	}
	msgs := smtp.WaitFor(t, 2, 10*time.Second)
	msg, err := stdmail.ReadMessage(bytes.NewReader(msgs[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	var text io.Reader = msg.Body
	if msg.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
		text = quotedprintable.NewReader(text)
	}
	raw, _ := io.ReadAll(text)
	token := regexp.MustCompile(`confirm\?token=([A-Za-z0-9_.-]+)`).FindStringSubmatch(string(raw))
	if token == nil {
		t.Fatalf("no link in %s", msgs[0].Data)
	}
	confirmed := func(tenant string) bool {
		_, list := h.do("GET", "/v1/forwarding-senders", tenant, nil, "")
		items := list["items"].([]any)
		return len(items) == 1 && items[0].(map[string]any)["confirmed"] == true
	}
	if code, page := h.do("GET", "/v1/forwarding-senders/confirm?token="+token[1], "", nil, ""); code != 200 || !strings.Contains(page["raw"].(string), `method="post"`) || confirmed("a") {
		t.Fatalf("GET of the link: %d %v (it must only show a button)", code, page)
	}
	if code, page := h.do("POST", "/v1/forwarding-senders/confirm?token="+token[1]+"x", "", nil, ""); code != 400 {
		t.Fatalf("POST of a bad link: %d %v", code, page)
	}
	if code, page := h.do("POST", "/v1/forwarding-senders/confirm?token="+token[1], "", nil, ""); code != 200 || !confirmed("a") || confirmed("b") {
		t.Fatalf("POST of the link: %d %v", code, page)
	}
	if code, _ := h.do("DELETE", "/v1/forwarding-senders?email=carol@example.com", "b", nil, ""); code != 404 {
		t.Fatalf("delete of an unknown sender: %d", code)
	}
	if code, _ := h.do("DELETE", "/v1/forwarding-senders?email=bob@example.com", "a", nil, ""); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if _, list := h.do("GET", "/v1/forwarding-senders", "b", nil, ""); len(list["items"].([]any)) != 1 {
		t.Fatalf("tenant a's delete touched tenant b's sender: %v", list)
	}
}

func depth(t *testing.T, name string) int {
	conn, err := amqp.Dial(rabbitURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	n, err := queue.QueueDepth(ch, name)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
