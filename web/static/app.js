// Tally's own script: the CSRF header on htmx requests, uploads with a
// progress bar each and live status (server-sent events, else polling),
// image zoom, and the keyboard for the drop zone and edit in place.
// Everything else is plain HTML forms (and htmx).
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";

  document.addEventListener("htmx:configRequest", function (e) {
    if (csrf) e.detail.headers["X-CSRF-Token"] = csrf;
  });

  document.addEventListener("click", function (e) {
    var b = e.target.closest("[data-zoom]");
    if (!b) return;
    var box = b.parentElement.querySelector(".image-box");
    var on = box.classList.toggle("zoomed");
    b.setAttribute("aria-pressed", on ? "true" : "false");
  });

  // Edit in place: Enter in a field submits the form (the browser does),
  // Escape puts the field back as the page showed it.
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape" || !e.target.matches("form[data-edit] input")) return;
    e.target.value = e.target.defaultValue;
  });

  var form = document.getElementById("upload");
  if (!form) return;
  var input = document.getElementById("files");
  var list = document.getElementById("uploads");
  var done = { COMPLETED: true, FAILED: true };

  function row(file) {
    var li = document.createElement("li");
    var name = document.createElement("span");
    name.textContent = file.name;
    var status = document.createElement("span");
    status.className = "badge pending";
    status.textContent = "UPLOADING";
    var bar = document.createElement("progress");
    bar.max = 100; bar.value = 0;
    bar.setAttribute("aria-label", "Upload of " + file.name);
    li.appendChild(name); li.appendChild(status); li.appendChild(bar);
    list.appendChild(li);
    return { li: li, name: name, status: status, bar: bar };
  }

  function show(r, status, text) {
    r.status.textContent = text || status;
    r.status.className = "badge " + status.toLowerCase();
  }

  // update shows a status and, at COMPLETED or FAILED, the link to the
  // document; it says whether the status is final.
  function update(r, doc, s) {
    show(r, s.status);
    if (!done[s.status]) return false;
    var a = document.createElement("a");
    a.href = doc.url;
    a.textContent = s.status === "COMPLETED" ? (s.vendor || doc.filename) + (s.total ? " · " + s.total + " " + (s.currency || "") : "") : "see why";
    r.name.textContent = doc.filename + " — ";
    r.name.appendChild(a);
    return true;
  }

  function poll(r, doc) {
    fetch("/documents/" + doc.id + "/status", { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (res) { return res.ok ? res.json() : { status: "PENDING" }; })
      .then(function (s) { if (!update(r, doc, s)) setTimeout(function () { poll(r, doc); }, 1000); })
      .catch(function () { setTimeout(function () { poll(r, doc); }, 3000); });
  }

  // follow listens to the document's event stream; without EventSource,
  // or once the stream is refused, it polls instead.
  function follow(r, doc) {
    if (!window.EventSource) { poll(r, doc); return; }
    var es = new EventSource("/documents/" + doc.id + "/events");
    var finished = false;
    es.addEventListener("status", function (e) {
      var s;
      try { s = JSON.parse(e.data); } catch (err) { return; }
      if (update(r, doc, s)) { finished = true; es.close(); }
    });
    es.onerror = function () {
      // A stream that ended is opened again by the browser; one that
      // cannot be opened is closed, and polling takes over.
      if (!finished && es.readyState === EventSource.CLOSED) poll(r, doc);
    };
  }

  function send(file) {
    var r = row(file);
    var data = new FormData();
    data.append("file", file, file.name);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/upload");
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = function (e) { if (e.lengthComputable) r.bar.value = Math.round(100 * e.loaded / e.total); };
    xhr.onload = function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (err) { body = { error: xhr.statusText }; }
      if (xhr.status !== 202) { r.bar.value = 0; show(r, "FAILED", "REFUSED: " + (body.error || xhr.status)); return; }
      r.bar.value = 100;
      show(r, body.status);
      follow(r, body);
    };
    xhr.onerror = function () { show(r, "FAILED", "NETWORK ERROR"); };
    xhr.send(data);
  }

  function sendAll(files) { for (var i = 0; i < files.length; i++) send(files[i]); }

  // The drop zone is a control of its own: Enter or Space on it opens
  // the file chooser, as a click on it does.
  var zone = form.querySelector("[data-dropzone]");
  zone.addEventListener("keydown", function (e) {
    if (e.key !== "Enter" && e.key !== " ") return;
    e.preventDefault();
    input.click();
  });
  input.addEventListener("change", function () { sendAll(input.files); input.value = ""; });
  form.addEventListener("submit", function (e) { e.preventDefault(); sendAll(input.files); });
  ["dragenter", "dragover"].forEach(function (t) {
    form.addEventListener(t, function (e) { e.preventDefault(); form.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (t) {
    form.addEventListener(t, function (e) { e.preventDefault(); form.classList.remove("over"); });
  });
  form.addEventListener("drop", function (e) { if (e.dataTransfer && e.dataTransfer.files) sendAll(e.dataTransfer.files); });
})();
