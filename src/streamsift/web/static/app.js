// streamsift annotation UI. Tweet text is untrusted: it is only ever set with textContent,
// and links are built as elements whose href must be http(s). No inline script anywhere (CSP).
"use strict";

const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

async function api(method, url, body) {
  const opts = { method, headers: { "X-CSRF-Token": csrf() }, credentials: "same-origin" };
  if (body instanceof FormData) opts.body = body;
  else if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(url, opts);
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error(data.detail || res.statusText);
    err.problems = data.problems || [];
    throw err;
  }
  return data;
}

const URL_RE = /(https?:\/\/[^\s<>"]+)/g;

function safeLink(href, text) {
  let url;
  try { url = new URL(href); } catch (e) { return document.createTextNode(text); }
  if (url.protocol !== "http:" && url.protocol !== "https:") return document.createTextNode(text);
  const a = document.createElement("a");
  a.href = url.href;
  a.textContent = text;
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  return a;
}

function renderText(el, text) {
  el.replaceChildren();
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    el.append(document.createTextNode(text.slice(last, m.index)));
    el.append(safeLink(m[0], m[0]));
    last = m.index + m[0].length;
  }
  el.append(document.createTextNode(text.slice(last)));
}

function setupLabeler(root) {
  const table = root.dataset.table;
  const classes = JSON.parse(root.dataset.classes);
  const $ = (id) => document.getElementById(id);
  const state = { item: null, queue: root.dataset.queue, q: "", busy: false };

  function show(item) {
    state.item = item;
    $("empty").hidden = !!item;
    root.querySelector(".tweet").hidden = !item;
    if (!item) return;
    renderText($("text"), item.text);
    const urls = $("urls");
    urls.replaceChildren();
    for (const u of item.urls || []) {
      const li = document.createElement("li");
      li.append(safeLink(u, u));
      urls.append(li);
    }
    $("weak").textContent = item.weak_label_name ?? "none";
    $("prob").textContent = item.weak_prob == null ? "" : `(${item.weak_prob.toFixed(3)})`;
    $("golden").textContent = item.golden_label_name ?? "–";
    $("model-box").hidden = item.model_label_name == null;
    $("model").textContent = item.model_label_name ?? "";
    $("model-prob").textContent = item.model_prob == null ? "" : `(${item.model_prob.toFixed(3)}, v${item.model_version})`;
    $("tid").textContent = item.tweet_id;
    const lfs = $("lfs");
    lfs.replaceChildren();
    for (const f of item.lfs_fired || []) {
      const chip = document.createElement("span");
      chip.className = "chip";
      chip.textContent = `${f.lf} → ${f.vote}`;
      lfs.append(chip);
    }
  }

  function showProgress(p) {
    if (!p) return;
    const parts = classes.map((c) => `${c}: ${p.per_class[c]}`).join(" · ");
    $("progress").textContent = `${p.labelled} / ${p.total} golden (${parts})`;
  }

  function status(msg, isError) {
    $("status").textContent = msg;
    $("status").classList.toggle("error", !!isError);
  }

  async function next() {
    const params = new URLSearchParams({ queue: state.queue });
    if (state.queue === "search") params.set("q", state.q);
    const data = await api("GET", `/api/t/${encodeURIComponent(table)}/next?${params}`);
    show(data.item);
    showProgress(data.progress);
  }

  // Label keys pressed while a request is in flight are dropped: nobody should label an item
  // they have not seen yet. Navigation (queue, search, first load) waits its turn instead.
  let chain = Promise.resolve();
  async function act(fn, msg) {
    if (state.busy) return;
    state.busy = true;
    const run = chain.then(fn);
    chain = run.catch(() => {});
    try {
      await run;
      if (msg) status(msg);
    } catch (e) {
      status(e.message, true);
    } finally {
      state.busy = false;
    }
  }
  function navigate(fn) {
    const run = chain.then(fn);
    chain = run.catch(() => {});
    run.catch((e) => status(e.message, true));
    return run;
  }

  const label = (i) => act(async () => {
    if (!state.item) return;
    const action = state.queue === "review" ? "review" : "label";
    await api("POST", `/api/t/${encodeURIComponent(table)}/label`, { tweet_id: state.item.tweet_id, label: i, action });
    const id = state.item.tweet_id;
    await next();
    status(`saved ${classes[i]} for ${id}`);
  });
  const accept = () => { if (state.item && state.item.weak_label != null) label(state.item.weak_label); };
  const skip = () => act(async () => {
    if (!state.item) return;
    const id = state.item.tweet_id;
    await api("POST", `/api/t/${encodeURIComponent(table)}/skip`, { tweet_id: id });
    await next();
    status(`skipped ${id}`);
  });
  const undo = () => act(async () => {
    const data = await api("POST", `/api/t/${encodeURIComponent(table)}/undo`);
    if (data.item) { show(data.item); status(`undone: ${data.undone}`); } else status("nothing to undo");
  });

  document.addEventListener("keydown", (ev) => {
    if (ev.target.matches("input, select, textarea")) {
      if (ev.key === "Escape") ev.target.blur();
      return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const n = Number.parseInt(ev.key, 10);
    if (!Number.isNaN(n) && n >= 1 && n <= classes.length) { ev.preventDefault(); label(n - 1); }
    else if (ev.key === "Enter") { ev.preventDefault(); accept(); }
    else if (ev.key === "s") { ev.preventDefault(); skip(); }
    else if (ev.key === "u" || ev.key === "Backspace") { ev.preventDefault(); undo(); }
    else if (ev.key === "/") { ev.preventDefault(); $("search").focus(); }
  });
  $("keys").addEventListener("click", (ev) => {
    const b = ev.target.closest("button");
    if (!b) return;
    if (b.dataset.label !== undefined) label(Number(b.dataset.label));
    else if (b.dataset.action === "accept") accept();
    else if (b.dataset.action === "skip") skip();
    else if (b.dataset.action === "undo") undo();
  });
  $("queue").addEventListener("change", () => { state.queue = $("queue").value; navigate(next); });
  $("search").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") {
      ev.preventDefault();
      state.q = $("search").value;
      state.queue = "search";
      $("queue").value = "search";
      $("search").blur();
      navigate(next);
    }
  });
  $("import").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const out = $("import-result");
    try {
      const data = await api("POST", `/api/t/${encodeURIComponent(table)}/import`, new FormData(ev.target));
      out.textContent = `imported ${data.applied} labels`;
      out.classList.remove("error");
      await next();
    } catch (e) {
      out.textContent = [e.message, ...e.problems.slice(0, 20)].join("\n");
      out.classList.add("error");
    }
  });
  navigate(next);
}

function setupAdjudication(root) {
  const table = root.dataset.table;
  root.addEventListener("click", async (ev) => {
    const b = ev.target.closest("button[data-adjudicate]");
    if (!b) return;
    const card = b.closest("[data-tweet]");
    try {
      await api("POST", `/api/t/${encodeURIComponent(table)}/label`,
        { tweet_id: card.dataset.tweet, label: Number(b.dataset.adjudicate), action: "adjudicate" });
      card.classList.add("done");
      b.textContent += " ✓";
    } catch (e) {
      b.textContent = e.message;
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const labeler = document.getElementById("labeler");
  if (labeler) setupLabeler(labeler);
  const adj = document.getElementById("adjudicate");
  if (adj) setupAdjudication(adj);
});
