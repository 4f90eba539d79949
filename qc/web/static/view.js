// The item page's image viewer: fits the window, zooms (wheel, + / -, buttons) and pans (drag).
// The stage holds the image and its layers at the image's own pixel size; one CSS transform places it.
var QCView = (function () {
  "use strict";
  var viewport = document.getElementById("viewport"), stage = document.getElementById("stage");
  var W = parseInt(stage.dataset.width, 10), H = parseInt(stage.dataset.height, 10);
  var v = { s: 1, tx: 0, ty: 0 }, fitted = true, MAX = 32;
  stage.style.width = W + "px";
  stage.style.height = H + "px";
  stage.querySelectorAll("img").forEach(function (img) { img.draggable = false; });
  function size() { return { w: viewport.clientWidth, h: viewport.clientHeight }; }
  function fitScale() { var r = size(); return Math.min(r.w / W, r.h / H); }
  function apply() {
    stage.style.transform = "translate(" + v.tx + "px, " + v.ty + "px) scale(" + v.s + ")";
    stage.classList.toggle("crisp", v.s >= 1);  // whole image pixels as blocks, no blur, when zoomed in
    stage.style.setProperty("--px", String(1 / v.s));  // the boxes' strokes stay 1-2 screen pixels wide
    document.getElementById("zoom-level").textContent = Math.round(v.s * 100) + "%";
  }
  function fit() {
    var r = size(), s = fitScale();
    v = { s: s, tx: (r.w - W * s) / 2, ty: (r.h - H * s) / 2 };
    fitted = true;
    apply();
  }
  function zoomAt(factor, cx, cy) {
    var s = Math.min(MAX, Math.max(Math.min(1, fitScale()) / 2, v.s * factor)), k = s / v.s;
    v = { s: s, tx: cx - (cx - v.tx) * k, ty: cy - (cy - v.ty) * k };
    fitted = false;
    apply();
  }
  function zoom(factor) { var r = size(); zoomAt(factor, r.w / 2, r.h / 2); }
  // Show the box [x, y, w, h] (image pixels) with a margin around it, centred.
  function show(box) {
    var r = size(), m = Math.max(32, Math.max(box[2], box[3]));  // the object takes about a third of the view
    var s = Math.min(r.w / (box[2] + 2 * m), r.h / (box[3] + 2 * m), 8);
    v = { s: s, tx: r.w / 2 - (box[0] + box[2] / 2) * s, ty: r.h / 2 - (box[1] + box[3] / 2) * s };
    fitted = false;
    apply();
  }
  viewport.addEventListener("wheel", function (e) {
    e.preventDefault();
    var rect = viewport.getBoundingClientRect();
    zoomAt(Math.exp(-e.deltaY * 0.0015), e.clientX - rect.left, e.clientY - rect.top);
  }, { passive: false });
  var drag = null;
  viewport.addEventListener("pointerdown", function (e) {
    if (e.button !== 0 || e.target.closest("button")) { return; }
    drag = { x: e.clientX, y: e.clientY };
    viewport.setPointerCapture(e.pointerId);
    viewport.classList.add("dragging");
  });
  viewport.addEventListener("pointermove", function (e) {
    if (!drag) { return; }
    v.tx += e.clientX - drag.x; v.ty += e.clientY - drag.y;
    drag = { x: e.clientX, y: e.clientY };
    fitted = false;
    apply();
  });
  function endDrag() { drag = null; viewport.classList.remove("dragging"); }
  viewport.addEventListener("pointerup", endDrag);
  viewport.addEventListener("pointercancel", endDrag);
  document.getElementById("zoom-in").addEventListener("click", function () { zoom(1.25); });
  document.getElementById("zoom-out").addEventListener("click", function () { zoom(0.8); });
  document.getElementById("zoom-fit").addEventListener("click", fit);
  window.addEventListener("resize", function () { if (fitted) { fit(); } });
  fit();
  return { fit: fit, zoom: zoom, show: show, state: function () { return { s: v.s, tx: v.tx, ty: v.ty }; } };
})();
