// The counter's "Here now" list refreshes itself: every few seconds it fetches the same server-rendered list
// (data-refresh-from) and swaps it in when it changed. Without script, its "Refresh now" link reloads the page.
(function () {
  "use strict";
  var panel = document.querySelector("[data-refresh-from]");
  if (!panel || !window.fetch) return;
  var url = panel.getAttribute("data-refresh-from");
  var every = (parseInt(panel.getAttribute("data-refresh-every"), 10) || 5) * 1000;
  var shown = panel.innerHTML.trim();

  function later() { window.setTimeout(refresh, every); }

  function refresh() {
    if (document.hidden) { later(); return; }  // a counter screen in the background need not ask
    fetch(url, {credentials: "same-origin", cache: "no-store", headers: {"X-Requested-With": "fetch"}})
      .then(function (response) {
        // Signed out (sent to the login page) or refused: keep the list shown and try again later.
        if (!response.ok || response.redirected) throw new Error("not refreshed");
        return response.text();
      })
      .then(function (html) {
        html = html.trim();
        // Not while staff are on a link inside it: swapping would take their focus away.
        if (html !== shown && !panel.contains(document.activeElement)) {
          panel.innerHTML = html;
          shown = html;
        }
      })
      .catch(function () { /* the next round tries again; the Refresh link always works */ })
      .then(later);
  }
  later();
}());
