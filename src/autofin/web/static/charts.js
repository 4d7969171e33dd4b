// Draws every <div data-chart="ID"> from the JSON in <script type="application/json" id="ID">,
// with the plotly.js served from the installed plotly Python package.
(function () {
  "use strict";
  function draw() {
    if (typeof Plotly === "undefined") { return; }
    document.querySelectorAll("div[data-chart]").forEach(function (div) {
      var source = document.getElementById(div.getAttribute("data-chart"));
      if (!source) { return; }
      var spec = JSON.parse(source.textContent);
      var layout = Object.assign({ margin: { t: 30, r: 10, b: 50, l: 60 }, autosize: true }, spec.layout);
      Plotly.newPlot(div, spec.data, layout, { responsive: true, displaylogo: false });
      div.setAttribute("data-drawn", "true");
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
