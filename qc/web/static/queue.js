// The queue page: n takes the next item.
document.addEventListener("keydown", function (e) {
  if (e.target.tagName === "INPUT" || e.target.tagName === "TEXTAREA" || e.target.tagName === "SELECT") return;
  if (e.key === "n") { document.getElementById("next-form").submit(); }
});
