// The review gallery: filters and search, inline players, approvals, live updates.
// Plain JavaScript, no library. The page works without it (posters and details);
// approvals and live updates need the server (`reelform review --serve`).
"use strict";

(function () {
  const live = document.body.dataset.live === "yes";
  const cardsBox = document.getElementById("cards");
  const search = document.getElementById("search");
  const shownCount = document.getElementById("shown-count");
  const approvedCount = document.getElementById("approved-count");
  const notice = document.getElementById("notice");
  const KEY = "reelform-review-filters:" + location.pathname;

  function allCards() {
    return Array.from(cardsBox.querySelectorAll("article.card"));
  }

  function checkedStatuses() {
    const boxes = document.querySelectorAll("input[name=status]");
    return new Set(Array.from(boxes).filter((b) => b.checked).map((b) => b.value));
  }

  function matches(card, statuses, words) {
    if (!statuses.has(card.dataset.status)) return false;
    const text = card.dataset.search || "";
    return words.every((w) => text.includes(w));
  }

  function applyFilters() {
    const statuses = checkedStatuses();
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    let approved = 0;
    for (const card of allCards()) {
      const visible = matches(card, statuses, words);
      card.hidden = !visible;
      if (visible) shown += 1;
      if (card.dataset.approved === "yes") approved += 1;
    }
    shownCount.textContent = String(shown);
    approvedCount.textContent = String(approved);
    try {
      sessionStorage.setItem(KEY, JSON.stringify({ q: search.value, off: offStatuses() }));
    } catch (e) { /* storage unavailable (file://, private mode): filters just reset */ }
  }

  function offStatuses() {
    return Array.from(document.querySelectorAll("input[name=status]"))
      .filter((b) => !b.checked).map((b) => b.value);
  }

  function restoreFilters() {
    let saved = null;
    try { saved = JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch (e) { saved = null; }
    if (!saved) return;
    search.value = saved.q || "";
    for (const box of document.querySelectorAll("input[name=status]")) {
      box.checked = !(saved.off || []).includes(box.value);
    }
  }

  // An inline player replaces the poster when it is clicked (1,000 <video> elements
  // would each fetch their file's header; a lazy <img> fetches nothing off screen).
  function play(button) {
    const video = document.createElement("video");
    video.controls = true;
    video.playsInline = true;
    video.preload = "auto";
    video.src = button.dataset.src;
    video.addEventListener("error", () => {
      const box = document.createElement("div");
      box.className = "no-media problem";
      box.textContent = "cannot play this file";
      video.replaceWith(box);
    });
    button.replaceWith(video);
    const started = video.play();
    if (started && started.catch) started.catch(() => { /* the controls are there */ });
  }

  function replaceCard(id, html) {
    const old = document.getElementById(id);
    if (!old) return false;
    const holder = document.createElement("div");
    holder.innerHTML = html;  // the server's own escaped fragment
    const fresh = holder.firstElementChild;
    if (!fresh) return false;
    old.replaceWith(fresh);
    fresh.classList.add("updated");
    return true;
  }

  function say(text) {
    notice.textContent = text;
  }

  async function send(approve, reject) {
    say("");
    let answer;
    try {
      answer = await fetch("/api/approvals", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ approve: approve, reject: reject }),
      });
    } catch (e) {
      say("The gallery's server does not answer (is `reelform review --serve` still running?)");
      return;
    }
    const body = await answer.json().catch(() => ({}));
    for (const [id, html] of Object.entries(body.cards || {})) replaceCard(id, html);
    if (!answer.ok) say(body.error || "the approval was not recorded (" + answer.status + ")");
    applyFilters();
  }

  function approvalOf(card) {
    return { id: card.id, identity: card.dataset.identity };
  }

  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const button = target.closest("button");
    if (!button) return;
    if (button.classList.contains("play")) {
      play(button);
      return;
    }
    if (!live) return;
    const card = button.closest("article.card");
    if (button.classList.contains("approve") && card) send([approvalOf(card)], []);
    else if (button.classList.contains("reject") && card) send([], [card.id]);
    else if (button.id === "approve-shown") {
      send(allCards().filter((c) => !c.hidden).map(approvalOf), []);
    } else if (button.id === "reject-shown") {
      send([], allCards().filter((c) => !c.hidden).map((c) => c.id));
    }
  });

  search.addEventListener("input", applyFilters);
  search.form.addEventListener("submit", (event) => event.preventDefault());
  for (const box of document.querySelectorAll("input[name=status]")) {
    box.addEventListener("change", applyFilters);
  }

  function listen() {
    const events = new EventSource("/events");
    events.addEventListener("cards", (event) => {
      const data = JSON.parse(event.data);
      let missing = false;
      for (const [id, html] of Object.entries(data.cards || {})) {
        if (!replaceCard(id, html)) missing = true;
      }
      if (missing || data.layout) location.reload();  // cards came or went
      else applyFilters();
      say("");
    });
    events.addEventListener("layout", () => location.reload());
    events.addEventListener("notice", (event) => say(JSON.parse(event.data).text || ""));
  }

  restoreFilters();
  applyFilters();
  if (live) listen();
  document.body.dataset.ready = "yes";
})();
