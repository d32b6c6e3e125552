package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// a11yMark opens every <details> and numbers every element a keyboard
// should reach (visible, not disabled, not taken out with tabindex=-1;
// one radio per group), then records on each focus whether the focus is
// drawn. It answers how many elements it numbered and the labelling
// problems it found.
const a11yMark = `(() => {
	const problems = [];
	for (const e of document.querySelectorAll("input, select, textarea")) {
		if (e.type === "hidden") continue;
		const named = (e.labels && e.labels.length > 0) || e.getAttribute("aria-label") || e.getAttribute("aria-labelledby");
		if (!named) problems.push("no label: " + e.outerHTML.slice(0, 120));
	}
	for (const e of document.querySelectorAll("[tabindex]")) {
		if (e.tabIndex > 0) problems.push("positive tabindex: " + e.outerHTML.slice(0, 120));
	}
	// What a closed <details> holds is checked as it is once opened.
	for (const d of document.querySelectorAll("details")) d.open = true;
	const shown = e => e.checkVisibility({ visibilityProperty: true });
	const radios = new Set();
	let n = 0;
	const sel = "a[href], button, input, select, textarea, iframe, summary, [tabindex]";
	for (const e of document.querySelectorAll(sel)) {
		if (e.disabled || e.type === "hidden" || e.tabIndex < 0 || !shown(e)) continue;
		if (e.type === "radio") {
			if (radios.has(e.name)) continue;
			radios.add(e.name);
		}
		e.dataset.kt = String(n++);
	}
	window.__kt = { seen: new Set(), unseen: [], plain: [] };
	// Tab reaches one radio of a group: it counts for the group.
	const marked = e => e.type === "radio" ? document.querySelector('input[type=radio][name="' + e.name + '"][data-kt]') || e : e;
	document.addEventListener("focusin", ev => {
		const s = getComputedStyle(ev.target);
		const outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0;
		if (!outline && s.boxShadow === "none") window.__kt.plain.push(ev.target.outerHTML.slice(0, 120));
	});
	// note is called after each Tab: an iframe holds the focus while its
	// own document moves it, so the active element is read, not events.
	// Newer Chromium shows a PDF in a frame of its own process: while its
	// viewer holds the focus, the page's active element reads as <body>
	// rather than the iframe. Focus that leaves the element just before
	// an iframe for no element of the page has gone into that iframe.
	window.__kt.note = () => {
		const e = marked(document.activeElement);
		if (e && e !== document.body) {
			if (e.dataset.kt === undefined) window.__kt.unseen.push(e.outerHTML.slice(0, 120));
			else window.__kt.seen.add(e.dataset.kt);
			window.__kt.last = e.dataset.kt;
		} else if (window.__kt.last !== undefined) {
			const next = document.querySelector('[data-kt="' + (Number(window.__kt.last) + 1) + '"]');
			if (next && next.tagName === "IFRAME") window.__kt.seen.add(next.dataset.kt);
		}
		return n - window.__kt.seen.size;
	};
	return JSON.stringify({ n, problems });
})()`

// a11yReport says which numbered elements Tab never reached, which
// elements got focus without being expected, and which were focused
// without a visible focus.
const a11yReport = `JSON.stringify({
	missed: [...document.querySelectorAll("[data-kt]")].filter(e => !window.__kt.seen.has(e.dataset.kt)).map(e => e.outerHTML.slice(0, 120)),
	unseen: [...new Set(window.__kt.unseen)], plain: [...new Set(window.__kt.plain)] })`

