package main

import (
	"context"
	"fmt"
	"io"
	stdhttp "net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium finds the browser the browser tests drive. Without one they
// fail, saying how to get it (CI installs it with scripts/setup.sh
// --test); -short skips them.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if testing.Short() {
		t.Skip("no Chromium: browser tests skipped (-short)")
	}
	t.Fatal("the browser tests need Chromium: apt-get install chromium (scripts/setup.sh --test does), or run with -short to skip them")
	return ""
}

// browserTab starts a headless Chromium and returns a tab in it.
func browserTab(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium(t)), chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 900))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tab, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return tab
}

// fail ends the test with what was being done and where the tab was.
func fail(t *testing.T, tab context.Context, what string, err error) {
	t.Helper()
	loc, _ := chromedp.Run(tab, chromedp.Location())
	body, _ := chromedp.Run(tab, chromedp.Text(chromedp.CSS("body")))
	if png, err := chromedp.Run(tab, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile(filepath.Join(t.ArtifactDir(), "failure.png"), png, 0o644)
	}
	t.Fatalf("%s: %v (at %s: %.500s)", what, err, loc, body)
}

// step runs browser actions with a deadline.
func step(t *testing.T, tab context.Context, what string, timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		fail(t, tab, what, err)
	}
}

// get runs one action that reads something, with a deadline.
func get[T any](t *testing.T, tab context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		fail(t, tab, what, err)
	}
	return v
}

