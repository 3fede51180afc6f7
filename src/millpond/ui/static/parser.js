// The parser page: "Try it" runs the definition in the editor over pasted sample lines
// (POST /ui/api/parsers/try, with the page's CSRF token) and shows the events it makes.
"use strict";

(function () {
  const { api, el } = window.millpond;
  const SEVERITIES = ["FINEST", "FINER", "FINE", "INFO", "WARN", "ERROR", "FATAL"];
  const button = document.getElementById("try");
  const definition = document.getElementById("definition");
  const samples = document.getElementById("samples");
  const errorBox = document.getElementById("try-error");
  const results = document.getElementById("try-results");

  function utc(ns) {
    const digits = String(BigInt(ns) % 1000000000n).padStart(9, "0");
    return new Date(Number(BigInt(ns) / 1000000n)).toISOString().slice(0, 19) + "." + digits + "Z";
  }

  function eventBlock(event) {
    const block = el("div", "parsed");
    const lines = event.lines > 1 ? "lines " + event.line + "–" + (event.line + event.lines - 1)
      : "line " + event.line;
    block.append(el("div", "head", lines + ": " + event.message));
    const rows = [];
    if (event.timestamp !== null) rows.push(["(time)", utc(event.timestamp)]);
    if (event.severity !== null) {
      rows.push(["(severity)", event.severity + " " + (SEVERITIES[event.severity] || "")]);
    }
    rows.push(...event.fields);
    if (!rows.length) {
      block.append(el("div", "nofields", "no fields: no format matched; stored unparsed"));
      return block;
    }
    const table = el("table");
    for (const [name, value] of rows) {
      const row = el("tr");
      row.append(el("td", "name", name), el("td", "value", value));
      table.append(row);
    }
    block.append(table);
    return block;
  }

  async function tryIt() {
    errorBox.hidden = true;
    button.disabled = true;
    let response;
    try {
      response = await api("/ui/api/parsers/try", {
        method: "POST",
        body: JSON.stringify({
          name: button.dataset.name, definition: definition.value, lines: samples.value,
        }),
      });
    } finally {
      button.disabled = false;
    }
    if (!response.ok) {
      results.replaceChildren();
      errorBox.textContent = response.body.message;
      errorBox.hidden = false;
      return;
    }
    const body = response.body;
    const blocks = body.events.map(eventBlock);
    if (body.events.length !== body.lineCount) {
      blocks.push(el("p", "help", body.lineCount + " lines made " + body.events.length +
        " events: lines were grouped or discarded"));
    }
    results.replaceChildren(...blocks);
  }

  button.addEventListener("click", tryIt);
  samples.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      tryIt();
    }
  });
})();
