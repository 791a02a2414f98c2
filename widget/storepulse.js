/* StorePulse storefront widget: live social-proof toasts. No dependencies.
   <script async src="https://PUSH/widget.js" data-shop="x.myshopify.com"
     data-endpoint="https://PUSH" data-beacons="https://INGEST" data-position="bottom-left"></script>
   Optional, pinning what the shop's settings (sent with each notification) would choose:
   data-position, data-gap-ms (min gap between toasts), data-max (toasts per session).
   Also data-duration-ms, data-product-id (product pages), and data-preview (the merchant's
   app: no stream, no beacons; samples go through StorePulse.preview). */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.StorePulse) return;
  function attr(name, fallback) {
    var v = script.getAttribute("data-" + name);
    return v === null || v === "" ? fallback : v;
  }
  var shop = attr("shop");
  if (!shop || !window.EventSource) return;
  var endpoint = attr("endpoint", new URL(script.src).origin).replace(/\/$/, "");
  var beacons = attr("beacons", "").replace(/\/$/, "");
  var pinned = { position: attr("position"), gap: attr("gap-ms"), max: attr("max") };
  var GAP = +(pinned.gap || 8000), MAX = +(pinned.max || 10), SHOW = +attr("duration-ms", 6000);
  var preview = script.hasAttribute("data-preview");
  var RTL = { ar: 1, he: 1, fa: 1, ur: 1 };
  // Inline icons: emoji fonts are missing on many systems.
  var SVG = '<svg viewBox="0 0 24 24" width="22" height="22" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round">';
  var ICON = {
    purchase: SVG + '<path d="M5 8h14l-1 13H6zM9 8V6a3 3 0 0 1 6 0v2"/></svg>',
    trending: SVG + '<path d="M12 2c1 4 6 6 6 12a6 6 0 0 1-12 0c0-3 2-5 3-7 1 2 2 3 3 3 1-3 0-6 0-8z"/></svg>',
    viewing: SVG + '<path d="M1 12s4-7 11-7 11 7 11 7-4 7-11 7S1 12 1 12z"/><circle cx="12" cy="12" r="3"/></svg>',
    low_stock: SVG + '<path d="M3 7l9-4 9 4v10l-9 4-9-4zM3 7l9 4 9-4M12 11v10"/></svg>',
    back_in_stock: SVG + '<path d="M3 7l9-4 9 4v10l-9 4-9-4zM3 7l9 4 9-4M12 11v10"/></svg>',
    cart: SVG + '<path d="M3 4h2l2.5 11h11L21 7H6.5"/><circle cx="9" cy="19.5" r="1.5"/><circle cx="17" cy="19.5" r="1.5"/></svg>',
    signup: SVG + '<circle cx="9" cy="8" r="4"/><path d="M1 21a8 8 0 0 1 16 0M20 8v6M17 11h6"/></svg>',
    review: SVG + '<path d="M12 2l3 6.5 7 .8-5.2 4.8 1.4 7L12 17.6 5.8 21l1.4-7L2 9.3l7-.8z"/></svg>'
  };
  var CLOSE = { en: "Dismiss", fr: "Fermer", de: "Schlie\u00DFen", es: "Cerrar", ar: "\u0625\u063A\u0644\u0627\u0642",
    he: "\u05E1\u05D2\u05D5\u05E8", it: "Chiudi", nl: "Sluiten", pt: "Fechar", cs: "Zav\u0159\u00EDt", da: "Luk",
    fi: "Sulje", nb: "Lukk", sv: "St\u00E4ng", pl: "Zamknij", tr: "Kapat", ja: "\u9589\u3058\u308B",
    ko: "\uB2EB\uAE30", zh: "\u5173\u95ED", "zh-TW": "\u95DC\u9589", th: "\u0E1B\u0E34\u0E14" };
  var countKey = "storepulse:shown:" + shop;
  var queue = [], seen = [], lastShown = 0, timer = 0, lastId = "";

  function store(area, key, value) {
    try {
      if (value === undefined) return window[area].getItem(key);
      window[area].setItem(key, value);
    } catch (_) { /* storage may be disabled: pacing then lasts for the page only */ }
    return value;
  }
  function randomId() { return Math.random().toString(36).slice(2) + Date.now().toString(36); }
  var shown = +(store("sessionStorage", countKey) || 0);

  // Consent: where Shopify's Customer Privacy API is on the page, analytics (a visitor id, the
  // cart attribute, beacons) only with the visitor's consent; toasts show either way.
  function allowed() {
    var p = window.Shopify && Shopify.customerPrivacy;
    return !p || typeof p.analyticsProcessingAllowed !== "function" || !!p.analyticsProcessingAllowed();
  }

  // The visitor id, made on first use and only with consent.
  function visitorId() {
    if (!allowed()) return "";
    return store("localStorage", "storepulse:visitor") || store("localStorage", "storepulse:visitor", randomId());
  }

  // Once a session, the visitor id goes into the cart (hidden "_" attribute), so the order says
  // whose toasts it followed.
  function tagCart() {
    var v = visitorId(), key = "storepulse:cart:" + shop;
    if (!v || preview || store("sessionStorage", key) === v || !window.fetch) return;
    var root = (window.Shopify && Shopify.routes && Shopify.routes.root) || "/";
    fetch(root + "cart/update.js", {
      method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ attributes: { _storepulse_visitor: v } })
    }).then(function (r) { if (r.ok) store("sessionStorage", key, v); }, function () {});
  }

  // Beacons wait in localStorage until ingest took them (at most 200, oldest dropped): a flaky
  // connection loses none, and ingest drops a copy sent twice by its id.
  var OUTBOX = "storepulse:outbox:" + shop;
  function outbox(list) {
    if (list) return store("localStorage", OUTBOX, JSON.stringify(list.slice(-200)));
    try { return JSON.parse(store("localStorage", OUTBOX) || "[]"); } catch (_) { return []; }
  }
  function deliver(body) {
    fetch(beacons + "/beacons", { method: "POST", body: JSON.stringify(body), keepalive: true, mode: "cors" })
      .then(function (r) {
        if (r.ok || r.status < 500 && r.status !== 429) outbox(outbox().filter(function (b) { return b.id !== body.id; }));
      }, function () {});
  }
  function flush() {
    if (navigator.onLine !== false && allowed()) outbox().forEach(deliver);
  }

  function beacon(type, extra) {
    var v = visitorId();
    if (!beacons || preview || !v || !window.fetch) return;
    var body = { shop: shop, type: type, visitor: v, id: randomId() };
    for (var k in extra) if (extra[k]) body[k] = String(extra[k]);
    outbox(outbox().concat([body]));
    if (navigator.onLine !== false) deliver(body);
  }

  // Experiments: the same FNV-1a hash of "{experiment}:{visitor}" as streams/domain/arms.py
  // puts a visitor in the holdout, who sees no toast but reports the ones they would have seen.
  function fnv(text) {
    var h = 0x811c9dc5, bytes = unescape(encodeURIComponent(text));
    for (var i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes.charCodeAt(i), 0x01000193) >>> 0;
    return h;
  }
  function heldOut(n) {
    var x = n.experiment, v = visitorId();
    return !!(x && v && x.holdout_pct && fnv(x.id + ":" + v) % 10000 < x.holdout_pct * 100);
  }
  function ghost(n) {
    beacon("ghost_impression", { notification_id: n.id, product_id: (n.product || {}).id });
  }

  var root = document.createElement("div");
  function place(position) { root.className = "sp-root" + (position === "bottom-right" ? " sp-right" : ""); }
  place(pinned.position);
  // The shop's display settings, unless the script tag pinned them.
  function tune(d) {
    if (!d) return;
    if (!pinned.position) place(d.position);
    if (!pinned.gap) GAP = d.gap_ms;
    if (!pinned.max) MAX = d.max;
  }
  root.setAttribute("role", "status");
  root.setAttribute("aria-live", "polite");
  var css =
    ".sp-root{position:fixed;bottom:16px;left:16px;z-index:2147483000;" +
    "font:14px/1.4 system-ui,sans-serif;display:flex;flex-direction:column;gap:8px;max-width:340px}" +
    ".sp-toast{position:relative;background:#fff;color:#1a1a1a;border-radius:12px;box-shadow:0 6px 24px rgba(0,0,0,.18);" +
    "padding:12px 34px 12px 12px;display:flex;gap:10px;align-items:center;animation:sp-in .35s ease-out}" +
    ".sp-toast[dir=rtl]{padding:12px 12px 12px 34px}" +
    ".sp-toast img{width:48px;height:48px;object-fit:cover;border-radius:8px;flex:none}" +
    ".sp-icon{flex:none;width:40px;height:40px;border-radius:50%;display:grid;place-items:center;background:#eef6ee;color:#2f855a}" +
    ".sp-trending .sp-icon{background:#fdece7;color:#e4572e}.sp-viewing .sp-icon{background:#e8f1fb;color:#2e86de}" +
    ".sp-toast a{color:inherit;text-decoration:none}" +
    ".sp-time{display:block;color:#6d7175;font-size:12px}" +
    ".sp-x{position:absolute;top:4px;right:6px;border:0;background:none;font-size:18px;line-height:1;" +
    "cursor:pointer;color:#6d7175;padding:4px}.sp-toast[dir=rtl] .sp-x{right:auto;left:6px}" +
    "@keyframes sp-in{from{opacity:0;transform:translateY(12px)}}" +
    ".sp-root.sp-right{left:auto;right:16px}" +
    "@media (max-width:480px){.sp-root,.sp-root.sp-right{left:8px;right:8px;bottom:8px;max-width:none}}" +
    "@media (prefers-reduced-motion:reduce){.sp-toast{animation:none}}";

  function ago(iso, lang) {
    var s = (new Date(iso).getTime() - Date.now()) / 1000;
    if (!(s > -86400) || !window.Intl || !Intl.RelativeTimeFormat) return "";
    var f = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
    return s > -60 ? f.format(0, "second") : s > -3600 ? f.format(Math.round(s / 60), "minute")
      : f.format(Math.round(s / 3600), "hour");
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }

  // The page's storefront language (Shopify.locale, "pt-BR"), else its base ("pt"), else the
  // shop's default: the notification's own lang with title/message.
  function words(n) {
    var m = n.messages || {}, page = (window.Shopify && Shopify.locale) || "", base = page.split("-")[0];
    var lang = m[page] ? page : m[base] ? base : n.lang || "en";
    return { lang: lang, message: (m[lang] || n).message };
  }

  // Renders one notification now (the demo's preview uses it directly; live ones are paced).
  function render(n) {
    var w = words(n), lang = w.lang, base = lang.split("-")[0], p = n.product || {};
    var t = el("div", "sp-toast sp-" + n.kind);
    t.lang = lang;
    t.dir = RTL[base] ? "rtl" : "ltr";
    t.setAttribute("data-id", n.id);
    if (p.image) {
      var img = el("img");
      img.src = p.image;
      img.alt = "";
      t.appendChild(img);
    } else {
      var icon = el("span", "sp-icon");
      icon.innerHTML = ICON[n.kind] || ICON.purchase; // our own constant markup, never event data
      t.appendChild(icon);
    }
    var body = el(p.url ? "a" : "span", "sp-text", w.message);
    if (p.url) {
      body.href = p.url;
      body.onclick = function () { beacon("click", { notification_id: n.id, product_id: p.id }); };
    }
    if (n.kind === "purchase") body.appendChild(el("span", "sp-time", ago(n.occurred_at, lang)));
    t.appendChild(body);
    var x = el("button", "sp-x", "\u00D7");
    x.type = "button";
    x.setAttribute("aria-label", CLOSE[lang] || CLOSE[base] || CLOSE.en);
    x.onclick = function () {
      t.remove();
      beacon("dismiss", { notification_id: n.id });
    };
    t.appendChild(x);
    root.appendChild(t);
    setTimeout(function () { t.remove(); }, SHOW);
    beacon("impression", { notification_id: n.id, product_id: p.id });
    document.dispatchEvent(new CustomEvent("storepulse:toast", { detail: n }));
  }

  // Pacing: at most one toast per GAP, MAX per session, nothing while the tab is hidden, and a
  // short queue of the newest so a tab coming back from the background does not replay a pile.
  function pump() {
    clearTimeout(timer);
    if (!queue.length || document.hidden || shown >= MAX) return;
    var wait = lastShown + GAP - Date.now();
    if (wait > 0) {
      timer = setTimeout(pump, wait);
      return;
    }
    store("sessionStorage", countKey, String(++shown));
    var next = queue.shift();
    (heldOut(next) ? ghost : render)(next);
    lastShown = Date.now(); // after rendering: the gap is what the visitor sees between toasts
    if (queue.length) timer = setTimeout(pump, GAP);
  }

  function receive(id, n) {
    if (id) lastId = id;
    if (seen.indexOf(n.id) >= 0) return;
    seen.push(n.id);
    tune(n.display);
    if (seen.length > 50) seen.shift();
    queue.push(n);
    if (queue.length > 3) queue.shift();
    pump();
  }

  // One connection per visitor: the tab holding the lock streams and relays to the others.
  var channel = window.BroadcastChannel ? new BroadcastChannel("storepulse:" + shop) : null;
  if (channel) channel.onmessage = function (e) { receive(e.data.id, e.data.n); };

  function connect(attempt) {
    var url = endpoint + "/sse/" + encodeURIComponent(shop) + (lastId ? "?last_event_id=" + encodeURIComponent(lastId) : "");
    var source = new EventSource(url);
    source.onopen = function () { attempt = 0; };
    source.addEventListener("notification", function (e) {
      var n;
      try { n = JSON.parse(e.data); } catch (_) { return; }
      receive(e.lastEventId, n);
      if (channel) channel.postMessage({ id: e.lastEventId, n: n });
    });
    source.onerror = function () {
      // Reconnect ourselves so the URL carries the last id (EventSource cannot add headers).
      source.close();
      setTimeout(function () { connect(attempt + 1); }, Math.min(30000, 1000 * Math.pow(2, attempt)) * (0.5 + Math.random()));
    };
  }

  function start() {
    var style = el("style", "", css);
    document.head.appendChild(style);
    document.body.appendChild(root);
    if (preview) return;
    document.addEventListener("visibilitychange", pump);
    var meta = window.ShopifyAnalytics && ShopifyAnalytics.meta;
    beacon("page_view", { product_id: attr("product-id", meta && meta.product && meta.product.id) });
    tagCart();
    flush();
    window.addEventListener("online", flush);
    document.addEventListener("visitorConsentCollected", function () { tagCart(); flush(); });
    if (channel && navigator.locks) {
      navigator.locks.request("storepulse:" + shop, function () {
        connect(0);
        return new Promise(function () {}); // held until the tab closes; then another tab leads
      });
    } else connect(0);
  }

  window.StorePulse = { preview: function (n) { tune(n.display); render(n); } };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
