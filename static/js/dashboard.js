// Draw the dashboard charts from the JSON the page embeds (json_script); Chart.js is vendored.
document.addEventListener("DOMContentLoaded", function () {
  if (!window.Chart) return;
  var data = JSON.parse(document.getElementById("chart-data").textContent);
  var rtl = document.documentElement.dir === "rtl";
  function bar(id, series, horizontal) {
    var el = document.getElementById(id);
    if (!el) return;
    new Chart(el, {
      type: "bar",
      data: { labels: Object.keys(series), datasets: [{ data: Object.values(series), backgroundColor: "#0b5cad" }] },
      options: { indexAxis: horizontal ? "y" : "x", plugins: { legend: { display: false } }, locale: document.documentElement.lang,
                 scales: { x: { reverse: rtl && !horizontal } } }
    });
  }
  bar("chart-cp", data.crossing_points, false);
  bar("chart-prov", data.provinces, true);
  bar("chart-pay", data.payments, false);
  bar("chart-ref", data.referrals, false);
});
