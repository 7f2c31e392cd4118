// Contract archive: the only script. Pages work without it; it adds drag and drop with a
// progress bar per file to the upload form, submits the sort menu when it changes, selects
// every row of the contract table from its header, and tells the server the reader's time
// zone (a cookie), so that pages show times in it.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  try {
    var zoneName = Intl.DateTimeFormat().resolvedOptions().timeZone;
    var current = document.cookie.split("; ").filter(function (c) {
      return c.indexOf("archive_tz=") === 0;
    })[0];
    if (zoneName && current !== "archive_tz=" + zoneName) {
      document.cookie = "archive_tz=" + zoneName + "; path=/; max-age=31536000; SameSite=Lax";
    }
  } catch (e) { /* no Intl: pages show the archive's own zone */ }

  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // The contract table: one box in the header selects or clears every row of the page for a
  // bulk action; it shows "some" (indeterminate) when only some rows are ticked.
  var all = document.getElementById("select-all");
  if (all) {
    var boxes = function () {
      return Array.prototype.slice.call(
        document.querySelectorAll('#contract-table tbody input[type=checkbox][name=ids]'));
    };
    var sync = function () {
      var rows = boxes();
      var ticked = rows.filter(function (b) { return b.checked; }).length;
      all.checked = rows.length > 0 && ticked === rows.length;
      all.indeterminate = ticked > 0 && ticked < rows.length;
    };
    all.hidden = false;
    all.addEventListener("change", function () {
      boxes().forEach(function (b) { b.checked = all.checked; });
      all.indeterminate = false;
    });
    boxes().forEach(function (b) { b.addEventListener("change", sync); });
    sync();
  }

  var form = document.getElementById("upload-form");
  if (!form) return;

  var text = JSON.parse(form.getAttribute("data-i18n"));
  var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10);
  var input = document.getElementById("files");
  var zone = document.getElementById("dropzone");
  var list = document.getElementById("upload-list");
  var summary = document.getElementById("upload-summary");
  var empty = document.getElementById("upload-empty");
  var startButton = document.getElementById("upload-start");
  var queue = [];
  var running = 0;
  var done = 0;
  var total = 0;
  var PARALLEL = 2;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) {
      return key in values ? String(values[key]) : "{" + key + "}";
    });
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : null;
  }

  function el(tag, cls, content) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (content !== undefined) node.textContent = content;
    return node;
  }

  function updateSummary() {
    summary.textContent = total ? fill(text.summary, { done: done, total: total }) : "";
  }

  // A file of a folder (dropped, or chosen with the folder button) is shown by its path and
  // sent with its place below that folder (`folder`): the server reads its folders by the
  // folder rule of `ingest FOLDER` (CUSTOMER/CODE/), as for a folder given on the command line.
  function addFile(file, path) {
    if (empty) { empty.remove(); empty = null; }
    var row = el("li", "file status-queued");
    var name = el("span", "file-name", path || file.name);
    var status = el("span", "file-status", text.queued);
    var bar = el("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", file.name);
    row.append(name, status, bar);
    list.append(row);
    var below = path ? path.split("/").slice(1).join("/") : "";
    var item = { file: file, row: row, status: status, bar: bar, folder: below };
    // Every file goes to the server, which tells what it is by its bytes and says why it
    // refuses one (an unsupported format, a damaged image) and what would be needed.
    if (file.size > maxBytes) {
      finish(item, "rejected", text.rejected + ": " + text.too_big);
      return;
    }
    queue.push(item);
    total += 1;
    updateSummary();
  }

  function finish(item, status, message, extra) {
    item.row.className = "file status-" + status;
    item.status.textContent = message;
    item.bar.value = 100;
    item.bar.hidden = true;
    (extra || []).forEach(function (node) { item.row.append(node); });
  }

  function outcome(item, xhr) {
    var body = null;
    try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
    if (body && body.status && (xhr.status === 200 || xhr.status === 201 || xhr.status === 202)) {
      var extra = [];
      if (body.id) {
        var link = el("a", null, fill(text.view, { id: body.id }));
        link.href = "/contracts/" + body.id;
        extra.push(link);
      }
      (body.warnings || []).forEach(function (w) { extra.push(el("span", "file-hint", w)); });
      var ocrNote = null;
      if (body.pages_needing_ocr && body.pages_needing_ocr.length) {
        ocrNote = el("span", "file-hint", fill(text.ocr_pending, { n: body.pages_needing_ocr.length }));
        extra.push(ocrNote);
      }
      var label = text[body.status] || body.status;
      finish(item, body.status === "duplicate" ? "duplicate" : "archived", label, extra);
      if (body.ocr_status_url && ocrNote) followOcr(item, body.ocr_status_url, ocrNote);
      return;
    }
    var error = body && body.error ? body.error : null;
    var message = error ? error.message : (xhr.status ? "HTTP " + xhr.status : text.network);
    var hint = error && error.hint ? error.hint : null;
    var format = error && error.details && error.details.format;
    if (format && text.formats && text.formats[format]) {  // the server's reason, in the page's language
      message = text.formats[format].message;
      hint = text.formats[format].hint;
    }
    var hints = hint ? [el("span", "file-hint", hint)] : [];
    var failed = xhr.status === 0 || xhr.status >= 500;
    finish(item, failed ? "failed" : "rejected", (failed ? text.failed : text.rejected) + ": " + message, hints);
  }

  // A scan answered with 202: poll its OCR progress until every page is read or failed.
  function followOcr(item, url, note) {
    var bar = el("progress");
    bar.max = 100;
    bar.value = 0;
    bar.className = "ocr-progress";
    bar.setAttribute("aria-label", "OCR " + item.file.name);
    note.after(bar);
    function poll() {
      var xhr = new XMLHttpRequest();
      xhr.open("GET", url);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.addEventListener("loadend", function () {
        var status = null;
        try { status = JSON.parse(xhr.responseText); } catch (e) { status = null; }
        if (!status || xhr.status !== 200) { note.textContent = text.ocr_unknown; bar.remove(); return; }
        var finished = status.pages_done + status.pages_failed.length;
        bar.value = Math.round((status.progress || 0) * 100);
        if (status.state === "done") {
          note.textContent = fill(text.ocr_done, { n: status.pages_done });
          bar.remove();
        } else if (status.state === "incomplete") {
          note.textContent = fill(text.ocr_incomplete, { pages: status.pages_failed.join(", ") });
          note.classList.add("warn");
          bar.remove();
        } else {
          note.textContent = fill(text.ocr_running, { done: finished, total: status.pages_total });
          setTimeout(poll, 1500);
        }
      });
      xhr.send();
    }
    poll();
  }

  function send(item) {
    running += 1;
    item.row.className = "file status-uploading";
    item.status.textContent = fill(text.uploading, { pct: 0 });
    var data = new FormData();
    data.append("file", item.file, item.file.name);
    ["customer", "classification"].forEach(function (name) {
      var value = form.elements[name].value.trim();
      if (value) data.append(name, value);
    });
    if (item.folder) data.append("folder", item.folder);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/contracts");
    xhr.setRequestHeader("Accept", "application/json");
    var token = csrfToken();
    if (token) xhr.setRequestHeader("X-CSRF-Token", token);
    xhr.upload.addEventListener("progress", function (event) {
      if (!event.lengthComputable) return;
      var pct = Math.round((event.loaded / event.total) * 100);
      item.bar.value = pct;
      item.status.textContent = pct >= 100 ? text.processing : fill(text.uploading, { pct: pct });
    });
    xhr.upload.addEventListener("load", function () { item.status.textContent = text.processing; });
    xhr.addEventListener("loadend", function () {
      outcome(item, xhr);
      running -= 1;
      done += 1;
      updateSummary();
      pump();
    });
    xhr.send(data);
  }

  function pump() {
    while (running < PARALLEL && queue.length) send(queue.shift());
  }

  function take(files) {
    Array.prototype.forEach.call(files, function (file) {
      addFile(file, file.webkitRelativePath || "");
    });
  }

  // A dropped folder: every file in it, at any depth (readEntries answers in batches).
  function walk(entry) {
    if (entry.isFile) {
      entry.file(function (file) { addFile(file, entry.fullPath.replace(/^\//, "")); });
    } else if (entry.isDirectory) {
      var reader = entry.createReader();
      var more = function () {
        reader.readEntries(function (batch) {
          if (!batch.length) return;
          batch.forEach(walk);
          more();
        });
      };
      more();
    }
  }

  input.addEventListener("change", function () {
    take(input.files);
    input.value = "";
  });
  var folderInput = document.getElementById("folder-files");
  if (folderInput) {
    folderInput.addEventListener("change", function () {
      take(folderInput.files);
      folderInput.value = "";
    });
    folderInput.parentNode.hidden = false;
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!form.reportValidity()) return;
    pump();
  });
  ["dragenter", "dragover"].forEach(function (type) {
    zone.addEventListener(type, function (event) {
      event.preventDefault();
      zone.classList.add("dragging");
    });
  });
  ["dragleave", "drop"].forEach(function (type) {
    zone.addEventListener(type, function (event) {
      event.preventDefault();
      zone.classList.remove("dragging");
    });
  });
  zone.addEventListener("drop", function (event) {
    var data = event.dataTransfer;
    if (!data) return;
    var entries = Array.prototype.map.call(data.items || [], function (item) {
      return item.webkitGetAsEntry ? item.webkitGetAsEntry() : null;
    });
    var folders = entries.some(function (entry) { return entry && entry.isDirectory; });
    if (folders) {
      entries.forEach(function (entry) { if (entry) walk(entry); });
    } else if (data.files) {
      take(data.files);
    }
  });
  // Files dropped anywhere else on the page must not make the browser navigate away.
  window.addEventListener("dragover", function (event) { event.preventDefault(); });
  window.addEventListener("drop", function (event) { event.preventDefault(); });
  startButton.hidden = false;
})();
