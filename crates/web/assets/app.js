// Parvis pages: live alerts over server-sent events (with reconnection), and the live
// intersections table refreshed from the public status API. Pages work without it.
(function () {
  "use strict";

  function liveAlerts() {
    var body = document.getElementById("alerts");
    var status = document.getElementById("live-status");
    if (!body || !window.EventSource) return;
    var delay = 1000;
    function connect() {
      var source = new EventSource("/live/alerts");
      source.addEventListener("open", function () {
        delay = 1000;
        if (status) { status.textContent = status.dataset.on; status.dataset.state = "on"; }
      });
      source.addEventListener("alert", function (event) {
        var a = JSON.parse(event.data);
        var row = document.createElement("tr");
        row.className = "new";
        [a.sensor, a.attribute, a.observed, a.value, a.score].forEach(function (text) {
          var cell = document.createElement("td");
          cell.textContent = text;
          row.appendChild(cell);
        });
        body.insertBefore(row, body.firstChild);
      });
      source.addEventListener("error", function () {
        // The browser retries on its own while the server answers; when it gave up, retry
        // later with a growing delay (at most 30 s).
        if (status) { status.textContent = status.dataset.off; status.dataset.state = "off"; }
        if (source.readyState === EventSource.CLOSED) {
          setTimeout(connect, delay);
          delay = Math.min(delay * 2, 30000);
        }
      });
    }
    connect();
  }

  function liveSignals() {
    var table = document.getElementById("signals");
    if (!table || !window.fetch) return;
    var body = table.querySelector("tbody");
    setInterval(function () {
      fetch(table.dataset.refresh).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
        if (!data || !data.intersections) return;
        body.textContent = "";
        data.intersections.forEach(function (s) {
          var row = document.createElement("tr");
          [s.id || s.intersection, s.controller, s.phase].forEach(function (text) {
            var cell = document.createElement("td");
            cell.textContent = text;
            row.appendChild(cell);
          });
          body.appendChild(row);
        });
      }).catch(function () {});
    }, 5000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    liveAlerts();
    liveSignals();
  });
})();
