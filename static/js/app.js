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

  // A form sent again with its errors answers 422 with the form re-rendered: htmx swaps it
  // like a success (responseHandling in base.html), so the errors appear beside the fields
  // as without JavaScript. A 422 that is an error page instead (it carries X-Error-Message)
  // is not swapped into the page: its message is shown as for other failures.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.status === 422 && xhr.getResponseHeader("X-Error-Message")) {
      event.detail.shouldSwap = false;
      event.detail.isError = true;
    }
  });

  // The page marks its first field in error with autofocus: htmx focuses it after the
  // swap, the browser on a page load.

  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (status === 404) {
      showError("That page is no longer available. Please reload.");
    } else if (status === 400 || status === 409 || status === 422 || status === 429) {
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
  // Mark which sides of a tab strip have more tabs out of view (the fade in app.css).
  function markTabOverflow(strip) {
    var more = strip.scrollWidth - strip.clientWidth;
    strip.classList.toggle("has-more-start", more > 1 && strip.scrollLeft > 1);
    strip.classList.toggle("has-more-end", more > 1 && strip.scrollLeft < more - 1);
  }
  function watchTabStrips() {
    var strips = document.querySelectorAll(".tabs");
    for (var i = 0; i < strips.length; i++) {
      var strip = strips[i];
      markTabOverflow(strip);
      if (strip.dataset.watched) continue;
      strip.dataset.watched = "1";
      strip.addEventListener("scroll", markTabOverflow.bind(null, strip), { passive: true });
    }
  }
  function tabStrips() { revealCurrentTab(); watchTabStrips(); }
  document.addEventListener("DOMContentLoaded", tabStrips);
  document.addEventListener("htmx:load", tabStrips);
  window.addEventListener("resize", watchTabStrips);

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
  // Reordering by drag and drop (the Up and Down buttons work without this): a list
  // marked data-reorder="<url>" holds items with data-id; an item is dragged by its
  // [data-drag-handle]. On drop the new order is POSTed (ids, comma-separated, with the
  // CSRF header) and the list the server answers replaces this one.
  function csrfToken() {
    var holder = document.querySelector("[hx-headers]");
    try { return JSON.parse(holder.getAttribute("hx-headers"))["x-csrftoken"] || ""; } catch (e) { return ""; }
  }
  function orderOf(list) {
    return Array.prototype.map.call(list.querySelectorAll(":scope > [data-id]"), function (item) {
      return item.getAttribute("data-id");
    });
  }
  function enhanceLists() {
    var lists = document.querySelectorAll("[data-reorder]");
    for (var i = 0; i < lists.length; i++) lists[i].classList.add("is-enhanced");
  }
  document.addEventListener("DOMContentLoaded", enhanceLists);
  document.addEventListener("htmx:load", enhanceLists);
  var dragging = null;
  var before = null;
  document.addEventListener("pointerdown", function (event) {
    var item = event.target.closest && event.target.closest("[data-reorder] > [data-id]");
    if (item) item.draggable = !!event.target.closest("[data-drag-handle]");
  });
  document.addEventListener("dragstart", function (event) {
    var item = event.target.closest && event.target.closest("[data-reorder] > [data-id]");
    if (!item || !item.draggable) return;
    dragging = item;
    before = orderOf(item.parentElement);
    item.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", item.getAttribute("data-id"));
  });
  document.addEventListener("dragover", function (event) {
    if (!dragging) return;
    var over = event.target.closest && event.target.closest("[data-reorder] > [data-id]");
    if (!over || over.parentElement !== dragging.parentElement) return;
    event.preventDefault();
    if (over === dragging) return;
    var box = over.getBoundingClientRect();
    var after = event.clientY > box.top + box.height / 2;
    over.parentElement.insertBefore(dragging, after ? over.nextSibling : over);
  });
  document.addEventListener("drop", function (event) {
    if (dragging) event.preventDefault();
  });
  document.addEventListener("dragend", function () {
    if (!dragging) return;
    var item = dragging;
    var list = item.parentElement;
    var previous = before;
    dragging = null;
    item.classList.remove("is-dragging");
    item.draggable = false;
    var order = orderOf(list);
    if (order.join(",") === previous.join(",")) return;
    list.setAttribute("aria-busy", "true");
    fetch(list.getAttribute("data-reorder"), {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/x-www-form-urlencoded", "x-csrftoken": csrfToken(), "HX-Request": "true"},
      body: "order=" + encodeURIComponent(order.join(","))
    }).then(function (response) {
      if (!response.ok) {
        showError(response.headers.get("X-Error-Message") || "The new order was not saved. Please reload the page.");
        previous.forEach(function (id) { list.appendChild(list.querySelector(':scope > [data-id="' + id + '"]')); });
        list.removeAttribute("aria-busy");
        return null;
      }
      return response.text();
    }).then(function (html) {
      if (html === null || html === undefined) return;
      var holder = document.createElement("div");
      holder.innerHTML = html;
      var fresh = holder.querySelector("#" + list.id);
      if (!fresh) { list.removeAttribute("aria-busy"); return; }
      list.replaceWith(fresh);
      if (window.htmx) window.htmx.process(fresh);
      enhanceLists();
    }).catch(function () {
      showError("You seem to be offline. Please check your connection and try again.");
      list.removeAttribute("aria-busy");
    });
  });
})();

