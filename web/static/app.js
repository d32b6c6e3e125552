// Tally's own script: the CSRF header on htmx requests, uploads with a
// progress bar each and live status, and image zoom. Everything else is
// plain HTML forms (and htmx).
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

  function poll(r, doc) {
    fetch("/documents/" + doc.id + "/status", { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (res) { return res.ok ? res.json() : { status: "PENDING" }; })
      .then(function (s) {
        show(r, s.status);
        if (done[s.status]) {
          var a = document.createElement("a");
          a.href = doc.url;
          a.textContent = s.status === "COMPLETED" ? (s.vendor || doc.filename) + (s.total ? " · " + s.total + " " + (s.currency || "") : "") : "see why";
          r.name.textContent = doc.filename + " — ";
          r.name.appendChild(a);
          return;
        }
        setTimeout(function () { poll(r, doc); }, 1000);
      })
      .catch(function () { setTimeout(function () { poll(r, doc); }, 3000); });
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
      poll(r, body);
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
