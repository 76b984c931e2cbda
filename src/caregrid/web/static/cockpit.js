// Cockpit charts: a sparkline per tile, referrals by month, flows between tiers (ECharts,
// served from this machine). The tables beside them hold the same figures without script.
(function () {
  "use strict";
  if (typeof echarts === "undefined") { return; }
  var data = JSON.parse(document.getElementById("cockpit-data").textContent);
  var render = { renderer: "svg" };
  data.tiles.forEach(function (tile) {
    var el = document.getElementById("spark-" + tile.id);
    if (!el || tile.trend.length === 0) { return; }
    var chart = echarts.init(el, null, render);
    var series = [{ type: "line", data: tile.trend.map(function (p) { return p[1]; }),
                    symbol: "none", lineStyle: { width: 2 } }];
    if (tile.target !== null) {
      series[0].markLine = { silent: true, symbol: "none", data: [{ yAxis: tile.target }],
                             lineStyle: { type: "dashed" }, label: { show: false } };
    }
    chart.setOption({ grid: { left: 2, right: 2, top: 4, bottom: 4 },
      xAxis: { type: "category", show: false, data: tile.trend.map(function (p) { return p[0]; }) },
      yAxis: { type: "value", show: false, scale: true }, series: series, animation: false });
  });
  var months = data.referrals.map(function (r) { return r[0]; });
  var barsEl = document.getElementById("referral-chart");
  var up = barsEl.dataset.up, down = barsEl.dataset.down;
  var bars = echarts.init(barsEl, null, render);
  bars.setOption({ tooltip: { trigger: "axis" }, legend: { data: [up, down] },
    xAxis: { type: "category", data: months }, yAxis: { type: "value" }, animation: false,
    series: [{ name: up, type: "bar", data: data.referrals.map(function (r) { return r[1]; }) },
             { name: down, type: "bar", data: data.referrals.map(function (r) { return r[2]; }) }] });
  var flowEl = document.getElementById("flow-chart");
  var names = JSON.parse(flowEl.dataset.names);
  function named(code) { return names[code] || code; }
  var nodes = {};
  data.flows.forEach(function (f) { nodes[named(f[0]) + " →"] = 1; nodes["→ " + named(f[1])] = 1; });
  var sankey = echarts.init(flowEl, null, render);
  sankey.setOption({ animation: false, series: [{ type: "sankey", emphasis: { focus: "adjacency" },
    data: Object.keys(nodes).map(function (n) { return { name: n }; }),
    links: data.flows.map(function (f) {
      return { source: named(f[0]) + " →", target: "→ " + named(f[1]), value: f[2] }; }) }] });
}());
