// Keyboard shortcuts for the review lists (Coral-style), the bulk selection, decisions
// without a page reload, self-refreshing counts and the density switch.
// Progressive enhancement only: every action is also a plain form that works without this.
(function () {
  "use strict";

  var cards = [];
  var current = -1;
  var storageKey = "moderator.cursor:" + location.pathname + location.search;
  var FETCH_HEADERS = { "X-Requested-With": "fetch", "Accept": "application/json" };

  function collect() {
    cards = Array.prototype.slice.call(document.querySelectorAll("article.card"));
  }

  function select(index, scroll) {
    if (!cards.length) { current = -1; return; }
    index = Math.max(0, Math.min(cards.length - 1, index));
    if (current >= 0 && cards[current]) { cards[current].classList.remove("current"); }
    current = index;
    cards[current].classList.add("current");
    if (scroll) { cards[current].scrollIntoView({ block: "nearest" }); }
    try { sessionStorage.setItem(storageKey, String(current)); } catch (e) { /* private mode */ }
  }

  function currentCard() { return current >= 0 ? cards[current] : null; }

  function decide(value) {
    var card = currentCard();
    if (!card) { return; }
    var form = card.querySelector("form.decide");
    if (!form) { return; }
    var button = form.querySelector('button[name="decision"][value="' + value + '"]');
    if (!button) { return; }
    if (form.requestSubmit) { form.requestSubmit(button); } else { button.click(); }
  }

  function toggleHelp() {
    var help = document.getElementById("help");
    if (!help) { return; }
    if (help.open) { help.close(); } else { help.showModal(); }
  }

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function updatePicked() {
    var picked = document.getElementById("picked");
    if (!picked) { return; }
    var n = document.querySelectorAll("input.pick:checked").length;
    picked.textContent = n + " selected";
  }

  // -- status messages and counts ------------------------------------------------------------

  function announce(message, kind) {
    var box = document.getElementById("live");
    if (!box) {
      box = document.createElement("p");
      box.id = "live";
      box.setAttribute("role", "status");
      var main = document.querySelector("main");
      if (!main) { return; }
      main.insertBefore(box, main.firstChild);
    }
    box.className = "flash flash-" + kind;
    box.textContent = message;
  }

  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

  function showNav(nav) {
    if (!nav) { return; }
    document.querySelectorAll(".nav-count[data-count]").forEach(function (badge) {
      var n = nav[badge.getAttribute("data-count")];
      if (typeof n === "number") { badge.textContent = String(n); }
    });
  }

  function showTotal(total) {
    var count = document.getElementById("count");
    if (!count || !count.hasAttribute("data-total")) { return; }
    var view = count.getAttribute("data-view");
    count.setAttribute("data-total", String(total));
    var text = total.toLocaleString("en-US") + " ";
    if (view === "queue") {
      text += (total === 1 ? "held comment" : "held comments") + " awaiting review";
    } else if (view === "reported") {
      text += (total === 1 ? "reported comment" : "reported comments") + " awaiting review";
    } else {
      text += total === 1 ? "comment" : "comments";
    }
    count.textContent = text;
  }

  // -- decisions without a page reload ---------------------------------------------------------

  function removeCard(card) {
    var index = cards.indexOf(card);
    card.remove();
    collect();
    if (!cards.length) {
      current = -1;
      var emptied = document.getElementById("emptied");
      if (emptied) { emptied.hidden = false; }
      return;
    }
    select(index >= 0 ? index : current, false);
  }

  function replaceCard(card, html) {
    var holder = document.createElement("template");
    holder.innerHTML = html.trim();
    var fresh = holder.content.firstElementChild;
    if (!fresh) { return; }
    card.replaceWith(fresh);
    collect();
    bindCard(fresh);
    select(cards.indexOf(fresh), false);
  }

  function nativeSubmit(form, submitter) {
    form.setAttribute("data-native", "1");
    if (form.requestSubmit) { form.requestSubmit(submitter || undefined); } else { form.submit(); }
  }

  function submitDecision(form, submitter) {
    var card = form.closest("article.card");
    var data = new FormData(form);
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    form.classList.add("busy");
    form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    fetch(form.action, { method: "POST", body: data, headers: FETCH_HEADERS, credentials: "same-origin" })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (type.indexOf("application/json") !== 0) { throw new Error("not json"); }
        return response.json();
      })
      .then(function (body) {
        showNav(body.nav);
        var count = document.getElementById("count");
        if (body.ok) {
          announce(body.message, "success");
          var keep = card && card.parentNode && !leavesList(body.status);
          if (keep) {
            // A decision that leaves the comment in this list (e.g. All): show it decided.
            nativeRefresh(card);
          } else if (card) {
            removeCard(card);
            if (count && count.hasAttribute("data-total")) {
              showTotal(Math.max(0, parseInt(count.getAttribute("data-total"), 10) - 1));
            }
          }
        } else {
          announce(body.message, "error");
          if (card && body.card) { replaceCard(card, body.card); }
        }
      })
      .catch(function () {
        // Anything unexpected (a 400 page, an expired login): let the browser do it the old way.
        form.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
        form.classList.remove("busy");
        nativeSubmit(form, submitter);
      });
  }

  function leavesList(status) {
    // Whether a decided comment leaves the list on screen: the queues always, the
    // approved and rejected lists when its status changed; other pages keep it.
    var count = document.getElementById("count");
    var view = count ? count.getAttribute("data-view") : null;
    if (view === "queue" || view === "reported") { return true; }
    if (view === "approved") { return status !== "allow"; }
    if (view === "rejected") { return status !== "reject"; }
    return false;
  }

  function nativeRefresh(card) {
    var form = card.querySelector("form.decide");
    if (form) { form.remove(); }
    var pick = card.querySelector("input.pick");
    if (pick) { pick.remove(); }
    card.classList.add("decided-now");
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form.decide") || form.classList.contains("appeal-form")) { return; }
    if (form.getAttribute("data-native") === "1") { form.removeAttribute("data-native"); return; }
    if (!window.fetch || !window.FormData) { return; }
    event.preventDefault();
    submitDecision(form, event.submitter || null);
  });

  // -- the density switch ---------------------------------------------------------------------

  function bindDensity() {
    var form = document.getElementById("density");
    if (!form || !window.fetch) { return; }
    form.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (!button) { return; }
      event.preventDefault();
      var data = new FormData(form);
      data.append("density", button.value);
      fetch(form.action, { method: "POST", body: data, headers: FETCH_HEADERS, credentials: "same-origin", redirect: "manual" })
        .catch(function () { /* the class below still applies for this page */ });
      document.body.classList.remove("density-comfortable", "density-compact");
      document.body.classList.add("density-" + button.value);
      var other = button.value === "compact" ? "comfortable" : "compact";
      button.value = other;
      button.textContent = other === "compact" ? "Compact view" : "Comfortable view";
    });
  }

  // -- self-refreshing counts -----------------------------------------------------------------

  function refreshCounts() {
    var count = document.getElementById("count");
    var url = count && count.getAttribute("data-refresh");
    if (!url || document.visibilityState !== "visible") { return; }
    fetch(url, { headers: { "X-Requested-With": "fetch", "X-Moderator-Background": "1", "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (!body) { return; }
        showNav(body.nav);
        var shown = parseInt(count.getAttribute("data-total"), 10);
        if (body.total !== shown) {
          showTotal(body.total);
          var fresh = document.getElementById("fresh");
          if (fresh && body.total > shown) { fresh.hidden = false; }
        }
      })
      .catch(function () { /* try again next time */ });
  }

  function bindCard(card) {
    card.addEventListener("click", function () { select(cards.indexOf(card), false); });
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.key === "Escape" && typing(event.target)) { event.target.blur(); return; }
    if (typing(event.target)) { return; }
    var help = document.getElementById("help");
    if (help && help.open && event.key !== "?") { return; }
    var card = currentCard();
    switch (event.key) {
      case "j": select(current + 1, true); break;
      case "k": select(current - 1, true); break;
      // Coral's queue keys too: f approves, d rejects.
      case "a": case "f": decide("approve"); break;
      case "r": case "d": decide("reject"); break;
      case "n":
        if (card && card.querySelector("textarea[name=note]")) {
          card.querySelector("textarea[name=note]").focus();
        } else { return; }
        break;
      case "x":
        if (card && card.querySelector("input.pick")) {
          var box = card.querySelector("input.pick");
          box.checked = !box.checked;
          updatePicked();
        } else { return; }
        break;
      case "e":
        if (card && card.querySelector("details.whole")) {
          var whole = card.querySelector("details.whole");
          whole.open = !whole.open;
        } else { return; }
        break;
      case "o":
        if (card && card.querySelector("a.open")) { card.querySelector("a.open").click(); } else { return; }
        break;
      case "?": toggleHelp(); break;
      default: return;
    }
    event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    collect();
    cards.forEach(bindCard);
    var saved = 0;
    try { saved = parseInt(sessionStorage.getItem(storageKey) || "0", 10) || 0; } catch (e) { saved = 0; }
    if (cards.length) { select(saved, false); }

    var all = document.getElementById("pick-all");
    if (all) {
      all.addEventListener("change", function () {
        document.querySelectorAll("input.pick").forEach(function (box) { box.checked = all.checked; });
        updatePicked();
      });
    }
    document.addEventListener("change", function (event) {
      if (event.target.matches && event.target.matches("input.pick")) { updatePicked(); }
    });
    var open = document.getElementById("help-open");
    if (open) { open.addEventListener("click", toggleHelp); }
    bindDensity();
    var every = parseInt(document.body.getAttribute("data-refresh-ms") || "0", 10);
    if (every > 0 && document.getElementById("count")) {
      window.setInterval(refreshCounts, every);
      document.addEventListener("visibilitychange", refreshCounts);
    }
  });
})();
