// The item page: layer toggles, the decision buttons and their keys (1-9, c, r, e, n).
(function () {
  var stage = document.getElementById("stage");
  stage.style.width = "min(100%, " + stage.dataset.width + "px)";
  stage.style.aspectRatio = stage.dataset.width + " / " + stage.dataset.height;
  var form = document.getElementById("decide");
  function send(kind, submission) {
    document.getElementById("kind").value = kind;
    document.getElementById("submission_id").value = submission || "";
    form.submit();
  }
  function hasFeedback() {
    return Array.prototype.some.call(document.querySelectorAll(".feedback"), function (t) { return t.value.trim() !== ""; });
  }
  var accepts = document.querySelectorAll(".accept");
  accepts.forEach(function (b) { b.addEventListener("click", function () { send("accept_submission", b.dataset.submission); }); });
  document.getElementById("accept-consensus").addEventListener("click", function () { send("accept_consensus"); });
  function rework() {
    if (hasFeedback()) { send("rework"); return; }
    document.getElementById("hint").textContent = "write feedback for at least one annotator, then press r again";
    document.querySelector(".feedback").focus();
  }
  function escalate() {
    if (document.getElementById("note").value.trim() !== "") { send("escalate"); return; }
    document.getElementById("hint").textContent = "write a note for the lead, then press e again";
    document.getElementById("note").focus();
  }
  document.getElementById("rework").addEventListener("click", rework);
  document.getElementById("escalate").addEventListener("click", escalate);
  document.querySelectorAll(".toggle").forEach(function (box) {
    box.addEventListener("change", function () {
      document.getElementById("layer-" + box.dataset.layer).hidden = !box.checked;
    });
  });
  document.addEventListener("keydown", function (e) {
    var tag = e.target.tagName, typing = tag === "TEXTAREA" || tag === "SELECT" ||
      (tag === "INPUT" && e.target.type !== "checkbox");
    if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key >= "1" && e.key <= "9") {
      var b = accepts[parseInt(e.key, 10) - 1];
      if (b) { send("accept_submission", b.dataset.submission); }
    } else if (e.key === "c") { send("accept_consensus"); }
    else if (e.key === "r") { e.preventDefault(); rework(); }
    else if (e.key === "e") { e.preventDefault(); escalate(); }
    else if (e.key === "n") { document.getElementById("next-form").submit(); }
  });
})();
