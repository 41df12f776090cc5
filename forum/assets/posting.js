// Posting enhancements; every form also works without JavaScript.
// - Upload forms (data-upload-for="TEXTAREA_ID") send the file to /api/attachments/ and insert
//   the returned Markdown into the message instead of leaving the page.
// - Quote links (a.quote) fill the reply form of the page with the quote the reply page
//   would show, instead of opening that page.
(function () {
  function insertAtCursor(area, text) {
    var start = area.selectionStart || area.value.length;
    var end = area.selectionEnd || area.value.length;
    var before = area.value.slice(0, start);
    var after = area.value.slice(end);
    if (before && !/\n$/.test(before)) { text = "\n" + text; }
    area.value = before + text + after;
    area.focus();
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var targetId = form.getAttribute("data-upload-for");
    if (!targetId || !window.fetch || !window.FormData) { return; }
    var area = document.getElementById(targetId);
    if (!area) { return; }
    event.preventDefault();
    var status = form.querySelector(".upload-status");
    var csrf = form.querySelector("input[name=csrf]");
    if (status) { status.textContent = "Uploading…"; }
    fetch("/api/attachments/", {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf ? csrf.value : "" }
    }).then(function (res) {
      return res.json().then(function (body) { return { ok: res.ok, body: body }; });
    }).then(function (r) {
      if (!r.ok) {
        if (status) { status.textContent = r.body.error || "The upload failed."; }
        return;
      }
      insertAtCursor(area, r.body.markdown + "\n");
      if (status) { status.textContent = "Attached " + r.body.filename + "."; }
      form.reset();
    }).catch(function () {
      // The API cannot be reached from here: fall back to the page form.
      form.submit();
    });
  });

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a.quote") : null;
    var area = document.getElementById("reply-body");
    if (!link || !area || !window.fetch || !window.DOMParser) { return; }
    event.preventDefault();
    fetch(link.getAttribute("href"), { credentials: "same-origin" })
      .then(function (res) {
        if (!res.ok) { throw new Error("status " + res.status); }
        return res.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var filled = doc.getElementById("reply-body");
        if (!filled) { throw new Error("no reply form"); }
        insertAtCursor(area, filled.value);
        area.scrollIntoView({ block: "center" });
      })
      .catch(function () { window.location.href = link.getAttribute("href"); });
  });
})();
