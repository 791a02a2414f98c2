/* StorePulse merchant app: what the server-rendered pages need JavaScript for. No dependencies.
   - a fresh session token for every request (App Bridge's shopify.idToken() inside the Shopify
     admin; the page's own token on the dev stack, which has no admin around it);
   - table rows that open their customer, tier rows added and removed, downloads;
   - the live notification feed (the push server's SSE stream, as the widget reads it);
   - the backfill's button and progress, and the sync's "Sync now". */
(function () {
  "use strict";
  var pageToken = document.body.getAttribute("data-id-token") || "";

  function token() {
    if (window.shopify && typeof shopify.idToken === "function") return shopify.idToken();
    return Promise.resolve(pageToken);
  }

  function withToken(href, value) {
    var url = new URL(href, location.href);
    if (url.searchParams.has("id_token") || value) url.searchParams.set("id_token", value);
    return url.pathname + url.search;
  }

  function api(method, path) {
    return token().then(function (t) {
      return fetch(path, { method: method, headers: { Authorization: "Bearer " + t } });
    });
  }

  // Forms and downloads carry the token in their URL: refresh it as they leave.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.hasAttribute("data-fresh-token") || form.__fresh) return;
    e.preventDefault();
    var submitter = e.submitter;
    token().then(function (t) {
      form.setAttribute("action", withToken(form.getAttribute("action"), t));
      var hidden = form.querySelector("input[name=id_token]");
      if (hidden) hidden.value = t;
      // In a task of its own: while this submit event is being dispatched, a new one is ignored.
      setTimeout(function () {
        form.__fresh = true;
        form.requestSubmit(submitter);
        form.__fresh = false;
      }, 0);
    });
  });
  document.addEventListener("click", function (e) {
    var link = e.target.closest && e.target.closest("a[data-download]");
    if (!link) return;
    e.preventDefault();
    token().then(function (t) { location.href = withToken(link.getAttribute("href"), t); });
  });

  // A customer row opens the customer (its first cell holds the real, keyboard-reachable link).
  document.addEventListener("click", function (e) {
    var row = e.target.closest && e.target.closest("tr[data-href]");
    if (!row || e.target.closest("a, button, input, select, textarea")) return;
    if (window.getSelection && String(window.getSelection())) return; // selecting text, not opening
    location.href = row.getAttribute("data-href");
  });

  // VIP tiers: the blank row the server adds is the model of every added one.
  var tierList = document.querySelector("[data-tier-list]");
  if (tierList) {
    var model = tierList.querySelector("[data-tier-template]");
    var next = +tierList.getAttribute("data-next-row");
    model.remove();
    var renumber = function (row, n) {
      row.querySelectorAll("[id], [for], [name], [aria-describedby]").forEach(function (el) {
        ["id", "for", "name", "aria-describedby"].forEach(function (a) {
          var v = el.getAttribute(a);
          if (v) el.setAttribute(a, v.replace(/tiers([.-])\d+/g, "tiers$1" + n));
        });
      });
      row.querySelector("legend").textContent = "Tier " + (n + 1);
      row.querySelector("[data-remove-tier]").setAttribute("aria-label", "Remove tier " + (n + 1));
    };
    document.querySelector("[data-add-tier]").addEventListener("click", function () {
      var row = model.cloneNode(true);
      row.removeAttribute("data-tier-template");
      renumber(row, next++);
      tierList.appendChild(row);
      row.querySelector("input").focus();
    });
    tierList.addEventListener("click", function (e) {
      var remove = e.target.closest("[data-remove-tier]");
      if (!remove) return;
      var row = remove.closest("[data-tier-row]");
      var focusTo = row.previousElementSibling || row.nextElementSibling;
      row.remove();
      (focusTo ? focusTo.querySelector("input") : document.querySelector("[data-add-tier]")).focus();
    });
  }

  // The live feed: the shop's notifications as the storefront shows them.
  var feed = document.querySelector("[data-feed]");
  if (feed && window.EventSource) {
    var status = document.querySelector("[data-feed-status]");
    var empty = document.querySelector("[data-feed-empty]");
    var icons = document.getElementById("feed-icons").content;
    var setStatus = function (live) {
      status.innerHTML = '<span class="live-dot' + (live ? " on" : "") + '" aria-hidden="true"></span>';
      status.appendChild(document.createTextNode(live ? "Live" : "Reconnecting…"));
    };
    var add = function (n) {
      if (feed.querySelector('[data-id="' + CSS.escape(n.id) + '"]')) return;
      var li = document.createElement("li");
      li.className = "new";
      li.setAttribute("data-id", n.id);
      var icon = (icons.querySelector('[data-kind="' + n.kind + '"]') || icons.firstElementChild).cloneNode(true);
      var body = document.createElement("div");
      var message = document.createElement("p");
      message.textContent = n.message;
      var meta = document.createElement("p");
      meta.className = "subdued";
      var time = document.createElement("time");
      time.dateTime = n.occurred_at;
      time.textContent = "just now";
      meta.appendChild(time);
      meta.appendChild(document.createTextNode(" · " + n.kind));
      body.appendChild(message);
      body.appendChild(meta);
      li.appendChild(icon);
      li.appendChild(body);
      feed.insertBefore(li, feed.firstChild);
      while (feed.children.length > 50) feed.removeChild(feed.lastChild);
      empty.hidden = true;
    };
    // "just now" ages: every half minute each item says again how long ago it happened.
    var relative = window.Intl && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat("en", { numeric: "auto" }) : null;
    var age = function () {
      feed.querySelectorAll("time[datetime]").forEach(function (t) {
        var s = (new Date(t.dateTime).getTime() - Date.now()) / 1000;
        if (!relative || !(s > -86400 * 7)) return;
        t.textContent = s > -45 ? "just now" : s > -3600 ? relative.format(Math.round(s / 60), "minute")
          : s > -86400 ? relative.format(Math.round(s / 3600), "hour") : relative.format(Math.round(s / 86400), "day");
      });
    };
    setInterval(age, 30000);
    var source = new EventSource(feed.getAttribute("data-feed"));
    source.onopen = function () { setStatus(true); };
    source.onerror = function () { setStatus(false); }; // EventSource reconnects by itself
    source.addEventListener("notification", function (e) {
      try { add(JSON.parse(e.data)); } catch (_) { /* not a notification */ }
    });
  }

  // The backfill: start it, and follow its progress while it runs.
  var backfill = document.querySelector("[data-backfill]");
  if (backfill) {
    var path = backfill.getAttribute("data-backfill");
    var bar = backfill.querySelector(".progress");
    var text = backfill.querySelector("[data-backfill-text]");
    var button = backfill.querySelector("[data-backfill-start]");
    var poll = function () {
      api("GET", path).then(function (r) { return r.json(); }).then(function (run) {
        if (run.state !== "running") { location.reload(); return; } // the whole page moved on
        if (run.total) {
          var percent = Math.min(100, Math.round((100 * run.done) / run.total));
          bar.setAttribute("aria-valuenow", percent);
          bar.firstElementChild.style.width = percent + "%";
          text.textContent = run.done.toLocaleString() + " of " + run.total.toLocaleString() + " orders imported.";
        }
        setTimeout(poll, 2000);
      });
    };
    if (button) { // only for a role that may start one
      button.addEventListener("click", function () {
        button.disabled = true;
        api("POST", path).then(function () { location.reload(); });
      });
    }
    if (backfill.hasAttribute("data-backfill-running")) setTimeout(poll, 2000);
  }

  // "Sync now": ask for a run (409 while one runs or waits), say what the server answered, and
  // reload once the run has ended so the card shows it.
  var sync = document.querySelector("[data-sync]");
  var syncButton = sync && sync.querySelector("[data-sync-start]");
  if (syncButton) {
    var syncPath = sync.getAttribute("data-sync");
    var syncResult = sync.querySelector("[data-sync-result]");
    var syncPoll = function () {
      api("GET", syncPath).then(function (r) { return r.json(); }).then(function (s) {
        if (s.state === "queued" || s.state === "running") setTimeout(syncPoll, 2000);
        else location.reload();
      });
    };
    syncButton.addEventListener("click", function () {
      syncButton.disabled = true;
      api("POST", syncPath).then(function (r) {
        if (r.status === 202) syncResult.textContent = "Sync started: a worker takes it up within seconds.";
        else if (r.status === 409) syncResult.textContent = "A sync is already running; it will show here when it ends.";
        else syncResult.textContent = "The sync could not be started (HTTP " + r.status + "). Try again.";
        if (r.status === 202 || r.status === 409) setTimeout(syncPoll, 2000);
        else syncButton.disabled = false;
      }).catch(function () {
        syncResult.textContent = "StorePulse could not be reached. Try again.";
        syncButton.disabled = false;
      });
    });
  }
})();
