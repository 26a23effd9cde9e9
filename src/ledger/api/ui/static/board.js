// The board refreshes itself: filters and a timer fetch only the board
// fragment and swap it in, keeping the scroll position; no full reload.
(function () {
  "use strict";
  var form = document.getElementById("filters");
  var board = document.getElementById("board");
  var status = document.getElementById("board-status");
  if (!form || !board || !window.fetch) return;
  var EVERY_MS = 15000;

  function params() {
    var query = new URLSearchParams();
    new FormData(form).forEach(function (value, key) { if (value) query.set(key, value); });
    return query.toString();
  }

  function stamp() {
    var shown = board.querySelector("[data-status]");
    var text = shown ? shown.dataset.status : status.dataset.live;
    if (shown && shown.dataset.historic === "true") { status.textContent = text; return; }
    var time = new Date().toLocaleTimeString([], { timeZoneName: "short" });
    status.textContent = text + " · " + status.dataset.updated.replace("{time}", time);
  }

  function load(pushUrl) {
    var query = params();
    var columns = board.querySelector(".columns");
    var scroll = columns ? columns.scrollLeft : 0;
    board.setAttribute("aria-busy", "true");
    return fetch(board.dataset.fragment + (query ? "?" + query : ""), {
      credentials: "same-origin", headers: { "Accept": "text/html" }
    }).then(function (response) {
      if (response.status === 401) {
        window.location.assign("/ui/login?next=" + encodeURIComponent(location.pathname + location.search));
        return;
      }
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.text().then(function (html) {
        board.innerHTML = html;
        board.dataset.loads = String((Number(board.dataset.loads) || 0) + 1);
        var fresh = board.querySelector(".columns");
        if (fresh) fresh.scrollLeft = scroll;
        if (pushUrl) history.replaceState(null, "", "/ui/board" + (query ? "?" + query : ""));
        stamp();
      });
    }).catch(function () { /* keep the board shown; the next tick tries again */ })
      .finally(function () { board.setAttribute("aria-busy", "false"); });
  }

  form.addEventListener("change", function () { load(true); });
  form.addEventListener("submit", function (event) { event.preventDefault(); load(true); });
  setInterval(function () {
    if (document.visibilityState === "visible" && !form.elements.as_of.value) load(false);
  }, EVERY_MS);
  stamp();
})();
