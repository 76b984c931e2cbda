// Grid planner maps (ECharts, served from this machine): each area a point sized by its
// residents and coloured by its grid, borders as lines, lead hospitals as diamonds. With
// centroids the points sit at longitude/latitude; without, ECharts lays them out by borders.
(function () {
  "use strict";
  if (typeof echarts === "undefined") { return; }
  var data = JSON.parse(document.getElementById("planner-data").textContent);
  var palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
                 "#e377c2", "#bcbd22", "#7f7f7f", "#393b79", "#637939"];
  var located = data.unit === "km";
  var leadAt = {};
  data.leads.forEach(function (l) { leadAt[l.site] = (leadAt[l.site] || []).concat([l.name]); });
  var biggest = Math.max.apply(null, data.areas.map(function (a) { return a.population; }).concat([1]));
  function draw(elementId, key) {
    var el = document.getElementById(elementId);
    if (!el) { return; }
    var groups = [];
    data.areas.forEach(function (a) { if (a[key] && groups.indexOf(a[key]) < 0) { groups.push(a[key]); } });
    groups.sort();
    var nodes = data.areas.map(function (a) {
      var group = a[key] ? groups.indexOf(a[key]) : -1;
      var node = {
        id: a.code, name: a.name, value: a.population,
        symbol: leadAt[a.code] ? "diamond" : "circle",
        symbolSize: 8 + 22 * Math.sqrt(a.population / biggest),
        itemStyle: { color: group < 0 ? "#cccccc" : palette[group % palette.length],
                     borderColor: leadAt[a.code] ? "#000" : "#fff", borderWidth: leadAt[a.code] ? 2 : 1 },
        label: { show: !!leadAt[a.code], formatter: (leadAt[a.code] || []).join(" / "), fontSize: 10 }
      };
      if (located) { node.x = a.lon * 1000; node.y = -a.lat * 1000; }
      return node;
    });
    var chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption({
      animation: false,
      tooltip: { formatter: function (p) {
        return p.dataType === "node" ? p.data.name + "<br>" + p.data.value.toLocaleString() : ""; } },
      series: [{
        type: "graph", layout: located ? "none" : "force", roam: true,
        force: { repulsion: 120, edgeLength: 40 },
        data: nodes,
        links: data.borders.map(function (b) { return { source: b[0], target: b[1] }; }),
        lineStyle: { color: "#bbb", width: 1 }
      }]
    });
    el.dataset.groups = String(groups.length);
    el.dataset.drawn = "true";
  }
  draw("today-map", "today");
  draw("plan-map", "planned");
}());
