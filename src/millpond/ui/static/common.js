// millpond web UI: what every page uses. No inline scripts (the Content-Security-Policy
// forbids them); data from the server only ever goes into the page as text.
"use strict";

window.millpond = (function () {
  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // Buttons with data-confirm ask first (revoking a key, deleting a parser).
  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) {
      event.preventDefault();
    }
  });

  // Copy buttons: data-copy names the input whose value to copy.
  document.addEventListener("click", async function (event) {
    const button = event.target.closest("button[data-copy]");
    if (!button) return;
    const input = document.getElementById(button.dataset.copy);
    if (!input) return;
    let copied = false;
    try {
      await navigator.clipboard.writeText(input.value);
      copied = true;
    } catch (err) {
      // Not a secure context (plain HTTP to another host): fall back to the selection.
      input.select();
      copied = document.execCommand("copy");
    }
    button.textContent = copied ? "Copied" : "Select and copy";
  });

  // Fetch JSON from a /ui/api/ endpoint; a signed-out session goes to the sign-in page.
  async function api(path, options) {
    const init = Object.assign({ headers: {}, credentials: "same-origin" }, options || {});
    if (init.method && init.method !== "GET") {
      init.headers["X-CSRF-Token"] = csrfToken();
      init.headers["Content-Type"] = "application/json";
    }
    const response = await fetch(path, init);
    let body;
    try {
      body = await response.json();
    } catch (err) {
      body = { status: "error/server", message: "the server sent no JSON (HTTP " + response.status + ")" };
    }
    if (response.status === 401) {
      const here = location.pathname + location.search;
      location.assign("/login?next=" + encodeURIComponent(here));
      throw new Error("signed out");
    }
    return { ok: response.ok, status: response.status, body: body };
  }

  // An element with text content (never parsed as HTML) and a class.
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  return { api: api, el: el, csrfToken: csrfToken };
})();
