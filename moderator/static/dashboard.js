// Keyboard shortcuts for the review lists (Coral-style) and the bulk selection.
// Progressive enhancement only: every action is also a plain form button.
(function () {
  "use strict";

  var cards = [];
  var current = -1;
  var storageKey = "moderator.cursor:" + location.pathname + location.search;

  function select(index, scroll) {
    if (!cards.length) { return; }
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
      case "o":
        if (card && card.querySelector("a.open")) { card.querySelector("a.open").click(); } else { return; }
        break;
      case "?": toggleHelp(); break;
      default: return;
    }
    event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    cards = Array.prototype.slice.call(document.querySelectorAll("article.card"));
    cards.forEach(function (card, index) {
      card.addEventListener("click", function () { select(index, false); });
    });
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
    document.querySelectorAll("input.pick").forEach(function (box) {
      box.addEventListener("change", updatePicked);
    });
    var open = document.getElementById("help-open");
    if (open) { open.addEventListener("click", toggleHelp); }
  });
})();
