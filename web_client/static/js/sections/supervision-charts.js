// The 实时监管 charts, drawn with Apache ECharts (vendored: /static/vendor/echarts.min.js,
// Apache-2.0, loaded only when the section opens). Each chart follows its box's width, so
// it fits a phone.

const SCRIPT = "/static/vendor/echarts.min.js";
const BRAND = "#a61d24";
const COLORS = [BRAND, "#2f6fb0", "#1f7a4d", "#9a5b00", "#7a8496"];
let loading = null;

/** Load ECharts once (a same-origin script: the CSP allows nothing else). */
export function ensureECharts() {
  if (window.echarts) return Promise.resolve(window.echarts);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = SCRIPT;
      script.onload = () => resolve(window.echarts);
      script.onerror = () => {
        loading = null;
        reject(new Error("echarts"));
      };
      document.head.append(script);
    });
  }
  return loading;
}

const pct = (rate) => (rate === null || rate === undefined ? null : Math.round(rate * 1000) / 10);

function trendOption(points) {
  return {
    color: COLORS,
    tooltip: { trigger: "axis", valueFormatter: (v) => (v === null || v === undefined ? "—" : String(v)) },
    legend: { top: 0, itemWidth: 14, textStyle: { fontSize: 11 } },
    grid: { left: 40, right: 40, top: 36, bottom: 28, containLabel: false },
    xAxis: { type: "category", data: points.map((p) => p.label.replace(/^(\d{4})年/, "$1/").replace("月", "")), axisLabel: { fontSize: 10, hideOverlap: true } },
    yAxis: [
      { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%", fontSize: 10 } },
      { type: "value", minInterval: 1, axisLabel: { fontSize: 10 }, splitLine: { show: false } },
    ],
    series: [
      { name: "完成率", type: "line", smooth: true, connectNulls: true, data: points.map((p) => pct(p.completion_rate)) },
      { name: "覆盖率", type: "line", smooth: true, connectNulls: true, data: points.map((p) => pct(p.coverage_rate)) },
      { name: "提交检查", type: "bar", yAxisIndex: 1, barMaxWidth: 16, itemStyle: { opacity: 0.35 }, data: points.map((p) => p.inspections) },
    ],
  };
}

function barsOption(rows) {
  const sorted = [...rows].sort((a, b) => (a.completion_rate ?? -1) - (b.completion_rate ?? -1));
  return {
    color: COLORS,
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: (v) => `${v}%` },
    legend: { top: 0, itemWidth: 14, textStyle: { fontSize: 11 } },
    grid: { left: 8, right: 16, top: 28, bottom: 8, containLabel: true },
    xAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%", fontSize: 10 } },
    yAxis: { type: "category", data: sorted.map((r) => r.name), axisLabel: { fontSize: 10, width: 84, overflow: "truncate" } },
    series: [
      { name: "完成率", type: "bar", barMaxWidth: 14, data: sorted.map((r) => pct(r.completion_rate)) },
      { name: "覆盖率", type: "bar", barMaxWidth: 14, data: sorted.map((r) => pct(r.coverage_rate)) },
    ],
  };
}

function pieOption([total]) {
  const parts = [
    ["正常", total.normal],
    ["关注", total.watch],
    ["强烈关注", total.close_watch],
    ["退出", total.exit],
  ];
  return {
    color: ["#1f7a4d", "#9a5b00", BRAND, "#7a8496"],
    tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
    legend: { bottom: 0, itemWidth: 14, textStyle: { fontSize: 11 } },
    series: [{ type: "pie", stillShowZeroSum: false, radius: ["35%", "62%"], center: ["50%", "45%"], label: { fontSize: 11, formatter: "{b} {c}" }, data: parts.map(([name, value]) => ({ name, value })) }],
  };
}

const OPTIONS = { trend: trendOption, bars: barsOption, pie: pieOption };

/** Draw (or redraw) a chart of `kind` into `box`; it resizes with the box. */
export function renderChart(box, kind, data) {
  const echarts = window.echarts;
  if (!echarts) return;
  if (kind === "bars") box.style.height = `${Math.max(180, 40 + data.length * 30)}px`;
  const chart = echarts.getInstanceByDom(box) || echarts.init(box, null, { renderer: "canvas" });
  chart.setOption(OPTIONS[kind](data), true);
  if (!box.dataset.observed) {
    box.dataset.observed = "1";
    new ResizeObserver(() => chart.resize()).observe(box);
  }
  return chart;
}
