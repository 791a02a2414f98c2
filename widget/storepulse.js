/* StorePulse storefront widget: live social-proof toasts. No dependencies.
   <script async src="https://PUSH/widget.js" data-shop="x.myshopify.com"
     data-endpoint="https://PUSH" data-beacons="https://INGEST" data-position="bottom-left"></script>
   Optional, pinning what the shop's settings (sent with each notification) would choose:
   data-position, data-gap-ms (min gap between toasts), data-max (toasts per session),
   data-duration-ms, data-delay-ms (before a page's first toast). Also data-product-id (product
   pages), and data-preview (the merchant's app: no stream, no beacons; samples go through
   StorePulse.preview). Checkout, thank-you and account pages never run it. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.StorePulse) return;
  function attr(name, fallback) {
    var v = script.getAttribute("data-" + name);
    return v === null || v === "" ? fallback : v;
  }
  var shop = attr("shop"), path = location.pathname;
  if (!shop || !window.EventSource || /\/(checkouts?|account|orders|thank[_-]you|customer_authentication)(\/|$)/.test(path)) return;
  var endpoint = attr("endpoint", new URL(script.src).origin).replace(/\/$/, "");
  var beacons = attr("beacons", "").replace(/\/$/, "");
  // The shop's display settings (storepulse/contracts.py Display) as each notification brings
  // them, under what the script tag pins.
  var D = { position: "bottom-left", mobile_position: "bottom", gap_ms: 8000, max: 10, delay_ms: 3000,
    duration_ms: 6000, jitter_ms: 0, max_per_page: 10, dismiss_pause_ms: 0, priority: {}, max_age_s: {},
    include: [], exclude: [], theme: "light", radius_px: 12 };
  var PIN = { position: attr("position"), gap_ms: attr("gap-ms"), max: attr("max"),
    duration_ms: attr("duration-ms"), delay_ms: attr("delay-ms") };
  // Phones: below Shopify's Dawn theme's breakpoint; the CSS below uses the same.
  var MOBILE = window.matchMedia("(max-width:749px)");
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
  var countKey = "storepulse:shown:" + shop, doneKey = "storepulse:done:" + shop, pauseKey = "storepulse:pause:" + shop;
  var queue = [], seen = [], nextAt = 0, timer = 0, lastId = "", pageShown = 0, loaded = Date.now();

  function store(area, key, value) {
    try {
      if (value === undefined) return window[area].getItem(key);
      window[area].setItem(key, value);
    } catch (_) { /* storage may be disabled: pacing then lasts for the page only */ }
    return value;
  }
  function randomId() { return Math.random().toString(36).slice(2) + Date.now().toString(36); }
  var shown = +(store("sessionStorage", countKey) || 0), pausedUntil = +(store("sessionStorage", pauseKey) || 0);
  var done; // ids shown this session: nothing is shown twice
  try { done = JSON.parse(store("sessionStorage", doneKey)) || []; } catch (_) { done = []; }

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
  function tune(d) {
    var k;
    for (k in d) D[k] = d[k];
    for (k in PIN) if (PIN[k] != null) D[k] = k === "position" ? PIN[k] : +PIN[k];
  }
  tune();
  function place() {
    var p = MOBILE.matches ? D.mobile_position : D.position, c = D.theme === "custom" && D.colours;
    root.className = "sp-root sp-" + D.theme + (/right/.test(p) ? " sp-right" : "") + (/top/.test(p) ? " sp-top" : "") +
      (D.font === "system" ? " sp-sys" : "");
    root.style.cssText = "--r:" + D.radius_px + "px" + (c ? ";--b:" + c.background + ";--f:" + c.text + ";--a:" + c.accent : "");
  }

  // Where: the page's kind, the shop's path globs (* is any run of characters) and the device.
  var meta = window.ShopifyAnalytics && ShopifyAnalytics.meta;
  var productId = attr("product-id", meta && meta.product && meta.product.id);
  function matches(globs) {
    return globs.some(function (g) { return new RegExp("^" + g.replace(/[.+]/g, "\\$&").replace(/\*/g, ".*") + "$").test(path); });
  }
  function here() {
    return (D.pages !== "products" || productId || /\/products\//.test(path)) &&
      (!D.include.length || matches(D.include)) && !matches(D.exclude) &&
      (!D.devices || D.devices === "both" || (D.devices === "mobile") === MOBILE.matches);
  }
  root.setAttribute("role", "status");
  root.setAttribute("aria-live", "polite");
  var css =
    ".sp-root{--b:#fff;--f:#1a1a1a;position:fixed;bottom:16px;left:16px;z-index:2147483000;font-size:14px;line-height:1.4;" +
    "font-family:inherit;display:flex;flex-direction:column;gap:8px;max-width:340px}.sp-sys{font-family:system-ui,sans-serif}" +
    ".sp-dark{--b:#1f2124;--f:#f1f2f3}" +
    ".sp-toast{position:relative;background:var(--b);color:var(--f);border-radius:var(--r);box-shadow:0 6px 24px rgba(0,0,0,.18);" +
    "padding:12px 34px 12px 12px;display:flex;gap:10px;align-items:center;animation:sp-in .35s ease-out}" +
    ".sp-toast[dir=rtl]{padding:12px 12px 12px 34px}" +
    ".sp-toast img{width:48px;height:48px;object-fit:cover;border-radius:calc(var(--r)*.66);flex:none}" +
    ".sp-icon{flex:none;width:40px;height:40px;border-radius:50%;display:grid;place-items:center;color:var(--a,#2f855a);" +
    "background:color-mix(in srgb,currentColor 14%,transparent)}" +
    ".sp-trending .sp-icon{color:var(--a,#e4572e)}.sp-viewing .sp-icon{color:var(--a,#2e86de)}" +
    ".sp-toast a{color:inherit;text-decoration:none}" +
    ".sp-time{display:block;opacity:.7;font-size:12px}" +
    ".sp-x{position:absolute;top:4px;right:6px;border:0;background:none;font-size:18px;line-height:1;" +
    "cursor:pointer;color:inherit;opacity:.6;padding:4px}.sp-toast[dir=rtl] .sp-x{right:auto;left:6px}" +
    "@keyframes sp-in{from{opacity:0;transform:translateY(12px)}}" +
    ".sp-root.sp-right{left:auto;right:16px}.sp-root.sp-top{top:16px;bottom:auto}" +
    "@media (max-width:749px){.sp-root,.sp-root.sp-right{left:8px;right:8px;bottom:8px;margin:0 auto;max-width:420px}" +
    ".sp-root.sp-top{top:8px;bottom:auto}}" +
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
      store("sessionStorage", pauseKey, String(pausedUntil = Date.now() + D.dismiss_pause_ms));
      beacon("dismiss", { notification_id: n.id });
      pump();
    };
    t.appendChild(x);
    place();
    root.appendChild(t);
    setTimeout(function () { t.remove(); }, D.duration_ms);
    beacon("impression", { notification_id: n.id, product_id: p.id });
    document.dispatchEvent(new CustomEvent("storepulse:toast", { detail: n }));
  }

  // Pacing: a delay before a page's first toast, then a gap (plus jitter) between toasts, a pause
  // after a dismissal, at most so many per page and per session, nothing while the tab is
  // hidden. The queue keeps the newest three; the highest priority goes first, then the oldest.
  function fresh(n) {
    var age = D.max_age_s[n.kind];
    return !age || Date.parse(n.occurred_at) > Date.now() - age * 1000;
  }
  function rank(n) { return D.priority[n.kind] || 0; }
  function pump() {
    clearTimeout(timer);
    queue = queue.filter(fresh);
    if (!queue.length || document.hidden || shown >= D.max || pageShown >= D.max_per_page || !here()) return;
    var wait = Math.max(nextAt, loaded + D.delay_ms, pausedUntil) - Date.now();
    if (wait > 0) {
      timer = setTimeout(pump, wait);
      return;
    }
    store("sessionStorage", countKey, String(++shown));
    pageShown++;
    var best = 0;
    for (var i = 1; i < queue.length; i++) if (rank(queue[i]) > rank(queue[best])) best = i;
    var next = queue.splice(best, 1)[0];
    done.push(next.id);
    store("sessionStorage", doneKey, JSON.stringify(done.slice(-50)));
    (heldOut(next) ? ghost : render)(next);
    // After rendering: the gap is what the visitor sees between toasts.
    nextAt = Date.now() + D.gap_ms + Math.random() * D.jitter_ms;
    pump();
  }

  function receive(id, n) {
    if (id) lastId = id;
    if (seen.indexOf(n.id) >= 0 || done.indexOf(n.id) >= 0) return;
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
    // Back from the background: the newest only, not what piled up meanwhile.
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) queue = queue.slice(-1);
      pump();
    });
    beacon("page_view", { product_id: productId });
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