// checkKeyboard loads path and checks its inputs are labelled, its
// elements are all reached by Tab in turn, no tabindex reorders them, and
// the focus is drawn on each.
func checkKeyboard(t *testing.T, tab context.Context, base, path, name string) {
	t.Helper()
	step(t, tab, "open "+path, 20*time.Second, chromedp.Navigate(base+path), chromedp.WaitReady(chromedp.CSS("main")))
	var mark struct {
		N        int
		Problems []string
	}
	if err := json.Unmarshal([]byte(get(t, tab, "mark "+path, chromedp.Evaluate[string](a11yMark))), &mark); err != nil {
		t.Fatal(err)
	}
	for _, p := range mark.Problems {
		t.Errorf("%s: %s", path, p)
	}
	// Focus starts at the top of the page. The PDF viewer's own controls
	// take some presses; a focus that never leaves one place uses up the
	// presses, and the elements after it show as never reached.
	ctx, cancel := context.WithTimeout(tab, 120*time.Second)
	defer cancel()
	for i, left := 0, mark.N; left > 0 && i < mark.N+40; i++ {
		var err error
		if _, err = chromedp.Run(ctx, chromedp.KeyEvent(kb.Tab)); err == nil {
			left, err = chromedp.Run(ctx, chromedp.Evaluate[int](`window.__kt.note()`))
		}
		if err != nil {
			fail(t, tab, "tab through "+path, err)
		}
	}
	var rep struct{ Missed, Unseen, Plain []string }
	if err := json.Unmarshal([]byte(get(t, tab, "report "+path, chromedp.Evaluate[string](a11yReport))), &rep); err != nil {
		t.Fatal(err)
	}
	for _, m := range rep.Missed {
		t.Errorf("%s: Tab never reaches %s", path, m)
	}
	for _, m := range rep.Unseen {
		t.Errorf("%s: Tab stops on %s, which is hidden or disabled", path, m)
	}
	for _, m := range rep.Plain {
		t.Errorf("%s: no visible focus on %s", path, m)
	}
	screenshot(t, tab, "keyboard-"+name)
}

