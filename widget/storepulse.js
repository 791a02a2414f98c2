/* StorePulse storefront widget: live social-proof toasts. No dependencies.
   <script async src="https://PUSH/widget.js" data-shop="x.myshopify.com" data-endpoint="https://PUSH"></script> */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__storepulse) return;
  window.__storepulse = true;
  var shop = script.getAttribute("data-shop");
  var endpoint = (script.getAttribute("data-endpoint") || new URL(script.src).origin).replace(/\/$/, "");
  if (!shop || !window.EventSource) return;

  var SHOW_MS = 6000;
  var root = document.createElement("div");
  root.className = "sp-root";
  root.setAttribute("aria-live", "polite");
  var style = document.createElement("style");
  style.textContent =
    ".sp-root{position:fixed;bottom:16px;left:16px;z-index:2147483000;font:14px/1.4 system-ui,sans-serif}" +
    ".sp-toast{background:#fff;color:#1a1a1a;border-radius:10px;box-shadow:0 4px 18px rgba(0,0,0,.18);" +
    "padding:12px 14px;margin-top:8px;max-width:320px;display:flex;gap:10px;align-items:center}" +
    ".sp-toast img{width:44px;height:44px;object-fit:cover;border-radius:6px}" +
    ".sp-toast a{color:inherit;text-decoration:none}";

  function toast(n) {
    var el = document.createElement("div");
    el.className = "sp-toast sp-" + n.kind;
    el.setAttribute("data-id", n.id);
    if (n.product && n.product.image) {
      var img = document.createElement("img");
      img.src = n.product.image;
      img.alt = "";
      el.appendChild(img);
    }
    var text = document.createElement(n.product && n.product.url ? "a" : "span");
    if (n.product && n.product.url) text.href = n.product.url;
    text.textContent = n.message;
    el.appendChild(text);
    root.appendChild(el);
    setTimeout(function () { el.remove(); }, SHOW_MS);
  }

  function start() {
    document.head.appendChild(style);
    document.body.appendChild(root);
    var source = new EventSource(endpoint + "/sse/" + encodeURIComponent(shop));
    source.addEventListener("notification", function (e) {
      try { toast(JSON.parse(e.data)); } catch (_) { /* a malformed event is skipped */ }
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
