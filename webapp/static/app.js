/* Progressive enhancement only: every page works without this file. */
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    // Focus the error summary so that screen readers and keyboards land on it.
    var summary = document.querySelector("[data-focus]");
    if (summary) summary.focus();

    // Large type: switch at once, remember on the server in the background.
    var toggle = document.querySelector("[data-large-toggle]");
    if (toggle && window.fetch) {
      toggle.addEventListener("click", function (event) {
        event.preventDefault();
        var large = !document.documentElement.classList.contains("large");
        document.documentElement.classList.toggle("large", large);
        toggle.setAttribute("aria-pressed", large ? "true" : "false");
        toggle.value = large ? "normal" : "large";
        var form = toggle.form, data = new FormData(form);
        data.set("display", large ? "large" : "normal");
        data.delete("lang");
        fetch(form.action, { method: "POST", body: data, credentials: "same-origin", redirect: "manual" });
      });
    }

    // Ask before irreversible actions.
    document.querySelectorAll("[data-confirm]").forEach(function (button) {
      button.addEventListener("click", function (event) {
        if (!window.confirm(button.getAttribute("data-confirm"))) event.preventDefault();
      });
    });

    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });

    // Live tallies: the server renders the figures (in the page's language); swap them in.
    document.querySelectorAll("[data-live-tally]").forEach(function (section) {
      var url = section.getAttribute("data-live-tally");
      var live = section.querySelector(".live");
      function poll() {
        fetch(url, { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.text() : null; })
          .then(function (html) {
            if (html === null || !live) return;
            var doc = new DOMParser().parseFromString(html, "text/html");
            var fresh = doc.querySelector(".live");
            if (fresh && fresh.innerHTML !== live.innerHTML) live.innerHTML = fresh.innerHTML;
            if (!doc.querySelector("[data-final]")) window.setTimeout(poll, 15000);
          })
          .catch(function () { window.setTimeout(poll, 30000); });
      }
      window.setTimeout(poll, 15000);
    });
  });
})();