// == Upload progress (deliverable versions and project files) ==
// Self-contained: forms marked data-upload-progress (boosted, multipart) show their
// <progress> while htmx sends them, fed by htmx:xhr:progress. Without JavaScript the
// bar stays hidden and the plain form posts as usual.
(function () {
  "use strict";

  function uploadForm(elt) {
    return elt && elt.matches && elt.matches("form[data-upload-progress]") ? elt : null;
  }
  function parts(form) {
    var box = form.querySelector("[data-upload-progress-bar]");
    if (!box) return null;
    return { box: box, bar: box.querySelector("progress"), text: box.querySelector("[data-upload-progress-text]"),
             button: form.querySelector('button[type="submit"]') };
  }
  function set(p, percent) {
    p.bar.value = percent;
    if (p.text) p.text.textContent = percent + "%";
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = uploadForm(event.detail.elt);
    var p = form && parts(form);
    if (!p) return;
    set(p, 0);
    p.box.hidden = false;
    form.setAttribute("aria-busy", "true");
    if (p.button) p.button.disabled = true;
  });

  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = uploadForm(event.target);
    var p = form && parts(form);
    if (!p || !event.detail.lengthComputable || !event.detail.total) return;
    // The upload's events come first, then the answer's: never go backwards.
    var percent = Math.min(100, Math.floor((event.detail.loaded * 100) / event.detail.total));
    if (percent > p.bar.value) set(p, percent);
  });

  // A stored upload answers with a redirect to the page that shows it: load that page
  // for real (its own scripts, e.g. the PDF viewer), rather than swapping its body in.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var form = uploadForm(event.detail.requestConfig && event.detail.requestConfig.elt);
    var xhr = event.detail.xhr;
    if (!form || !xhr || xhr.status < 200 || xhr.status >= 300) return;
    event.detail.shouldSwap = false;
    window.location.assign(xhr.responseURL || window.location.href);
  });

  // Too large (413, refused as the body arrives): the server's own words, e.g. "Files
  // can be up to 200 MB.", rather than the generic message shown for other statuses.
  document.addEventListener("htmx:responseError", function (event) {
    var form = uploadForm(event.detail.elt);
    var xhr = event.detail.xhr;
    var box = document.getElementById("flash-error");
    if (!form || !xhr || xhr.status !== 413 || !box) return;
    box.textContent = xhr.getResponseHeader("X-Error-Message") || "That file is too large.";
    box.hidden = false;
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = uploadForm(event.detail.elt);
    var p = form && parts(form);
    if (!p) return;
    p.box.hidden = true;
    form.removeAttribute("aria-busy");
    if (p.button) p.button.disabled = false;
  });
  // With JavaScript, Stripe Checkout opens inside the portal's page (the server may
  // still choose Stripe's hosted page, as it does without JavaScript).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || !form.hasAttribute || !form.hasAttribute("data-pay-form")) return;
    var mode = form.querySelector("input[name=mode]");
    if (mode) mode.value = "embedded";
  }, true);

  // Copy buttons (the custom domain's DNS record): shown only where the clipboard works,
  // on every page htmx puts in (htmx:load fires for the first page too).
  document.addEventListener("htmx:load", function (event) {
    if (!navigator.clipboard) return;
    event.target.querySelectorAll("[data-copy]").forEach(function (button) { button.hidden = false; });
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button || !navigator.clipboard) return;
    navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
      button.textContent = "Copied";
      window.setTimeout(function () { button.textContent = "Copy"; }, 2000);
    });
  });

  // Settings -> Client portal: a colour picker beside the accent's text field, and a live
  // preview of the shades the portal will use (the same rules as portal/workspaces/theme.py:
  // text on the accent reaches 4.5:1, the accent 3:1 on the page, links 4.5:1 on white; in
  // dark mode the accent is lightened until it does the same on the dark backgrounds).
  var PAGES = ["#ffffff", "#f6f7f9"];
  var DARK_PAGES = ["#111418", "#1b1f24", "#21262c"];
  function channel(v) { var c = v / 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); }
  function luminance(hex) {
    var r = parseInt(hex.substr(1, 2), 16), g = parseInt(hex.substr(3, 2), 16), b = parseInt(hex.substr(5, 2), 16);
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  }
  function contrast(a, b) {
    var x = luminance(a), y = luminance(b);
    return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
  }
  function textOn(bg) { return contrast(bg, "#ffffff") >= contrast(bg, "#111111") ? "#ffffff" : "#111111"; }
  function mix(hex, other, weight) {
    var out = "#";
    for (var i = 1; i < 7; i += 2) {
      var v = Math.round(parseInt(hex.substr(i, 2), 16) * (1 - weight) + parseInt(other.substr(i, 2), 16) * weight);
      out += (v < 16 ? "0" : "") + v.toString(16);
    }
    return out;
  }
  function reaches(colour, backgrounds, ratio) {
    return backgrounds.every(function (bg) { return contrast(colour, bg) >= ratio; });
  }
  // The colour mixed step by step toward `toward` until ok(colour), at most `steps` times.
  function until(colour, toward, weight, steps, ok) {
    for (var i = 0; i < steps && !ok(colour); i++) colour = mix(colour, toward, weight);
    return colour;
  }
  function surfaceOk(pages) {
    return function (c) { return contrast(c, textOn(c)) >= 4.5 && reaches(c, pages, 3); };
  }
  function darkShades(chosen) {
    var surface = until(chosen, "#ffffff", 0.08, 40, surfaceOk(DARK_PAGES));
    var soft = mix(surface, DARK_PAGES[1], 0.8);
    var ink = until(surface, "#ffffff", 0.12, 20, function (c) { return reaches(c, DARK_PAGES.concat([soft]), 4.5); });
    return { surface: surface, text: textOn(surface), ink: ink, soft: soft };
  }
  function accentShades(chosen) {
    var surface = until(chosen, "#000000", 0.08, 40, surfaceOk(PAGES));
    var ink = until(surface, "#000000", 0.12, 20, function (c) { return contrast(c, "#ffffff") >= 4.5; });
    return { chosen: chosen, surface: surface, text: textOn(surface), ink: ink, soft: mix(surface, "#ffffff", 0.88),
             dark: darkShades(chosen) };
  }
  window.portalAccentShades = accentShades;  // the browser test compares these with the server's
  function showAccent(text) {
    var value = (text.value || "").trim().toLowerCase();
    if (!/^#[0-9a-f]{6}$/.test(value)) return;
    var shades = accentShades(value);
    var preview = document.querySelector("[data-accent-preview]");
    var picker = document.querySelector("[data-accent-picker]");
    var note = document.querySelector("[data-accent-note]");
    if (picker && picker.value !== value) picker.value = value;
    if (preview) {
      preview.dataset.surface = shades.surface;
      preview.dataset.ink = shades.ink;
      [[preview.querySelector("[data-accent-light]"), shades], [preview.querySelector("[data-accent-dark]"), shades.dark]]
        .forEach(function (pair) {
          if (!pair[0]) return;
          pair[0].style.setProperty("--accent", pair[1].surface);
          pair[0].style.setProperty("--accent-text", pair[1].text);
          pair[0].style.setProperty("--accent-ink", pair[1].ink);
          pair[0].style.setProperty("--accent-soft", pair[1].soft);
        });
    }
    if (note) {
      note.hidden = shades.surface === value;
      note.textContent = shades.surface === value ? "" : value + " is too light to stand out on the page or to carry " +
        "readable text, so the portal uses the darker " + shades.surface + " for buttons and bars, and " + shades.ink +
        " for links.";
    }
  }
  function enhanceAccent() {
    var text = document.querySelector("[data-accent-text]");
    var picker = document.querySelector("[data-accent-picker]");
    var preview = document.querySelector("[data-accent-preview]");
    if (!text || !picker || text.dataset.enhanced) return;
    text.dataset.enhanced = "1";
    picker.hidden = false;
    if (preview) preview.hidden = false;
    picker.addEventListener("input", function () { text.value = picker.value; showAccent(text); });
    text.addEventListener("input", function () { showAccent(text); });
    showAccent(text);
  }
  document.addEventListener("DOMContentLoaded", enhanceAccent);
  document.addEventListener("htmx:load", enhanceAccent);
})();

