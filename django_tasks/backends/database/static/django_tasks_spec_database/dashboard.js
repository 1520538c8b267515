// The task queue dashboard: reload its panel (HTML rendered by the server) every few seconds,
// without reloading the page. No library, no build step.
"use strict";
(function () {
  const root = document.getElementById("tasks-dashboard");
  if (!root) return;
  const url = root.dataset.panelUrl;
  const seconds = Number(root.dataset.refreshSeconds) || 5;
  async function refresh() {
    try {
      const response = await fetch(url, {credentials: "same-origin", headers: {"Accept": "text/html"}});
      if (response.ok) {
        root.innerHTML = await response.text();
        root.dataset.refreshed = String(Number(root.dataset.refreshed || 0) + 1);
      } else {
        root.dataset.error = String(response.status);
      }
    } catch (error) {
      root.dataset.error = String(error);
    }
    window.setTimeout(refresh, seconds * 1000);
  }
  window.setTimeout(refresh, seconds * 1000);
})();
