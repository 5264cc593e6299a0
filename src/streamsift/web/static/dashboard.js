// streamsift live dashboard. Uses api(), safeLink() and renderText() from app.js.
// Tweet text and authors are untrusted: set with textContent only; links are http(s) elements.
// Charts are Chart.js (vendored, static/vendor/); Chart.getChart(canvas).data holds what they show.
"use strict";

const REFRESH_MS = 5000;
const COLORS = { classified: "#8a94a8", ai: "#2f5bea", share: "#d9822b", bar: "#2f5bea" };
const STATUS_COLORS = {
  done: "#1f9d55", dry_run: "#8a94a8", failed: "#b3261e", skipped: "#c9cfdc", pending: "#d9822b", in_flight: "#6f42c1",
};

function td(text, cls) {
  const el = document.createElement("td");
  el.textContent = text === null || text === undefined ? "" : String(text);
  if (cls) el.className = cls;
  return el;
}

function fillRows(tbody, rows) {
  tbody.replaceChildren(...rows.map((cells) => {
    const tr = document.createElement("tr");
    tr.append(...cells.map((c) => (c instanceof Node ? c : td(c))));
    return tr;
  }));
}

function minuteLabel(iso) {
  const d = new Date(iso);
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function makeChart(id, type, options) {
  const canvas = document.getElementById(id);
  return new Chart(canvas, {
    type,
    data: { labels: [], datasets: [] },
    options: Object.assign({ animation: false, responsive: true, maintainAspectRatio: false }, options || {}),
  });
}

function setData(chart, labels, datasets) {
  chart.data.labels = labels;
  chart.data.datasets = datasets;
  chart.update();
}

function setupDashboard(root) {
  const $ = (id) => document.getElementById(id);
  const charts = {
    series: makeChart("chart-series", "line", { scales: { y: { beginAtZero: true } } }),
    share: makeChart("chart-share", "line", { scales: { y: { beginAtZero: true, max: 1 } } }),
    hist: makeChart("chart-hist", "bar", { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } }),
    retweets: makeChart("chart-retweets", "bar", { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } }),
    domains: makeChart("chart-domains", "bar", { indexAxis: "y", plugins: { legend: { display: false } } }),
    hashtags: makeChart("chart-hashtags", "bar", { indexAxis: "y", plugins: { legend: { display: false } } }),
  };
  window.streamsiftCharts = charts; // for people (and tests) who want to read what is drawn
  const feed = { cursor: null, stack: [], filter: new URLSearchParams(), seq: 0 };

  function filterParams() {
    const form = $("feed-filter");
    const p = new URLSearchParams();
    if (form.links_only.checked) p.set("links_only", "true");
    if (form.p_min.value !== "" && form.p_min.value !== "0") p.set("p_min", form.p_min.value);
    if (form.p_max.value !== "" && form.p_max.value !== "1") p.set("p_max", form.p_max.value);
    if (form.q.value.trim()) p.set("q", form.q.value.trim());
    for (const k of ["since", "until"]) {
      if (form[k].value) p.set(k, new Date(form[k].value).toISOString());
    }
    return p;
  }

  function feedRow(it) {
    const text = td("", "text");
    const span = document.createElement("div");
    renderText(span, it.text);
    text.append(span);
    if (it.links.length) {
      const links = document.createElement("div");
      links.className = "links";
      for (const u of it.links) links.append(safeLink(u, u));
      text.append(links);
    }
    return [
      td(new Date(it.predicted_at).toLocaleString(), "when"),
      td(it.author ? "@" + it.author : ""),
      text,
      td(it.probability.toFixed(3)),
      td("v" + it.model_version),
      td(it.retweet_status || "–"),
    ];
  }

  async function loadFeed() {
    const p = new URLSearchParams(feed.filter);
    if (feed.cursor) p.set("cursor", feed.cursor);
    p.set("limit", "25");
    const seq = ++feed.seq;
    const page = await api("GET", "/api/dashboard/feed?" + p.toString());
    if (seq !== feed.seq) return; // a newer request (another filter, another page) has been sent since
    fillRows($("feed-rows"), page.items.map(feedRow));
    $("feed-empty").hidden = page.items.length > 0;
    $("feed-older").disabled = !page.next;
    $("feed-older").dataset.next = page.next || "";
    $("feed-newest").disabled = !feed.cursor;
    root.dataset.feedCount = String(page.items.length);
  }

  async function loadCharts() {
    const [series, hist, domains, hashtags, retweets] = await Promise.all([
      api("GET", "/api/dashboard/series?minutes=60"),
      api("GET", "/api/dashboard/histogram?minutes=60"),
      api("GET", "/api/dashboard/terms?kind=domain&limit=10"),
      api("GET", "/api/dashboard/terms?kind=hashtag&limit=10"),
      api("GET", "/api/dashboard/retweets"),
    ]);
    const labels = series.points.map((p) => minuteLabel(p.minute));
    setData(charts.series, labels, [
      { label: "classified", data: series.points.map((p) => p.classified), borderColor: COLORS.classified, backgroundColor: COLORS.classified },
      { label: "AI tweets", data: series.points.map((p) => p.ai), borderColor: COLORS.ai, backgroundColor: COLORS.ai },
    ]);
    setData(charts.share, labels, [
      { label: "AI share", data: series.points.map((p) => p.ai_share), borderColor: COLORS.share, backgroundColor: COLORS.share },
    ]);
    const edges = hist.edges;
    setData(charts.hist, hist.counts.map((_, i) => `${edges[i].toFixed(1)}–${edges[i + 1].toFixed(1)}`), [
      { label: "tweets", data: hist.counts, backgroundColor: hist.counts.map((_, i) => (edges[i] >= 0.5 ? COLORS.ai : COLORS.classified)) },
    ]);
    const statuses = Object.keys(retweets.by_status);
    setData(charts.retweets, statuses, [
      { label: "actions", data: statuses.map((s) => retweets.by_status[s]), backgroundColor: statuses.map((s) => STATUS_COLORS[s] || COLORS.bar) },
    ]);
    setData(charts.domains, domains.terms.map((t) => t.term), [{ label: "AI tweets", data: domains.terms.map((t) => t.count), backgroundColor: COLORS.bar }]);
    setData(charts.hashtags, hashtags.terms.map((t) => "#" + t.term), [{ label: "AI tweets", data: hashtags.terms.map((t) => t.count), backgroundColor: COLORS.bar }]);
    $("stat-ai").textContent = series.points.reduce((n, p) => n + p.ai, 0).toLocaleString();
  }

  async function loadHealth() {
    const h = await api("GET", "/api/dashboard/health");
    const lagRows = h.kafka_lag.map((c) => (c.error ? [c.consumer, "error", c.error] : [c.consumer, c.kind, c.lag.toLocaleString()]));
    fillRows($("health-lag"), lagRows.length ? lagRows : [["no consumer has read tweets.raw yet", "", ""]]);
    $("stat-lag").textContent = h.kafka_lag.filter((c) => !c.error).reduce((n, c) => n + c.lag, 0).toLocaleString();
    const src = h.throughput.sources;
    fillRows($("health-throughput"), src.map((s) => [s.source, s.classified.toLocaleString(), s.per_second, s.ai, s.dead]));
    $("stat-rate").textContent = src.reduce((n, s) => n + s.per_second, 0).toLocaleString();
    const prod = h.model.production;
    $("stat-model").textContent = prod ? `v${prod.version}` : "none";
    fillRows($("health-models"), h.model.versions.map((v) => {
      const f1 = (((v.metrics || {}).neural || {}).binary_f1 ?? ((v.metrics || {}).neural || {}).macro_f1);
      return [`v${v.version}`, v.stage, f1 === undefined || f1 === null ? "–" : Number(f1).toFixed(3), v.promoted_at ? new Date(v.promoted_at).toLocaleString() : "–"];
    }));
    const s = h.server;
    fillRows($("health-server"), s.up
      ? Object.entries(s).filter(([k]) => k !== "up").map(([k, v]) => [k, typeof v === "number" ? v.toLocaleString() : v])
      : [["model server", `not answering at ${s.url}`]]);
    fillRows($("health-dead"), h.dead_letters.map((d) => [d.stage, d.reason, d.count]));
    fillRows($("health-tables"), h.tables.map((t) => [t.table, t.rows.toLocaleString()]));
  }

  async function refresh() {
    try {
      await Promise.all([loadCharts(), loadHealth(), feed.cursor ? Promise.resolve() : loadFeed()]);
      $("dash-error").textContent = "";
      $("updated").textContent = "Last update " + new Date().toLocaleTimeString() + ".";
      root.dataset.refreshed = String(Number(root.dataset.refreshed || 0) + 1);
    } catch (e) {
      $("dash-error").textContent = e.message;
    }
  }

  $("feed-filter").addEventListener("submit", (ev) => {
    ev.preventDefault();
    feed.filter = filterParams();
    feed.cursor = null;
    feed.stack = [];
    $("feed-csv").href = "/api/dashboard/feed.csv?" + feed.filter.toString();
    loadFeed().catch((e) => { $("dash-error").textContent = e.message; });
  });
  $("feed-older").addEventListener("click", () => {
    const next = $("feed-older").dataset.next;
    if (!next) return;
    feed.stack.push(feed.cursor);
    feed.cursor = next;
    loadFeed().catch((e) => { $("dash-error").textContent = e.message; });
  });
  $("feed-newest").addEventListener("click", () => {
    feed.cursor = null;
    feed.stack = [];
    loadFeed().catch((e) => { $("dash-error").textContent = e.message; });
  });
  refresh();
  setInterval(refresh, REFRESH_MS);
}

document.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("dashboard");
  if (root) setupDashboard(root);
});
