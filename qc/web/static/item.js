// The item page's workbench: the dispute list (paged), focus mode with the versions side by side, the keys,
// and the resolution sent as JSON; the whole-image decisions stay (the form #decide).
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("workbench").dataset.workbench);
  var disputes = data.disputes, PAGE = 50, FUSED = "#ffe119", CROP = 128;  // CROP: a crop's longer side in px
  var byNumber = {}, byPerson = {};
  data.annotators.forEach(function (a) { byNumber[a.number] = a; byPerson[a.id] = a; });
  var choices = {}, history = [], current = -1, page = 0, mode = null, sending = false;
  var $ = function (id) { return document.getElementById(id); };
  var base = $("base");

  function isOpen(d) { return !d.resolution && !choices[d.id]; }
  function openOnes() { return disputes.filter(isOpen); }
  function say(text) { $("hint").textContent = text || ""; }
  function alarm(text) { $("message").hidden = !text; $("message").textContent = text || ""; }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function versionOf(d, number) {
    var a = byNumber[number];
    return a ? d.versions.filter(function (v) { return v.person_id === a.id; })[0] : undefined;
  }
  function ious(d) {
    var values = d.pairwise.map(function (p) { return p[2]; }).filter(function (x) { return x !== null; });
    if (!values.length) { return "—"; }
    var lo = Math.min.apply(null, values), hi = Math.max.apply(null, values);
    return lo === hi ? lo.toFixed(2) : lo.toFixed(2) + "–" + hi.toFixed(2);
  }
  function label(c) {
    if (c.kind === "take") { return "take " + byPerson[c.person_id].name; }
    if (c.kind === "set_class") { return "class " + c.className; }
    if (c.kind === "rework") { return "send back to " + c.to + ": " + c.note; }
    if (c.kind === "escalate") { return "escalate: " + c.note; }
    return c.kind;
  }
  function resolutionText(d) {
    if (d.resolution) { return "stored: " + d.resolution; }
    return choices[d.id] ? label(choices[d.id]) : "open";
  }

  // ---- the list, the boxes, the progress line
  function renderRows() {
    var body = $("dispute-rows"), pages = Math.max(1, Math.ceil(disputes.length / PAGE));
    page = Math.min(page, pages - 1);
    body.textContent = "";
    disputes.slice(page * PAGE, (page + 1) * PAGE).forEach(function (d) {
      var i = disputes.indexOf(d), tr = el("tr", (i === current ? "current " : "") + (isOpen(d) ? "open" : "done"));
      tr.id = "dispute-" + d.index;
      tr.appendChild(el("td", "", String(d.index)));
      tr.title = d.reason;
      tr.appendChild(el("td", "", d.kind.replace("_", " ")));
      tr.appendChild(el("td", "", d.category || ""));
      var who = el("td", "drawn"), drew = d.versions.filter(function (v) { return v.rle; });
      drew.forEach(function (v) {  // names while they fit; with more, the numbers (the legend and the crops name them)
        var tag = el("span", "who", drew.length > 3 ? String(v.number || "?") : (v.number || "") + " " + v.annotator);
        tag.title = v.annotator;
        tag.style.borderColor = v.number ? byNumber[v.number].colour : "#999";
        who.appendChild(tag);
      });
      tr.appendChild(who);
      tr.appendChild(el("td", "iou", ious(d)));
      var said = resolutionText(d), cell = el("td", "resolution", said.length > 60 ? said.slice(0, 58) + "…" : said);
      cell.title = said;  // a long note stays one or two lines in the list; the whole text on hover and in focus
      tr.appendChild(cell);
      tr.addEventListener("click", function () { focus(i); });
      body.appendChild(tr);
    });
    $("pager").hidden = pages < 2;
    $("page-label").textContent = "page " + (page + 1) + " of " + pages;
    $("page-prev").disabled = page === 0;
    $("page-next").disabled = page >= pages - 1;
    var done = disputes.length - openOnes().length;
    $("progress").textContent = disputes.length
      ? done + " of " + disputes.length + " resolved" + (done === disputes.length ? " · Enter submits" : "")
      : "no disputes: decide the whole image below";
    drawBoxes();
  }
  function drawBoxes() {
    var svg = $("layer-boxes"), ns = "http://www.w3.org/2000/svg";
    svg.textContent = "";
    disputes.forEach(function (d, i) {
      var r = document.createElementNS(ns, "rect"), m = 3;  // a little outside the box: the outlines stay visible
      r.setAttribute("x", d.bbox[0] - m); r.setAttribute("y", d.bbox[1] - m);
      r.setAttribute("width", d.bbox[2] + 2 * m); r.setAttribute("height", d.bbox[3] + 2 * m);
      r.setAttribute("class", "box" + (i === current ? " current" : "") + (isOpen(d) ? "" : " done"));
      svg.appendChild(r);
    });
  }
  // ---- the fused candidates, drawn once from their RLE (each decoded inside its own box)
  function drawFused() {
    var ctx = $("layer-fused").getContext("2d"), rgb = QCRle.rgbOf(FUSED);
    disputes.forEach(function (d) {
      var box = d.fused && QCRle.bounds(d.fused);
      if (box) { ctx.putImageData(QCRle.paint(QCRle.crop(d.fused, box[0], box[1], box[2], box[3]), box[2], box[3], rgb, 0), box[0], box[1]); }
    });
  }

  // ---- focus mode: one dispute, its versions side by side
  function cropBox(d) {
    var m = Math.max(8, Math.round(0.25 * Math.max(d.bbox[2], d.bbox[3])));
    var x0 = Math.max(0, d.bbox[0] - m), y0 = Math.max(0, d.bbox[1] - m);
    return [x0, y0, Math.min(data.width, d.bbox[0] + d.bbox[2] + m) - x0, Math.min(data.height, d.bbox[1] + d.bbox[3] + m) - y0];
  }
  function panel(d, box, rle, hex, caption, detail, chosen) {
    var fig = el("figure", "crop" + (chosen ? " chosen" : "")), canvas = el("canvas");
    canvas.width = box[2]; canvas.height = box[3];
    var zoom = CROP / Math.max(box[2], box[3]);
    canvas.style.width = Math.round(box[2] * zoom) + "px";
    canvas.style.height = Math.round(box[3] * zoom) + "px";
    var ctx = canvas.getContext("2d");
    ctx.fillStyle = "#555"; ctx.fillRect(0, 0, box[2], box[3]);
    if (base && base.complete && base.naturalWidth) { ctx.drawImage(base, box[0], box[1], box[2], box[3], 0, 0, box[2], box[3]); }
    if (rle) {
      var tmp = el("canvas");
      tmp.width = box[2]; tmp.height = box[3];
      tmp.getContext("2d").putImageData(QCRle.paint(QCRle.crop(rle, box[0], box[1], box[2], box[3]), box[2], box[3], QCRle.rgbOf(hex), 60), 0, 0);
      ctx.drawImage(tmp, 0, 0);
    }
    fig.appendChild(canvas);
    var cap = el("figcaption");
    var key = el("b", "", caption);
    key.style.borderColor = hex;
    cap.appendChild(key);
    cap.appendChild(el("span", "", detail));
    fig.appendChild(cap);
    return fig;
  }
  function renderFocus() {
    var d = disputes[current];
    $("focus").hidden = !d;
    if (!d) { return; }
    var box = cropBox(d), crops = $("crops"), c = choices[d.id];
    $("focus-title").textContent = "Dispute " + d.index + " of " + disputes.length + " · " + d.kind.replace("_", " ") + (d.category ? " · " + d.category : "");
    $("focus-reason").textContent = d.reason;
    crops.textContent = "";
    data.annotators.forEach(function (a) {
      var v = versionOf(d, a.number);
      var detail = !v || !v.rle ? "did not draw it"
        : (v.iou_to_fused === null ? "" : "IoU to fused " + v.iou_to_fused.toFixed(2)) + (v.category && v.category !== d.category ? " · " + v.category : "");
      crops.appendChild(panel(d, box, v && v.rle, a.colour, a.number + " · " + a.name, detail, c && c.kind === "take" && c.person_id === a.id));
    });
    crops.appendChild(panel(d, box, d.fused, FUSED, "f · fused", d.fused ? "candidate" : "none", c && (c.kind === "fused" || c.kind === "set_class")));
    var pairs = d.pairwise.map(function (p) { return p[0] + "–" + p[1] + " " + (p[2] === null ? "—" : p[2].toFixed(2)); });
    var known = d.pairwise.filter(function (p) { return p[2] !== null; }).sort(function (a, b) { return a[2] - b[2]; });
    // up to 6 pairs in full; with more (5 annotators: 10) the lowest and highest, every pair on hover
    $("pairwise").textContent = !pairs.length ? "" : pairs.length <= 6 || known.length < 2 ? "IoU between versions: " + pairs.join(" · ")
      : "IoU between versions: lowest " + known[0][0] + "–" + known[0][1] + " " + known[0][2].toFixed(2) + ", highest "
        + known[known.length - 1][0] + "–" + known[known.length - 1][1] + " " + known[known.length - 1][2].toFixed(2)
        + " (" + pairs.length + " pairs, hover for all)";
    $("pairwise").title = pairs.join("\n");
    $("focus-choice").textContent = d.resolution ? "already resolved: " + d.resolution : (c ? "your choice: " + label(c) + " (u undoes)" : "not resolved yet: 1–9 take a version, f fused, x remove, c class, r send back, e escalate");
  }
  function focus(i) {
    if (!disputes.length) { return; }
    current = (i + disputes.length) % disputes.length;
    page = Math.floor(current / PAGE);
    closeInline();
    QCView.show(disputes[current].bbox);
    renderRows();
    renderFocus();
    var row = $("dispute-" + disputes[current].index);
    $("panel").style.setProperty("--sticky-h", ($("sticky").offsetHeight + 8) + "px");  // rows scroll below the focus
    if (row) { row.scrollIntoView({ block: "nearest" }); }
  }
  function nextOpen(from) {
    for (var k = 1; k <= disputes.length; k++) {
      var i = (from + k) % disputes.length;
      if (isOpen(disputes[i])) { return i; }
    }
    return -1;
  }

  // ---- choices, undo
  function record(changes) {
    history.push(changes.map(function (c) { return { id: c.id, before: choices[c.id] }; }));
    changes.forEach(function (c) { choices[c.id] = c.choice; });
    alarm("");
  }
  function choose(choice) {
    var d = disputes[current];
    if (!d) { say("press j to go to the first dispute"); return; }
    if (d.resolution) { say("dispute " + d.index + " is already resolved (" + d.resolution + ")"); return; }
    record([{ id: d.id, choice: choice }]);
    say("");
    var next = nextOpen(current);
    if (next >= 0) { focus(next); } else { renderRows(); renderFocus(); say("all resolved: press Enter to submit"); }
  }
  function take(number) {
    var d = disputes[current], a = byNumber[number], v = d && versionOf(d, number);
    if (!d) { say("press j to go to the first dispute"); return; }
    if (!a) { say("there is no annotator " + number); return; }
    if (!v || !v.rle) { say(a.name + " did not draw this object: press x to remove it or choose another version"); return; }
    choose({ kind: "take", person_id: a.id });
  }
  function drawers(d) { return d.versions.filter(function (v) { return v.rle; }).map(function (v) { return v.annotator; }); }
  function fusable(d) { return d.fused && d.category; }  // a fused shape needs a class the versions agree on
  function fused() {
    var d = disputes[current];
    if (d && !d.fused) { say("this dispute has no fused candidate: take a version (1-9) or remove it (x)"); return; }
    if (d && !d.category) { say("the versions name no common class: press c to choose the class for the fused shape"); return; }
    choose({ kind: "fused" });
  }
  function fuseTheRest() {
    var changes = openOnes().filter(fusable).map(function (d) { return { id: d.id, choice: { kind: "fused" } }; });
    if (!changes.length) { say("no open dispute has a fused shape with a class"); return; }
    record(changes);
    var left = openOnes().length;
    say(changes.length + " set to fused" + (left ? "; " + left + " without a fused shape or class stay open" : ": press Enter to submit"));
    renderRows(); renderFocus();
  }
  function undo() {
    var last = history.pop();
    if (!last) { say("nothing to undo"); return; }
    last.forEach(function (c) { if (c.before) { choices[c.id] = c.before; } else { delete choices[c.id]; } });
    var i = disputes.findIndex(function (d) { return d.id === last[0].id; });
    say("undone");
    focus(i);
  }

  // ---- the inline form: a note (send back, escalate) or a class (set class); never window.prompt
  function openInline(kind) {
    var d = disputes[current];
    if (!d) { say("press j to go to the first dispute"); return; }
    if (d.resolution) { say("dispute " + d.index + " is already resolved"); return; }
    if (kind === "rework" && !drawers(d).length) { say("nobody drew this object: remove it (x), or send the whole image back (R)"); return; }
    if (kind === "set_class" && !d.fused) { say("nobody drew an object here: there is no shape to give a class"); return; }
    mode = kind;
    var cls = $("inline-class");
    cls.textContent = "";
    data.classes.forEach(function (c) {
      var o = el("option", "", c.name);
      o.value = String(c.id);
      o.selected = c.name === d.category;
      cls.appendChild(o);
    });
    $("inline-to").hidden = kind !== "rework";
    if (kind === "rework") { fillPeople(d); }
    $("inline-class-label").hidden = kind !== "set_class";
    $("inline-note-label").hidden = kind === "set_class";
    $("inline-note").value = "";
    $("inline-note").placeholder = kind === "rework" ? "what to fix (sent to the annotator)" : "why (for the lead)";
    $("inline").hidden = false;
    say(kind === "set_class" ? "choose the class, Enter keeps the fused shape with it" : "write a note, Enter confirms, Esc cancels");
    (kind === "set_class" ? cls : $("inline-note")).focus();
  }
  // who may get one object back: those who drew it, or anyone of the image when someone did not draw it (missed)
  function fillPeople(d) {
    var who = $("inline-person"), drew = d.versions.filter(function (v) { return v.rle; });
    var missed = drew.length < d.versions.length;
    who.textContent = "";
    var all = el("option", "", "everyone who drew it (" + drawers(d).join(", ") + ")");
    all.value = "";
    who.appendChild(all);
    data.annotators.forEach(function (a) {
      var v = d.versions.filter(function (x) { return x.person_id === a.id; })[0];
      if (!v || (!v.rle && !missed)) { return; }
      var o = el("option", "", a.number + " · " + a.name + (v.rle ? "" : " (did not draw it)"));
      o.value = String(a.id);
      who.appendChild(o);
    });
    who.value = "";
  }
  function closeInline() {
    // give the focus back at once (a hidden field keeps it until the next layout, and would swallow the next key)
    if ($("inline").contains(document.activeElement)) { document.activeElement.blur(); }
    mode = null;
    $("inline").hidden = true;
  }
  function confirmInline() {
    var note = $("inline-note").value.trim(), kind = mode;
    if ((kind === "rework" || kind === "escalate") && !note) { say("a note is needed: write it, then Enter"); $("inline-note").focus(); return; }
    closeInline();
    if (kind === "set_class") {
      var cls = $("inline-class");
      choose({ kind: "set_class", category_id: parseInt(cls.value, 10), className: cls.options[cls.selectedIndex].text });
    } else if (kind === "rework") {
      var person = $("inline-person").value;
      choose(person ? { kind: "rework", note: note, person_id: parseInt(person, 10), to: byPerson[parseInt(person, 10)].name }
        : { kind: "rework", note: note, to: drawers(disputes[current]).join(", ") });
    } else {
      choose({ kind: "escalate", note: note });
    }
  }
  $("inline").addEventListener("submit", function (e) { e.preventDefault(); confirmInline(); });
  // in the send-back form, Alt+1-9 gives the object to annotator N (as listed), Alt+0 to everyone who drew it
  function pickPerson(digit) {
    var who = $("inline-person");
    if (digit === 0) { who.value = ""; say("to everyone who drew it"); return; }
    var a = byNumber[digit];
    var offered = a && Array.prototype.some.call(who.options, function (o) { return o.value === String(a.id); });
    if (!offered) { say(a ? a.name + " did not draw it and nobody missed it: pick someone who drew it" : "no annotator " + digit); return; }
    who.value = String(a.id);
    say("to " + a.name + " alone");
  }
  $("inline").addEventListener("keydown", function (e) {
    var digit = e.altKey && /^Digit[0-9]$/.test(e.code) ? parseInt(e.code.slice(5), 10) : -1;
    if (digit >= 0 && mode === "rework") { e.preventDefault(); e.stopPropagation(); pickPerson(digit); return; }
    if (e.key === "Enter") { e.preventDefault(); e.stopPropagation(); confirmInline(); }
    else if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); closeInline(); say(""); }
  });
  $("inline-cancel").addEventListener("click", function () { closeInline(); say(""); });

  // ---- submit: every dispute resolved, one POST
  function submit() {
    if (sending) { return; }
    var open = openOnes();
    if (!disputes.length) { say("no disputes: use the whole-image decisions"); return; }
    if (open.length) {
      say(open.length + " still open (#" + open.slice(0, 5).map(function (d) { return d.index; }).join(", #") + "): resolve them or take fused for all the rest (F)");
      focus(disputes.indexOf(open[0]));
      return;
    }
    if (!Object.keys(choices).length) { say("every dispute was resolved before: nothing to submit"); return; }
    var resolutions = {};
    Object.keys(choices).forEach(function (id) {
      var c = choices[id];
      resolutions[id] = { kind: c.kind, person_id: c.person_id === undefined ? null : c.person_id, category_id: c.category_id === undefined ? null : c.category_id, note: c.note || "" };
    });
    sending = true;
    say("sending…");
    fetch("/items/" + data.item + "/resolve", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ csrf: $("csrf").value, version: data.version, resolutions: resolutions })
    }).then(function (r) {
      return r.json().catch(function () { return { detail: "the server answered " + r.status }; }).then(function (body) {
        if (r.ok) { window.location.assign(body.redirect); return; }
        sending = false;
        say("");
        alarm((r.status === 409 ? "Not stored, conflict: " : "Not stored: ") + (body.detail || r.status) + (r.status === 409 ? " (reload the item to see its state now)" : ""));
      });
    }, function () { sending = false; say(""); alarm("Not stored: the server could not be reached; try again"); });
  }

  // ---- whole-image decisions (the form #decide), as before
  var form = $("decide");
  function send(kind, submission) { $("kind").value = kind; $("submission_id").value = submission || ""; form.submit(); }
  var accepts = document.querySelectorAll(".accept");
  accepts.forEach(function (b) { b.addEventListener("click", function () { send("accept_submission", b.dataset.submission); }); });
  $("accept-consensus").addEventListener("click", function () { send("accept_consensus"); });
  function wholeRework() {
    var given = Array.prototype.some.call(document.querySelectorAll(".feedback"), function (t) { return t.value.trim() !== ""; });
    if (given) { send("rework"); return; }
    $("whole-image").open = true;
    say("write feedback for at least one annotator under Whole image, then press R again");
    document.querySelector(".feedback").focus();
  }
  function wholeEscalate() {
    if ($("note").value.trim() !== "") { send("escalate"); return; }
    $("whole-image").open = true;
    say("write a note for the lead under Whole image, then press E again");
    $("note").focus();
  }
  $("rework").addEventListener("click", wholeRework);
  $("escalate").addEventListener("click", wholeEscalate);

  // ---- toggles, paging, buttons, keys
  document.querySelectorAll(".toggle").forEach(function (box) {
    box.addEventListener("change", function () { $("layer-" + box.dataset.layer).hidden = !box.checked; });
  });
  $("page-prev").addEventListener("click", function () { page -= 1; renderRows(); });
  $("page-next").addEventListener("click", function () { page += 1; renderRows(); });
  $("fused-rest").addEventListener("click", fuseTheRest);
  $("submit").addEventListener("click", submit);
  document.addEventListener("keydown", function (e) {
    var tag = e.target.tagName, typing = tag === "TEXTAREA" || tag === "SELECT" || (tag === "INPUT" && e.target.type !== "checkbox");
    if (typing || e.ctrlKey || e.metaKey || e.altKey) { return; }
    var k = e.key, digit = /^Digit[1-9]$/.test(e.code) ? parseInt(e.code.slice(5), 10) : 0;
    if (e.shiftKey && digit) {
      var b = accepts[digit - 1];
      if (b) { send("accept_submission", b.dataset.submission); }
      return;
    }
    var actions = {
      j: function () { focus(current + 1); }, k: function () { focus(current - 1); },
      f: fused, x: function () { choose({ kind: "remove" }); }, u: undo,
      r: function () { openInline("rework"); }, e: function () { openInline("escalate"); }, c: function () { openInline("set_class"); },
      F: fuseTheRest, A: function () { send("accept_consensus"); }, R: wholeRework, E: wholeEscalate,
      n: function () { $("next-form").submit(); }, Enter: submit,
      "+": function () { QCView.zoom(1.25); }, "=": function () { QCView.zoom(1.25); }, "-": function () { QCView.zoom(0.8); },
      "0": QCView.fit, Escape: function () { QCView.fit(); }
    };
    if (k === "Tab" && disputes.length) { e.preventDefault(); focus(current + (e.shiftKey ? -1 : 1)); return; }
    if (digit && !e.shiftKey) { e.preventDefault(); take(digit); return; }
    if (actions[k]) { e.preventDefault(); actions[k](); }
  });
  if (base && !base.complete) { base.addEventListener("load", renderFocus); }  // the crops show the picture too
  drawFused();
  renderRows();
  var first = nextOpen(-1);
  if (first >= 0) { focus(first); } else if (disputes.length) { focus(0); }
})();