// pageSays waits until the page's text holds text, through the
// navigations a click may start.
func pageSays(text string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		expr := fmt.Sprintf("document.body !== null && document.body.innerText.includes(%q)", text)
		for {
			if ok, err := chromedp.Evaluate[bool](expr)(ctx, t); err == nil && ok {
				return chromedp.Void{}, nil
			}
			select {
			case <-ctx.Done():
				return chromedp.Void{}, fmt.Errorf("waiting for the page to say %q: %w", text, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

// screenshot saves the page as NAME.png in the test's artifacts (go test
// -artifacts keeps them under -outputdir).
func screenshot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	png := get(t, tab, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(t.ArtifactDir(), name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserUploadSearchCorrect drives the web app in headless Chromium
// against `tally all` with a real worker: sign in as the first admin,
// upload the example invoice through the file input, watch it reach
// COMPLETED, find it by its vendor, correct its total in place, see the
// correction in the history and in the month's spending, sign out.
func TestBrowserUploadSearchCorrect(t *testing.T) {
	tab := browserTab(t)
	invoice, err := filepath.Abs("../../examples/invoice.pdf")
	if err != nil {
		t.Fatal(err)
	}
	// The webhook the admin adds below posts to this machine.
	in := startAll(t, map[string]string{"OUTBOUND_ALLOW_PRIVATE_NETWORKS": "true"})
	raw, err := os.ReadFile(filepath.Join(in.dataDir, "admin-password"))
	if err != nil {
		t.Fatal(err)
	}
	password := strings.TrimSpace(string(raw))
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	step(t, tab, "sign in", 30*time.Second,
		chromedp.Navigate(in.base+"/"),
		chromedp.WaitVisible(css("#email")),
		chromedp.SendKeys(css("#email"), firstAdmin),
		chromedp.SendKeys(css("#password"), password),
		chromedp.Click(css(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(css("table.docs")))
	screenshot(t, tab, "documents-empty")

	step(t, tab, "upload", 30*time.Second,
		chromedp.Navigate(in.base+"/upload"),
		chromedp.WaitVisible(css("#files")),
		chromedp.SetUploadFiles(css("#files"), []string{invoice}))
	ctx, cancel := context.WithTimeout(tab, 120*time.Second)
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`(() => { const b = document.querySelector("#uploads .badge");
		if (b && b.textContent === "FAILED") throw new Error("extraction failed: " + document.querySelector("#uploads").textContent);
		return b && b.textContent === "COMPLETED"; })()`, chromedp.WithPollingInterval(250*time.Millisecond)))
	cancel()
	if err != nil {
		fail(t, tab, "wait for COMPLETED", err)
	}
	screenshot(t, tab, "upload")

	// The search read model follows the stream on its own: search until
	// it holds the document.
	href := ""
	for deadline := time.Now().Add(30 * time.Second); href == "" && time.Now().Before(deadline); {
		step(t, tab, "search by vendor", 20*time.Second,
			chromedp.Navigate(in.base+"/documents?q=acme+office"),
			chromedp.WaitVisible(css("table.docs")))
		href = get(t, tab, "read the results", chromedp.Evaluate[string](
			`(() => { const a = document.querySelectorAll("table.docs tbody a[href^='/documents/']");
				return a.length === 1 ? a[0].getAttribute("href") : ""; })()`))
		if href == "" {
			time.Sleep(300 * time.Millisecond)
		}
	}
	if href == "" {
		t.Fatal("searching for the vendor did not find the uploaded invoice")
	}
	screenshot(t, tab, "documents")

	step(t, tab, "open the document", 20*time.Second, chromedp.Navigate(in.base+href), chromedp.WaitVisible(css("#f-total")))
	if total := get(t, tab, "read the total", chromedp.Value(css("#f-total"))); total != "78.60" {
		t.Fatalf("the document page shows total %q, want the extracted 78.60", total)
	}
	screenshot(t, tab, "document")

	step(t, tab, "correct the total in place", 30*time.Second,
		chromedp.Clear(css("#f-total")),
		chromedp.SendKeys(css("#f-total"), "80.00"),
		chromedp.Click(css(`#fields button[type=submit]`)))
	// The history is built from the events: the correction shows once the
	// page is loaded again after it.
	timeline := ""
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(timeline, "80.00") && time.Now().Before(deadline); {
		time.Sleep(300 * time.Millisecond)
		step(t, tab, "read the history", 20*time.Second, chromedp.Navigate(in.base+href), chromedp.WaitVisible(css("ol.timeline")))
		timeline = get(t, tab, "read the history", chromedp.Text(css("ol.timeline")))
	}
	if !strings.Contains(timeline, "78.60") || !strings.Contains(timeline, "80.00") {
		t.Fatalf("the history does not show the correction 78.60 → 80.00: %q", timeline)
	}
	step(t, tab, "the corrected mark", 10*time.Second, chromedp.WaitVisible(css("#fields .badge.corrected")))
	screenshot(t, tab, "document-corrected")

	month := ""
	for deadline := time.Now().Add(30 * time.Second); month != "80.00" && time.Now().Before(deadline); {
		step(t, tab, "spending", 20*time.Second, chromedp.Navigate(in.base+"/spending"), chromedp.WaitReady(css("body")))
		month = get(t, tab, "read the month", chromedp.Evaluate[string](
			`(() => { const c = document.querySelector('tr[data-month="2026-11"] .total'); return c ? c.textContent.trim() : ""; })()`))
		if month != "80.00" {
			time.Sleep(300 * time.Millisecond)
		}
	}
	if month != "80.00" {
		t.Fatalf("spending for 2026-11 shows %q, want the corrected 80.00", month)
	}
	screenshot(t, tab, "spending")

	// The admin adds a webhook by keyboard (Enter submits), sees its
	// secret once, sends a test and sees it delivered in the log.
	received := make(chan string, 10)
	receiver := httptest.NewServer(stdhttp.HandlerFunc(func(w stdhttp.ResponseWriter, r *stdhttp.Request) {
		select {
		case received <- r.Header.Get("webhook-id"):
		default:
		}
		w.WriteHeader(stdhttp.StatusNoContent)
	}))
	defer receiver.Close()
	step(t, tab, "add a webhook", 30*time.Second,
		chromedp.Navigate(in.base+"/settings/webhooks"),
		chromedp.WaitVisible(css("#hook-url")),
		chromedp.SendKeys(css("#hook-url"), receiver.URL+"/tally"),
		chromedp.SendKeys(css("#hook-note"), "bookkeeping\r"),
		chromedp.WaitVisible(css("#new-secret")))
	if secret := get(t, tab, "the secret", chromedp.Text(css("#new-secret"))); !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("the new webhook's secret reads %q", secret)
	}
	screenshot(t, tab, "webhooks")
	hook := get(t, tab, "the webhook's link", chromedp.Evaluate[string](`document.querySelector('td a[href^="/settings/webhooks/"]').getAttribute("href")`))
	step(t, tab, "send a test delivery", 30*time.Second,
		chromedp.Navigate(in.base+hook),
		chromedp.WaitVisible(css(`form[action$="/test"] button`)),
		chromedp.Click(css(`form[action$="/test"] button`)),
		pageSays("Test delivery queued"))
	select {
	case <-received:
	case <-time.After(60 * time.Second):
		t.Fatal("the test delivery never reached the receiver")
	}
	state := ""
	for deadline := time.Now().Add(30 * time.Second); state != "succeeded" && time.Now().Before(deadline); {
		step(t, tab, "the delivery log", 20*time.Second, chromedp.Navigate(in.base+hook), chromedp.WaitVisible(css("main table")))
		state = get(t, tab, "the delivery's state", chromedp.Evaluate[string](
			`(() => { const b = document.querySelector("main tbody .badge"); return b ? b.textContent.trim() : ""; })()`))
		if state != "succeeded" {
			time.Sleep(300 * time.Millisecond)
		}
	}
	if log := get(t, tab, "the log", chromedp.Text(css("main table"))); state != "succeeded" || !strings.Contains(log, "webhook.test") {
		t.Fatalf("the delivery log shows %q for the test delivery: %q", state, log)
	}
	screenshot(t, tab, "webhook-deliveries")

	// At 360 px wide no page is wider than the screen (wide tables
	// scroll inside their own box).
	step(t, tab, "a narrow screen", 10*time.Second, chromedp.EmulateViewport(360, 740))
	for _, p := range []string{"/documents", href, "/upload", "/spending", "/settings", "/settings/webhooks", hook,
		"/settings/mailboxes", "/settings/ereceipts", "/account"} {
		step(t, tab, "open "+p+" at 360 px", 20*time.Second, chromedp.Navigate(in.base+p), chromedp.WaitReady(css("main")))
		if w := get(t, tab, "page width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 360 {
			wide := get(t, tab, "wide elements", chromedp.Evaluate[string](`[...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > 361).slice(0, 6).map(e => e.tagName + "." + e.className + "#" + e.id + " " + Math.round(e.getBoundingClientRect().right)).join(", ")`))
			t.Errorf("%s is %d px wide on a 360 px screen: %s", p, w, wide)
		}
		screenshot(t, tab, "360px-"+strings.Trim(strings.ReplaceAll(p, "/", "-"), "-"))
	}
	step(t, tab, "back to a wide screen", 10*time.Second, chromedp.ResetViewport())

	// A page of another origin that posts to the app with the admin's
	// cookie is refused before any handler runs: the document stays.
	evil := httptest.NewServer(stdhttp.HandlerFunc(func(w stdhttp.ResponseWriter, r *stdhttp.Request) {
		fmt.Fprintf(w, `<!doctype html><form id="f" method="post" action="%s%s/delete"></form>`+
			`<script>document.getElementById("f").submit()</script>`, in.base, href)
	}))
	defer evil.Close()
	step(t, tab, "a form of another origin", 20*time.Second,
		chromedp.Navigate(evil.URL), pageSays("came from another site and was refused"))
	screenshot(t, tab, "csrf-refused")
	step(t, tab, "the document after the forged request", 20*time.Second,
		chromedp.Navigate(in.base+href), chromedp.WaitVisible(css("#f-total")))
	if n := get(t, tab, "the deleted badge", chromedp.Evaluate[int](`document.querySelectorAll(".badge.deleted").length`)); n != 0 {
		t.Fatal("a form of another origin deleted the document")
	}

	step(t, tab, "sign out", 20*time.Second,
		chromedp.Click(css(`form[action="/logout"] button`)),
		chromedp.WaitVisible(css("#email")),
		chromedp.Navigate(in.base+"/documents"),
		chromedp.WaitVisible(css("#email")))
	if loc := get(t, tab, "location", chromedp.Location()); !strings.Contains(loc, "/login") {
		t.Fatalf("after signing out /documents is at %s, want the sign-in page", loc)
	}

	// A member joins by an invitation and cannot open an admin page.
	var out strings.Builder
	if err := run(context.Background(), []string{"members", "invite", "--tenant", "e2e", "--role", "member", "max@example.com"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	link, err := url.Parse(regexp.MustCompile(`https?://\S+/invite/\S+`).FindString(out.String()))
	if err != nil || link.Path == "" {
		t.Fatalf("no invitation link: %q", out.String())
	}
	step(t, tab, "accept the invitation", 30*time.Second,
		chromedp.Navigate(in.base+link.Path),
		chromedp.WaitVisible(css("#name")),
		chromedp.SendKeys(css("#name"), "Max"),
		chromedp.SendKeys(css("#password"), "member password 1"),
		chromedp.SendKeys(css("#password2"), "member password 1"),
		chromedp.Click(css(`form[action^="/invite/"] button[type=submit]`)),
		pageSays("No documents match"))
	if n := get(t, tab, "the member's menu", chromedp.Evaluate[int](`document.querySelectorAll('nav a[href="/settings"]').length`)); n != 0 {
		t.Error("a member's menu offers the settings")
	}
	step(t, tab, "a member opens the settings", 20*time.Second,
		chromedp.Navigate(in.base+"/settings"), pageSays("This page is for the tenant's admins."))
	screenshot(t, tab, "member-settings-refused")
	for _, p := range []string{"/settings/webhooks", hook, "/settings/mailboxes", "/settings/ereceipts"} {
		step(t, tab, "a member opens "+p, 20*time.Second,
			chromedp.Navigate(in.base+p), pageSays("This page is for the tenant's admins."))
	}
	t.Logf("screenshots in %s", t.ArtifactDir())
}
