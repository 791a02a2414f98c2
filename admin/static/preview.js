/* The Notifications page's live preview: a small storefront in a frame, where the real widget
   script (loaded from the push server, in preview mode: no stream, no beacons) draws sample
   notifications worded, shown and placed as the form now says. */
(function () {
  "use strict";
  var form = document.getElementById("notifications-form");
  var frame = document.querySelector("[data-preview-frame]");
  var status = document.querySelector("[data-preview-status]");
  var data = JSON.parse(document.getElementById("wording").textContent);
  var SAMPLE = {
    name: "Maya", place: "Austin, US",
    product: { purchase: "Cloud Hoodie", trending: "Trail Runner", viewing: "Canvas Tote",
      low_stock: "Merino Beanie", back_in_stock: "Cloud Hoodie", cart: "Trail Runner",
      review: "Cloud Hoodie" },
    count: { trending: 14, viewing: 6, low_stock: 3, cart: 4, visitors: 128 }
  };
  var replaying = [];

  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; });
  }

  // Python's str.format with named fields, as the worker renders templates ({{ and }} are braces).
  function fill(template, fields) {
    return template.replace(/\{\{|\}\}|\{(\w+)\}/g, function (m, name) {
      if (m === "{{") return "{";
      if (m === "}}") return "}";
      return name in fields ? String(fields[name]) : m;
    });
  }

  function value(name) {
    var el = form.elements[name];
    return el && el.value !== undefined ? String(el.value).trim() : "";
  }

  function wording(lang) { return data.wording[lang] || data.wording.en; }

  // A counted template has a form per CLDR plural category: the browser's Intl.PluralRules
  // picks the same one Babel picks for the worker.
  function pluralForm(t, lang, count) {
    if (typeof t !== "object" || t === null) return t;
    return t[count === undefined ? "other" : new Intl.PluralRules(lang).select(count)] || t.other;
  }

  function template(lang, name, count) {
    var own = value("template." + name);
    if (own) return own;
    var overrides = data.overrides[lang] || {};
    var category = count === undefined ? "" : new Intl.PluralRules(lang).select(count);
    return overrides[name + "#" + category] || overrides[name] || pluralForm(wording(lang).templates[name], lang, count);
  }

  function who(lang) {
    var w = wording(lang), shown = value("buyer_display");
    if (shown === "first_name_city") return fill(w.named_place, { name: SAMPLE.name, place: SAMPLE.place });
    if (shown === "city") return fill(w.someone_place, { place: SAMPLE.place });
    return w.someone;
  }

  function samples() {
    var lang = value("language") || "en";
    var kinds = Array.prototype.filter.call(form.elements.enabled_kinds, function (b) { return b.checked; })
      .map(function (b) { return b.value; });
    var display = {
      position: value("widget.position") || "bottom-left",
      mobile_position: value("widget.mobile_position") || "bottom",
      gap_ms: Math.max(0, +value("widget.gap_s") || 0) * 1000,
      max: Math.max(1, +value("widget.max_per_session") || 1),
      theme: value("widget.theme") || "light",
      colours: { background: value("widget.colours.background"), text: value("widget.colours.text"),
        accent: value("widget.colours.accent") },
      radius_px: Math.min(24, Math.max(0, +value("widget.radius_px") || 0)),
      font: value("widget.font") || "theme"
    };
    return kinds.map(function (kind) {
      var fields = kind === "review"
        ? { stars: "\u2605\u2605\u2605\u2605\u2605", author: "Maya K.", excerpt: "Softest thing I own", product: SAMPLE.product[kind] }
        : kind === "purchase" || kind === "signup"
        ? { who: who(lang), product: SAMPLE.product[kind] }
        : { count: SAMPLE.count[kind], product: SAMPLE.product[kind] };
      return {
        id: "preview-" + kind, kind: kind, lang: lang,
        occurred_at: new Date(Date.now() - 2 * 60000).toISOString(),
        title: fill(template(lang, kind + ".title", fields.count), fields),
        message: fill(template(lang, kind, fields.count), fields),
        product: fields.product && { id: "preview", title: fields.product },
        display: display
      };
    });
  }

  function widget() {
    var w = frame.contentWindow;
    return w && w.StorePulse ? w : null;
  }

  function clear(w) {
    replaying.forEach(clearTimeout);
    replaying = [];
    w.document.querySelectorAll(".sp-toast").forEach(function (t) { t.remove(); });
  }

  function draw() {
    var w = widget();
    if (!w) return;
    clear(w);
    samples().forEach(function (n) { w.StorePulse.preview(n); });
  }

  // One after another, as a visitor sees them: the gap between, no more than the visit allows.
  function replay() {
    var w = widget();
    if (!w) return;
    clear(w);
    var shown = samples();
    shown.slice(0, shown.length && shown[0].display.max).forEach(function (n, i) {
      replaying.push(setTimeout(function () { w.StorePulse.preview(n); }, i * n.display.gap_ms));
    });
  }

  frame.srcdoc =
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><style>' +
    "body{margin:0;font:14px/1.4 system-ui,sans-serif;background:#f6f6f7;color:#202223}" +
    "header{background:#202223;color:#fff;padding:10px 16px;font-weight:600}" +
    "main{display:grid;grid-template-columns:1fr 1fr;gap:12px;padding:12px}" +
    ".card{background:#fff;border-radius:8px;padding:10px;box-shadow:0 1px 3px rgba(0,0,0,.08)}" +
    ".ph{height:56px;border-radius:6px;background:linear-gradient(135deg,#c9d6ff,#e2e2e2)}" +
    ".card+.card .ph{background:linear-gradient(135deg,#ffd6c9,#f0e2d2)}" +
    "</style></head><body><header>" + esc(frame.getAttribute("data-shop")) + "</header><main>" +
    '<div class="card"><div class="ph"></div><p>Cloud Hoodie</p></div>' +
    '<div class="card"><div class="ph"></div><p>Trail Runner</p></div></main>' +
    '<script src="' + esc(frame.getAttribute("data-widget")) + '" data-shop="' +
    esc(frame.getAttribute("data-shop")) + '" data-preview data-duration-ms="600000"><\/script></body></html>';
  // A computer's storefront is drawn 760 px wide and scaled into the column, so the widget lays
  // it out as on a computer; a phone's at 390 px, as it is.
  var device = "desktop";
  function fit() {
    var width = device === "desktop" ? 760 : 390, scale = Math.min(1, frame.parentNode.clientWidth / width);
    frame.style.width = width + "px";
    frame.style.height = 750 / scale + "px";
    frame.style.transform = "scale(" + scale + ")";
  }
  document.querySelectorAll("[data-device]").forEach(function (b) {
    b.addEventListener("click", function () {
      device = b.getAttribute("data-device");
      document.querySelectorAll("[data-device]").forEach(function (o) { o.setAttribute("aria-pressed", String(o === b)); });
      fit();
    });
  });
  window.addEventListener("resize", fit);
  fit();
  frame.addEventListener("load", function () {
    if (widget()) draw();
    else status.textContent = "The preview needs the storefront widget, which did not load.";
  });

  var pending = 0;
  var later = function () { clearTimeout(pending); pending = setTimeout(draw, 120); };
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  document.querySelector("[data-replay]").addEventListener("click", replay);

  // Switching language shows that language's own wording in the template fields.
  form.elements.language.addEventListener("change", function () {
    var lang = value("language"), own = data.overrides[lang] || {}, w = data.wording[lang];
    form.querySelectorAll("[data-template]").forEach(function (input) {
      var name = input.getAttribute("data-template");
      input.value = own[name] || "";
      input.placeholder = w ? pluralForm(w.templates[name], lang) : "";
    });
  });
})();
