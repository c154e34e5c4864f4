// zenctl report: draws the charts from the page's JSON data (report-data) with the inlined
// Chart.js. No animation: a screenshot taken as soon as the page loads shows the final chart.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const drawn = { timeline: null, metrics: [] };
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;

  const seconds = (value) => (value < 1 ? (value * 1000).toFixed(0) + "ms" : value.toFixed(1) + "s");

  if (data.timeline) {
    const t = data.timeline;
    drawn.timeline = new Chart(document.getElementById("timeline-chart"), {
      type: "bar",
      data: {
        labels: t.labels,
        datasets: [{ data: t.bars, backgroundColor: t.colors, minBarLength: 3, barPercentage: 0.8 }],
      },
      options: {
        indexAxis: "y",
        scales: { x: { type: "linear", min: 0, title: { display: true, text: "seconds since the apply started" } } },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: (item) => {
                const [start, end] = t.bars[item.dataIndex];
                return `${t.statuses[item.dataIndex]}: +${seconds(start)}, took ${seconds(end - start)}`;
              },
            },
          },
        },
      },
    });
  }

  for (const canvas of document.querySelectorAll("canvas[data-series]")) {
    const name = canvas.dataset.series;
    drawn.metrics.push(new Chart(canvas, {
      type: "line",
      data: {
        labels: data.metrics.runs,
        datasets: [{ label: name, data: data.metrics.series[name], spanGaps: true, borderColor: "#4f7fc9", backgroundColor: "#4f7fc9" }],
      },
      options: { plugins: { title: { display: true, text: name }, legend: { display: false } } },
    }));
  }
  window.zenctlReport = drawn; // for people's tools and the tests: the charts as drawn
})();