// File inputs in a drop zone ([data-file-drop]): the line under the input names the chosen or
// dropped files (the input itself stays native: keyboard, screen readers and no-JavaScript work).
(function () {
  function size(bytes) {
    if (bytes < 1024) return bytes + " bytes";
    if (bytes < 1024 * 1024) return Math.round(bytes / 1024) + " KB";
    return (bytes / 1024 / 1024).toFixed(1) + " MB";
  }
  function describe(zone) {
    var input = zone.querySelector("input[type=file]");
    var line = zone.querySelector("[data-file-chosen]");
    if (!input || !line) return;
    if (!line.dataset.empty) line.dataset.empty = line.textContent;
    var files = Array.prototype.slice.call(input.files || []);
    zone.classList.toggle("has-files", files.length > 0);
    line.textContent = files.length === 0 ? line.dataset.empty
      : (files.length === 1 ? "Chosen: " : files.length + " files chosen: ")
        + files.map(function (f) { return f.name + " (" + size(f.size) + ")"; }).join(", ");
  }
  function enhance(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("[data-file-drop]").forEach(function (zone) {
      if (zone.dataset.enhanced) return;
      zone.dataset.enhanced = "1";
      var input = zone.querySelector("input[type=file]");
      if (!input) return;
      input.addEventListener("change", function () { describe(zone); });
      ["dragenter", "dragover"].forEach(function (type) {
        zone.addEventListener(type, function () { zone.classList.add("is-dragover"); });
      });
      ["dragleave", "drop"].forEach(function (type) {
        zone.addEventListener(type, function () { zone.classList.remove("is-dragover"); });
      });
      describe(zone);  // a page restored from the back/forward cache keeps its chosen files
    });
  }
  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:load", function (event) { enhance(event.target); });
})();