// TestBrowserKeyboard checks every page by keyboard alone: labels on
// every input, every control reached by Tab with its focus drawn, the
// upload's drop zone opening the file chooser on Enter and Space, the
// upload's status followed by the event stream (by polling where the
// browser has no EventSource), and a field edited in place saved by
// Enter and restored by Escape.
func TestBrowserKeyboard(t *testing.T) {
	tab := browserTab(t)
	invoice, err := filepath.Abs("../../examples/invoice.pdf")
	if err != nil {
		t.Fatal(err)
	}
	// The webhook added below, to have its page checked, names this machine.
	in := startAll(t, map[string]string{"OUTBOUND_ALLOW_PRIVATE_NETWORKS": "true"})
	raw, err := os.ReadFile(filepath.Join(in.dataDir, "admin-password"))
	if err != nil {
		t.Fatal(err)
	}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	checkKeyboard(t, tab, in.base, "/login", "login")
	// Signing in by keyboard: Enter in the password field submits.
	step(t, tab, "sign in", 30*time.Second,
		chromedp.Navigate(in.base+"/login"),
		chromedp.WaitVisible(css("#email")),
		chromedp.SendKeys(css("#email"), firstAdmin),
		chromedp.SendKeys(css("#password"), strings.TrimSpace(string(raw))+kb.Enter),
		chromedp.WaitVisible(css("table.docs")))

	checkKeyboard(t, tab, in.base, "/upload", "upload")
	// The drop zone is a control of its own: Enter and Space on it open
	// the file chooser (the click on the file input is caught here, so no
	// dialog opens).
	zone := get(t, tab, "focus the drop zone", chromedp.Evaluate[bool](`(() => { window.__opened = 0;
		document.getElementById("files").addEventListener("click", e => { window.__opened++; e.preventDefault(); }, true);
		const z = document.querySelector("#upload [data-dropzone]");
		if (!z || z.tabIndex < 0) return false;
		z.focus();
		return document.activeElement === z; })()`))
	if !zone {
		t.Error("the upload page has no drop zone that takes the focus ([data-dropzone])")
	} else {
		step(t, tab, "Enter and Space on the drop zone", 20*time.Second, chromedp.KeyEvent(kb.Enter), chromedp.KeyEvent(" "))
		if n := get(t, tab, "file chooser opened", chromedp.Evaluate[int](`window.__opened`)); n != 2 {
			t.Errorf("Enter and Space on the drop zone opened the file chooser %d times, want 2", n)
		}
	}
	step(t, tab, "upload", 30*time.Second, chromedp.SetUploadFiles(css("#files"), []string{invoice}))
	ctx, cancel := context.WithTimeout(tab, 120*time.Second)
	href, err := chromedp.Run(ctx, chromedp.Poll[string](`(() => { const b = document.querySelector("#uploads .badge");
		if (b && b.textContent === "FAILED") throw new Error("extraction failed: " + document.querySelector("#uploads").textContent);
		const a = document.querySelector("#uploads a[href^='/documents/']");
		return b && b.textContent === "COMPLETED" && a ? a.getAttribute("href") : ""; })()`, chromedp.WithPollingInterval(250*time.Millisecond)))
	cancel()
	if err != nil {
		fail(t, tab, "wait for COMPLETED", err)
	}
	// The status came by the event stream, not by polling.
	const requests = `JSON.stringify(performance.getEntriesByType("resource").map(e => new URL(e.name).pathname).filter(p => /\/(events|status)$/.test(p)))`
	if got := get(t, tab, "status requests", chromedp.Evaluate[string](requests)); !strings.Contains(got, "/events") || strings.Contains(got, "/status") {
		t.Errorf("the upload page followed the status by %s, want the event stream alone", got)
	}
	// Without EventSource the page polls.
	step(t, tab, "upload without EventSource", 30*time.Second,
		chromedp.Navigate(in.base+"/upload"),
		chromedp.WaitVisible(css("#files")),
		chromedp.Evaluate[chromedp.Void](`window.EventSource = undefined`),
		chromedp.SetUploadFiles(css("#files"), []string{invoice}))
	ctx, cancel = context.WithTimeout(tab, 120*time.Second)
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`(() => { const b = document.querySelector("#uploads .badge");
		return b !== null && (b.textContent === "COMPLETED" || b.textContent === "FAILED"); })()`, chromedp.WithPollingInterval(250*time.Millisecond)))
	cancel()
	if err != nil {
		fail(t, tab, "wait for the second upload", err)
	}
	if got := get(t, tab, "status requests", chromedp.Evaluate[string](requests)); !strings.Contains(got, "/status") || strings.Contains(got, "/events") {
		t.Errorf("without EventSource the upload page followed the status by %s, want polling alone", got)
	}

	for _, p := range []struct{ path, name string }{
		{"/documents", "documents"}, {href, "document"}, {"/spending", "spending"}, {"/settings", "settings"},
		{"/settings/webhooks", "webhooks"}, {"/settings/mailboxes", "mailboxes"}, {"/settings/ereceipts", "ereceipts"},
		{"/account", "account"},
	} {
		checkKeyboard(t, tab, in.base, p.path, p.name)
	}
	step(t, tab, "add a webhook", 30*time.Second,
		chromedp.Navigate(in.base+"/settings/webhooks"),
		chromedp.WaitVisible(css("#hook-url")),
		chromedp.SendKeys(css("#hook-url"), "http://127.0.0.1:9/tally"+kb.Enter),
		chromedp.WaitVisible(css("#new-secret")))
	hook := get(t, tab, "the webhook's link", chromedp.Evaluate[string](`document.querySelector('td a[href^="/settings/webhooks/"]').getAttribute("href")`))
	checkKeyboard(t, tab, in.base, hook, "webhook")

	// Edit in place: Escape puts the field back as it was, Enter saves.
	step(t, tab, "open the document", 20*time.Second, chromedp.Navigate(in.base+href), chromedp.WaitVisible(css("#f-total")))
	step(t, tab, "change the total and press Escape", 20*time.Second,
		chromedp.Focus(css("#f-total")),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("f-total").select()`),
		chromedp.KeyEvent("99.99"+kb.Escape))
	if v := get(t, tab, "the total after Escape", chromedp.Value(css("#f-total"))); v != "78.60" {
		t.Errorf("after Escape the total reads %q, want it back at 78.60", v)
	}
	step(t, tab, "change the total and press Enter", 30*time.Second,
		chromedp.Focus(css("#f-total")),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("f-total").select()`),
		chromedp.KeyEvent("80.00"+kb.Enter),
		pageSays("Saved."))
	total := ""
	for deadline := time.Now().Add(30 * time.Second); total != "80.00" && time.Now().Before(deadline); {
		step(t, tab, "the document again", 20*time.Second, chromedp.Navigate(in.base+href), chromedp.WaitVisible(css("#f-total")))
		if total = get(t, tab, "the total", chromedp.Value(css("#f-total"))); total != "80.00" {
			time.Sleep(300 * time.Millisecond)
		}
	}
	if total != "80.00" {
		t.Errorf("after Enter the saved total reads %q, want 80.00", total)
	}
	screenshot(t, tab, "keyboard-document-saved")
	t.Logf("screenshots in %s", t.ArtifactDir())
}
