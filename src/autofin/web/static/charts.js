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
      var layout = Object.assign({ margin: { t: 30, r: spec.layout.yaxis2 ? 70 : 10, b: 50, l: 60 }, autosize: true },
                                 spec.layout);
      // Long category labels (product names) get the room they need instead of being cut off.
      ["xaxis", "yaxis", "yaxis2"].forEach(function (axis) {
        if (layout[axis] || axis !== "yaxis2") {
          layout[axis] = Object.assign({ automargin: true }, layout[axis] || {});
        }
      });
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
