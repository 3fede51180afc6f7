// The search page: filter, time range, histogram (uPlot), results, facets and live tail.
// Everything from the server is inserted with textContent or as attribute values, never as
// HTML. The URL holds the filter and the range (filter, start, end), so a search can be
// bookmarked and shared.
"use strict";

(function () {
  const { api, el } = window.millpond;
  const SEVERITIES = ["FINEST", "FINER", "FINE", "INFO", "WARN", "ERROR", "FATAL"];
  const MAX_ROWS = 1000;           // rows kept in the page (live tail drops the oldest)
  const BUCKETS = 60;
  const FIXED_FACETS = ["serverHost", "logfile", "parser", "severity"];
  const MAX_EXTRA_FACETS = 4;

  const form = document.getElementById("search-form");
  const filterInput = document.getElementById("filter");
  const startInput = document.getElementById("start");
  const endInput = document.getElementById("end");
  const errorBox = document.getElementById("filter-error");
  const resultsList = document.getElementById("results");
  const statusBox = document.getElementById("status");
  const olderButton = document.getElementById("older");
  const facetsBox = document.getElementById("facets");
  const histogramBox = document.getElementById("histogram");
  const tailToggle = document.getElementById("tail-toggle");
  const tailPause = document.getElementById("tail-pause");
  const presetButtons = Array.from(document.querySelectorAll(".preset"));
  const defaultStart = form.dataset.defaultStart;

  let state = readUrl();       // the search the URL names
  let last = null;             // the last search that succeeded: {filter, or, range}
  let continuation = null;     // continuationToken for older results
  let generation = 0;          // responses of a superseded search are dropped
  let plot = null;
  let tail = null;             // {source, paused, lastId, received}
  let summary = "";            // the status line of the last search

  // -- the URL and the form -------------------------------------------------------------------

  function readUrl() {
    const p = new URLSearchParams(location.search);
    return { filter: p.get("filter") || "", start: p.get("start") || "", end: p.get("end") || "" };
  }

  function urlFor(s) {
    const p = new URLSearchParams();
    for (const key of ["filter", "start", "end"]) {
      if (s[key]) p.set(key, s[key]);
    }
    const query = p.toString();
    return "/" + (query ? "?" + query : "");
  }

  function fromInputs() {
    return {
      filter: filterInput.value.trim(),
      start: startInput.value.trim(),
      end: endInput.value.trim(),
    };
  }

  function setInputs(s) {
    filterInput.value = s.filter;
    startInput.value = s.start;
    endInput.value = s.end;
    markPreset();
  }

  function markPreset() {
    const start = startInput.value.trim() || defaultStart;
    const open = !endInput.value.trim();
    for (const button of presetButtons) {
      button.setAttribute("aria-pressed", String(open && button.dataset.start === start));
    }
  }

  function navigate(s) {
    state = s;
    setInputs(s);
    const url = urlFor(s);
    if (url !== location.pathname + location.search) {
      history.pushState(null, "", url);
    }
    runSearch();
  }

  function params(extra) {
    const p = new URLSearchParams();
    if (state.filter) p.set("filter", state.filter);
    if (state.start) p.set("start", state.start);
    if (state.end) p.set("end", state.end);
    for (const [key, value] of Object.entries(extra || {})) p.set(key, value);
    return p.toString();
  }

  // -- times --------------------------------------------------------------------------------

  function nsToMs(ns) {
    return Number(BigInt(ns) / 1000000n);
  }

  function pad(n, width) {
    return String(n).padStart(width || 2, "0");
  }

  function localTime(ns) {
    const d = new Date(nsToMs(ns));
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + "." +
      pad(d.getMilliseconds(), 3);
  }

  function utcTime(ns) {
    const digits = String(BigInt(ns) % 1000000000n).padStart(9, "0");
    return new Date(nsToMs(ns)).toISOString().slice(0, 19) + "." + digits + "Z";
  }

  // -- the filter's error -----------------------------------------------------------------------

  function clearError() {
    errorBox.hidden = true;
    filterInput.removeAttribute("aria-invalid");
  }

  function showError(message) {
    const caret = errorBox.querySelector(".caret");
    const column = /^filter: .*?column (\d+)/.exec(message || "");
    if (column && state.filter) {
      const at = Math.max(1, parseInt(column[1], 10));
      caret.textContent = state.filter + "\n" + " ".repeat(at - 1) + "^";
      caret.hidden = false;
      filterInput.setAttribute("aria-invalid", "true");
    } else {
      caret.textContent = "";
      caret.hidden = true;
    }
    errorBox.querySelector(".message").textContent = message || "the search failed";
    errorBox.hidden = false;
  }

  // -- rows --------------------------------------------------------------------------------

  function rowElement(match, fresh) {
    const item = el("li", fresh ? "event fresh" : "event");
    const line = el("div", "line");
    line.tabIndex = 0;
    line.setAttribute("role", "button");
    line.setAttribute("aria-expanded", "false");
    const time = el("span", "time", localTime(match.ts));
    time.title = utcTime(match.ts);
    const severity = el("span", "sev sev-" + match.severity,
      SEVERITIES[match.severity] || String(match.severity));
    const host = el("span", "host", match.host || "—");
    host.title = match.host || "";
    const logfile = el("span", "logfile", match.logfile || "");
    logfile.title = match.logfile || "";
    const message = el("span", "message", match.message);
    line.append(time, severity, host, logfile, message);
    item.append(line);
    item.match = match;
    return item;
  }

  function fieldTable(title, fields) {
    const wrap = el("div", "fields");
    wrap.append(el("h4", null, title));
    if (!fields.length) {
      wrap.append(el("div", "none", "none"));
      return wrap;
    }
    const table = el("table");
    for (const [name, value, clause] of fields) {
      const row = el("tr");
      const button = el("button", "value", value);
      button.type = "button";
      button.dataset.clause = clause;
      button.title = "Add " + clause + " to the filter";
      const cell = el("td");
      cell.append(button);
      row.append(el("td", "name", name), cell);
      table.append(row);
    }
    wrap.append(table);
    return wrap;
  }

  function expand(item) {
    const match = item.match;
    const details = el("div", "details");
    details.append(
      fieldTable("Attributes", match.attributes),
      fieldTable("Session fields", match.sessionFields),
      fieldTable("Event", match.event),
    );
    item.append(details);
    item.querySelector(".line").setAttribute("aria-expanded", "true");
  }

  function collapse(item) {
    const details = item.querySelector(".details");
    if (details) details.remove();
    item.querySelector(".line").setAttribute("aria-expanded", "false");
  }

  function toggle(item) {
    if (item.querySelector(".details")) collapse(item);
    else expand(item);
  }

  resultsList.addEventListener("click", function (event) {
    const value = event.target.closest("button.value");
    if (value) {
      addClause(value.dataset.clause);
      return;
    }
    const line = event.target.closest(".line");
    if (line) toggle(line.parentElement);
  });

  resultsList.addEventListener("keydown", function (event) {
    const line = event.target.closest(".line");
    if (line && event.target === line && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      toggle(line.parentElement);
    }
  });

  function showRows(matches) {
    resultsList.replaceChildren(...matches.map((m) => rowElement(m, false)));
    if (!matches.length) {
      resultsList.append(el("li", "empty",
        "No matches in this range. Widen the range (a preset above) or change the filter."));
    }
  }

  function appendRows(matches) {
    const room = MAX_ROWS - resultsList.children.length;
    resultsList.append(...matches.slice(0, Math.max(0, room)).map((m) => rowElement(m, false)));
  }

  function prependRows(matches) {
    const empty = resultsList.querySelector("li.empty");
    if (empty) empty.remove();
    for (const match of matches) {   // oldest first: the newest ends on top
      resultsList.prepend(rowElement(match, true));
    }
    while (resultsList.children.length > MAX_ROWS) {
      resultsList.lastElementChild.remove();
    }
  }

  // -- the filter grows by a click -------------------------------------------------------------

  function addClause(clause) {
    const typed = filterInput.value.trim();
    let base = typed;
    if (typed && last && typed === last.filter && !last.or) {
      base = typed;                       // a known conjunction: just add to it
    } else if (typed) {
      base = "(" + typed + ")";           // `a or b` + clause must not become `a or (b and …)`
    }
    navigate(Object.assign(fromInputs(), { filter: base ? base + " " + clause : clause }));
  }

  // -- searching --------------------------------------------------------------------------------

  async function runSearch() {
    const mine = ++generation;
    clearError();
    continuation = null;
    olderButton.hidden = true;
    statusBox.textContent = "Searching…";
    let response;
    try {
      response = await api("/ui/api/search?" + params());
    } catch (err) {
      if (mine === generation) statusBox.textContent = "";
      return;
    }
    if (mine !== generation) return;
    if (!response.ok) {
      statusBox.textContent = "";
      showError(response.body.message);
      return;
    }
    const body = response.body;
    last = { filter: state.filter, or: body.filter.or, range: body.range };
    showRows(body.matches);
    continuation = body.continuationToken || null;
    olderButton.hidden = !continuation || tail !== null;
    summary = describe(body.matches.length, body.range, null, body.executionTime);
    showStatus();
    const range = { start: body.range.start, end: body.range.end };
    loadHistogram(mine, range, body.matches.length);
    loadFacets(mine, range, commonFields(body.matches));
    if (tailToggle.checked) startTail(null);
  }

  function describe(shown, range, total, ms) {
    const span = localTime(range.start) + " – " + localTime(range.end);
    const count = total === null ? "" : total.toLocaleString() + (total === 1 ? " match · " : " matches · ");
    const newest = shown ? "newest " + shown.toLocaleString() + " shown · " : "";
    return count + newest + span + " · " + ms + " ms";
  }

  function showStatus() {
    statusBox.replaceChildren();
    if (tail) {
      const live = tail.paused ? "Paused" : "● Live";
      statusBox.append(el("span", "live", live),
        document.createTextNode(" · " + tail.received.toLocaleString() + " new · "));
    }
    statusBox.append(document.createTextNode(summary));
  }

  olderButton.addEventListener("click", async function () {
    if (!continuation || !last) return;
    const mine = generation;
    olderButton.disabled = true;
    const p = new URLSearchParams();
    if (last.filter) p.set("filter", last.filter);
    p.set("continuationToken", continuation);
    const response = await api("/ui/api/search?" + p.toString());
    olderButton.disabled = false;
    if (mine !== generation) return;
    if (!response.ok) {
      showError(response.body.message);
      return;
    }
    appendRows(response.body.matches);
    continuation = response.body.continuationToken || null;
    olderButton.hidden = !continuation || resultsList.children.length >= MAX_ROWS;
  });

  // -- histogram ------------------------------------------------------------------------------

  async function loadHistogram(mine, range, shown) {
    const response = await api("/ui/api/histogram?" + params(
      { start: range.start, end: range.end, buckets: BUCKETS }));
    if (mine !== generation || !response.ok) return;
    const counts = response.body.counts;
    const total = counts.reduce((a, b) => a + b, 0);
    drawHistogram(response.body.range, counts);
    summary = describe(shown, range, total, response.body.executionTime);
    showStatus();
  }

  function drawHistogram(range, counts) {
    const startS = nsToMs(range.start) / 1000;
    const endS = nsToMs(range.end) / 1000;
    const step = (endS - startS) / counts.length;
    const xs = counts.map((_, i) => startS + step * (i + 0.5));
    const opts = {
      width: Math.max(200, histogramBox.clientWidth),
      height: 140,
      legend: { show: false },
      scales: {
        x: { time: true, range: () => [startS, endS] },
        y: { range: (u, min, max) => [0, Math.max(1, max) * 1.1] },
      },
      axes: [
        { stroke: "#59636e", grid: { stroke: "#eef1f4" } },
        {
          stroke: "#59636e", size: 48, grid: { stroke: "#eef1f4" },
          values: (u, splits) => splits.map((v) => (v % 1 === 0 ? v.toLocaleString() : "")),
        },
      ],
      series: [
        {},
        {
          label: "matches",
          stroke: "#1d4ed8",
          fill: "rgba(29, 78, 216, 0.55)",
          points: { show: false },
          paths: uPlot.paths.bars({ size: [0.85, 80] }),
        },
      ],
      cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
      hooks: {
        setSelect: [function (u) {
          const width = u.select.width;
          if (width < 3) return;
          const from = u.posToVal(u.select.left, "x");
          const to = u.posToVal(u.select.left + width, "x");
          u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
          zoomTo(from * 1000, to * 1000);
        }],
      },
    };
    if (plot) plot.destroy();
    plot = new uPlot(opts, [xs, counts], histogramBox);
    histogramBox.dataset.start = range.start;
    histogramBox.dataset.end = range.end;
    histogramBox.dataset.buckets = String(counts.length);
    histogramBox.dataset.total = String(counts.reduce((a, b) => a + b, 0));
  }

  function zoomTo(fromMs, toMs) {
    if (!(toMs > fromMs)) return;
    navigate(Object.assign(fromInputs(), {
      start: new Date(Math.floor(fromMs)).toISOString(),
      end: new Date(Math.ceil(toMs)).toISOString(),
    }));
  }

  window.addEventListener("resize", function () {
    if (plot) plot.setSize({ width: Math.max(200, histogramBox.clientWidth), height: 140 });
  });

  // -- facets --------------------------------------------------------------------------------

  function commonFields(matches) {
    const counts = new Map();
    for (const match of matches) {
      for (const [name] of match.attributes) {
        if (!FIXED_FACETS.includes(name)) counts.set(name, (counts.get(name) || 0) + 1);
      }
    }
    return Array.from(counts.entries())
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, MAX_EXTRA_FACETS)
      .map(([name]) => name);
  }

  async function loadFacets(mine, range, extra) {
    const response = await api("/ui/api/facets?" + params(
      { start: range.start, end: range.end, fields: extra.join(",") }));
    if (mine !== generation || !response.ok) return;
    facetsBox.replaceChildren(...response.body.facets.map(facetSection));
  }

  function facetSection(facet) {
    const section = el("section");
    section.dataset.field = facet.field;
    section.append(el("h3", null, facet.field));
    const list = el("ul");
    if (!facet.values.length) list.append(el("li", "none", "no values"));
    for (const value of facet.values) {
      const button = el("button");
      button.type = "button";
      button.dataset.clause = value.clause;
      button.title = "Add " + value.clause + " to the filter";
      let label = value.value;
      if (facet.field === "severity" && SEVERITIES[Number(value.value)]) {
        label = value.value + " " + SEVERITIES[Number(value.value)];
      }
      button.append(el("span", "value", label), el("span", "count", value.count.toLocaleString()));
      const item = el("li");
      item.append(button);
      list.append(item);
    }
    section.append(list);
    return section;
  }

  facetsBox.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-clause]");
    if (button) addClause(button.dataset.clause);
  });

  // -- live tail ----------------------------------------------------------------------------------

  function startTail(after) {
    closeSource();
    const p = new URLSearchParams();
    if (state.filter) p.set("filter", state.filter);
    if (after) p.set("after", after);
    const source = new EventSource("/ui/api/tail?" + p.toString());
    const received = after && tail ? tail.received : 0;
    tail = { source: source, paused: false, lastId: after, received: received };
    tailPause.hidden = false;
    tailPause.textContent = "Pause";
    olderButton.hidden = true;
    source.addEventListener("ready", function (event) {
      tail.lastId = event.lastEventId || tail.lastId;
      showStatus();
    });
    source.addEventListener("matches", function (event) {
      tail.lastId = event.lastEventId;
      const matches = JSON.parse(event.data).matches;
      tail.received += matches.length;
      prependRows(matches);
      showStatus();
    });
    source.addEventListener("problem", function (event) {
      stopTail();
      showError("live tail: " + JSON.parse(event.data).message);
    });
    source.onerror = function () {
      // CONNECTING: the stream ended and EventSource reconnects on its own (Last-Event-ID).
      if (source.readyState === EventSource.CLOSED && tail && tail.source === source) {
        stopTail();
        showError("live tail stopped: the session ended or the server cannot be reached; " +
          "reload the page");
      }
    };
    showStatus();
  }

  function closeSource() {
    if (tail && tail.source) {
      tail.source.close();
      tail.source = null;
    }
  }

  function stopTail() {
    closeSource();
    tail = null;
    tailToggle.checked = false;
    tailPause.hidden = true;
    olderButton.hidden = !continuation;
    showStatus();
  }

  tailToggle.addEventListener("change", function () {
    if (tailToggle.checked) startTail(null);
    else stopTail();
  });

  tailPause.addEventListener("click", function () {
    if (!tail) return;
    if (tail.paused) {
      startTail(tail.lastId);           // resume where it paused: nothing is missed
    } else {
      closeSource();
      tail.paused = true;
      tailPause.textContent = "Resume";
      showStatus();
    }
  });

  // -- keyboard and form -------------------------------------------------------------------------

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    navigate(fromInputs());
  });

  for (const button of presetButtons) {
    button.addEventListener("click", function () {
      navigate(Object.assign(fromInputs(), { start: button.dataset.start, end: "" }));
    });
  }

  startInput.addEventListener("input", markPreset);
  endInput.addEventListener("input", markPreset);

  window.addEventListener("popstate", function () {
    state = readUrl();
    setInputs(state);
    runSearch();
  });

  document.addEventListener("keydown", function (event) {
    const target = event.target;
    const typing = target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement ||
      target instanceof HTMLSelectElement || target.isContentEditable;
    if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      filterInput.focus();
      filterInput.setSelectionRange(filterInput.value.length, filterInput.value.length);
    } else if (event.key === "Escape") {
      const open = (target.closest && target.closest("li.event")) ||
        resultsList.querySelector("li.event .details")?.parentElement;
      if (open && open.querySelector(".details")) {
        collapse(open);
        open.querySelector(".line").focus();
      }
    }
  });

  setInputs(state);
  filterInput.focus();
  runSearch();
})();
