// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // htmx 2 does not swap 4xx/5xx answers: say so instead of failing silently.
  function showError(message) {
    var box = document.getElementById("flash-error");
    if (!box) return;
    box.textContent = message;
    box.hidden = false;
    window.clearTimeout(showError.timer);
    showError.timer = window.setTimeout(function () { box.hidden = true; }, 8000);
  }

  // A form sent again with its errors (400 or 422, a whole page from the server) is
  // shown like a page: the errors appear beside the fields, as without JavaScript.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    var type = xhr ? xhr.getResponseHeader("Content-Type") || "" : "";
    var form = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (xhr && (xhr.status === 400 || xhr.status === 422) && type.indexOf("text/html") === 0 &&
        event.detail.boosted && form && form.tagName === "FORM") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // The page marks its first field in error with autofocus: htmx focuses it after the
  // swap, the browser on a page load.

  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (status === 404) {
      showError("That page is no longer available. Please reload.");
    } else if (status === 409 || status === 400 || status === 429) {
      showError(event.detail.xhr.getResponseHeader("X-Error-Message") || "That did not work. Please check and try again.");
    } else {
      showError("Something went wrong. Please try again.");
    }
  });

  document.addEventListener("htmx:sendError", function () {
    showError("You seem to be offline. Please check your connection and try again.");
  });

  // On a phone the tab strip scrolls: bring the current tab into view.
  function revealCurrentTab() {
    var strips = document.querySelectorAll(".tabs");
    for (var i = 0; i < strips.length; i++) {
      var current = strips[i].querySelector('[aria-current="page"]');
      if (current && strips[i].scrollWidth > strips[i].clientWidth) {
        strips[i].scrollLeft = current.offsetLeft - (strips[i].clientWidth - current.offsetWidth) / 2;
      }
    }
  }
  document.addEventListener("DOMContentLoaded", revealCurrentTab);
  document.addEventListener("htmx:load", revealCurrentTab);

  // Tabs: keep aria-current on the active tab after an htmx swap.
  document.addEventListener("htmx:afterSettle", function (event) {
    var trigger = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (!trigger || !trigger.classList || !trigger.classList.contains("tabs__tab")) return;
    var tabs = trigger.parentElement.querySelectorAll(".tabs__tab");
    for (var i = 0; i < tabs.length; i++) tabs[i].removeAttribute("aria-current");
    trigger.setAttribute("aria-current", "page");
    var panel = document.getElementById("tab-panel");
    if (panel) panel.focus({ preventScroll: true });
  });
})();
