// Expand or collapse every scenario; show only the outcomes ticked. The state is kept in
// the address (#show=failed,not-exercised&expand=all), so a link opens the same view.
(function () {
  "use strict";
  var cards = document.querySelectorAll("details.scenario");
  var filters = document.querySelectorAll("input.filter");

  function setOpen(open) {
    cards.forEach(function (card) { card.open = open; });
  }

  function apply() {
    var shown = [];
    filters.forEach(function (box) { if (box.checked) { shown.push(box.value); } });
    document.querySelectorAll("details.scenario, tr.row").forEach(function (item) {
      var visible = shown.some(function (name) { return item.classList.contains(name); });
      item.classList.toggle("hidden", !visible);
    });
    return shown;
  }

  function remember(expand) {
    var shown = apply();
    var parts = [];
    if (shown.length !== filters.length) { parts.push("show=" + shown.join(",")); }
    if (expand) { parts.push("expand=" + expand); }
    history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname);
  }

  function load() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ""));
    if (params.has("show")) {
      var wanted = params.get("show").split(",");
      filters.forEach(function (box) { box.checked = wanted.indexOf(box.value) >= 0; });
    }
    if (params.get("expand") === "all") { setOpen(true); }
    if (params.get("expand") === "none") { setOpen(false); }
    apply();
  }

  document.querySelector("button.expand-all").addEventListener("click", function () {
    setOpen(true);
    remember("all");
  });
  document.querySelector("button.collapse-all").addEventListener("click", function () {
    setOpen(false);
    remember("none");
  });
  filters.forEach(function (box) {
    box.addEventListener("change", function () { remember(null); });
  });
  window.addEventListener("hashchange", load);
  load();
}());
