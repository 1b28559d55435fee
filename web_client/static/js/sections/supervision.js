// 实时监管: completion (完成率) and coverage (覆盖率) of an org of my jurisdiction per org below
// it, drilled down province → 分行 → 支行 → checkpoint → inspection; trend curves, anomaly
// summary, warning indicators per quarter, conclusions; every table exports to Excel. The
// state lives in the hash (#/supervision/{org}/{period}[/checkpoint/{id}][?kind=&type=]), so
// a drill-down is a link; it refreshes itself (debounced) when an inspection lands.
import { ApiError, api } from "../api.js";
import { clear, h } from "../dom.js";
import { onPushWhileShown } from "../inbox.js";
import { ensureECharts, renderChart } from "./supervision-charts.js";

const BASE = "/api/v1/supervision";
const PAGE = 20;
const RELOAD_DELAY_MS = 1500;
const KIND_LABELS = { on_site: "现场检查", remote: "远程巡检", self_check: "企业自检" };
const TYPE_LABELS = { existing: "存量", new: "新增" };
const STATE_LABELS = { submitted: "已提交", approved: "已通过", returned: "已退回", draft: "进行中" };
const CONCLUSION_LABELS = { normal: "正常", watch: "关注", close_watch: "强烈关注", exit: "退出" };

function ensureStylesheet() {
  if (document.querySelector('link[href="/static/css/supervision.css"]')) return;
  document.head.append(h("link", { rel: "stylesheet", href: "/static/css/supervision.css" }));
}

/** "3/2026-Q1/checkpoint/17?kind=remote" → its parts. */
export function parseState(path, me) {
  const [route, search = ""] = (path || "").split("?");
  const parts = route.split("/").filter(Boolean);
  const params = new URLSearchParams(search);
  const now = new Date();
  const thisMonth = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}`;
  return {
    org: Number(parts[0]) || me.org.id,
    period: parts[1] || thisMonth,
    checkpoint: parts[2] === "checkpoint" ? Number(parts[3]) || null : null,
    kind: params.get("kind") || "",
    type: params.get("type") || "",
    all: params.get("all") === "1", // province: every 支行 instead of the 分行
  };
}

export function hashOf(state) {
  let hash = `#/supervision/${state.org}/${state.period}`;
  if (state.checkpoint) hash += `/checkpoint/${state.checkpoint}`;
  const params = new URLSearchParams();
  if (state.kind) params.set("kind", state.kind);
  if (state.type) params.set("type", state.type);
  if (state.all) params.set("all", "1");
  const search = params.toString();
  return search ? `${hash}?${search}` : hash;
}

/** The query of a report: org, window (period or custom "from~to") and filters. */
function query(state, extra = {}) {
  const params = new URLSearchParams({ org_id: String(state.org) });
  if (state.period.includes("~")) {
    const [from, to] = state.period.split("~");
    params.set("date_from", from);
    params.set("date_to", to);
  } else {
    params.set("period", state.period);
  }
  if (state.kind) params.set("kind", state.kind);
  if (state.type) params.set("inspection_type", state.type);
  for (const [key, value] of Object.entries(extra)) {
    if (value !== "" && value !== null && value !== undefined) params.set(key, String(value));
  }
  return params.toString();
}

/** The trend's own range (the server's: the window, or the 12 months up to a month or quarter). */
function trendState(state, trend) {
  return { ...state, period: `${trend.window.start}~${trend.window.end}` };
}

const percent = (rate) => (rate === null || rate === undefined ? "—" : `${(rate * 100).toFixed(1)}%`);

function table(columns, rows, { onRow, foot, testid } = {}) {
  const head = h("tr", {}, columns.map((c) => h("th", { class: c.num ? "num" : null, scope: "col" }, c.label)));
  const line = (row, isFoot) =>
    h(
      "tr",
      {
        class: onRow && !isFoot ? "clickable" : null,
        tabindex: onRow && !isFoot ? "0" : null,
        onclick: onRow && !isFoot ? () => onRow(row) : null,
        onkeydown: onRow && !isFoot ? (e) => e.key === "Enter" && onRow(row) : null,
        "data-id": row.id ?? null,
      },
      columns.map((c) => h(isFoot && c === columns[0] ? "th" : "td", { class: c.num ? "num" : null, "data-col": c.key }, c.cell(row))),
    );
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "table sup-table", "data-testid": testid },
      h("thead", {}, head),
      h("tbody", {}, rows.map((row) => line(row, false))),
      foot ? h("tfoot", {}, line(foot, true)) : null,
    ),
  );
}

const num = (key, label) => ({ key, label, num: true, cell: (r) => String(r[key] ?? 0) });
const rate = (key, label) => ({ key, label, num: true, cell: (r) => percent(r[key]) });
const FIGURE_COLUMNS = [
  rate("completion_rate", "完成率"),
  rate("coverage_rate", "覆盖率"),
  num("due", "应检任务"),
  num("done", "已完成"),
  num("covered_by_history", "历史覆盖"),
  num("overdue", "逾期"),
  num("checkpoints_due", "应检检查点"),
  num("checkpoints_covered", "已检检查点"),
];

function exportLink(state, table, extra = {}) {
  return h(
    "a",
    { class: "btn btn-small", href: `${BASE}/export?${query(state, { table, ...extra })}`, download: "", "data-export": table },
    "导出Excel",
  );
}

function card(title, { actions = [], testid, note } = {}, ...body) {
  return h(
    "section",
    { class: "card sup-card", "data-testid": testid },
    h("div", { class: "card-head" }, h("h2", {}, title), note ? h("span", { class: "muted" }, note) : null, h("span", { class: "sup-actions" }, actions)),
    body,
  );
}

function periodControls(state, go) {
  const kindOf = (p) => (p.includes("~") ? "custom" : /-Q/.test(p) ? "quarter" : p.length === 4 ? "year" : "month");
  const current = kindOf(state.period);
  const year = Number(state.period.slice(0, 4)) || new Date().getFullYear();
  const typeSelect = h(
    "select",
    { "aria-label": "统计期间类型", "data-testid": "period-kind" },
    [
      ["month", "按月"],
      ["quarter", "按季度"],
      ["year", "按年"],
      ["custom", "自定义"],
    ].map(([v, l]) => h("option", { value: v, selected: v === current }, l)),
  );
  const inputs = h("span", { class: "sup-period-inputs" });
  const apply = (period) => go({ ...state, period, checkpoint: null });
  function draw(kind) {
    clear(inputs);
    if (kind === "month") {
      const value = current === "month" ? state.period : `${year}-01`;
      const input = h("input", { type: "month", value, "aria-label": "月份", onchange: () => input.value && apply(input.value) });
      inputs.append(input);
    } else if (kind === "quarter") {
      const y = h("input", { type: "number", min: "2000", max: "2100", value: String(year), "aria-label": "年份", class: "sup-year" });
      const q = h(
        "select",
        { "aria-label": "季度" },
        [1, 2, 3, 4].map((n) => h("option", { value: String(n), selected: state.period.endsWith(`Q${n}`) }, `第${n}季度`)),
      );
      const change = () => apply(`${y.value}-Q${q.value}`);
      y.addEventListener("change", change);
      q.addEventListener("change", change);
      inputs.append(y, q);
    } else if (kind === "year") {
      const y = h("input", { type: "number", min: "2000", max: "2100", value: String(year), "aria-label": "年份", class: "sup-year" });
      y.addEventListener("change", () => apply(y.value));
      inputs.append(y);
    } else {
      const [from, to] = current === "custom" ? state.period.split("~") : [`${year}-01-01`, `${year}-12-31`];
      const a = h("input", { type: "date", value: from, "aria-label": "开始日期" });
      const b = h("input", { type: "date", value: to, "aria-label": "结束日期" });
      inputs.append(a, h("span", { class: "muted" }, "至"), b, h("button", { type: "button", class: "btn", onclick: () => a.value && b.value && apply(`${a.value}~${b.value}`) }, "查询"));
    }
  }
  typeSelect.addEventListener("change", () => {
    const kind = typeSelect.value;
    if (kind === "year") apply(String(year));
    else if (kind === "quarter") apply(`${year}-Q1`);
    else if (kind === "month") apply(`${year}-01`);
    else draw(kind);
  });
  draw(current);
  const kindSelect = h(
    "select",
    { "aria-label": "检查方式", onchange: (e) => go({ ...state, kind: e.target.value }) },
    h("option", { value: "" }, "全部检查方式"),
    Object.entries(KIND_LABELS).map(([v, l]) => h("option", { value: v, selected: v === state.kind }, l)),
  );
  const typeFilter = h(
    "select",
    { "aria-label": "检查类型", onchange: (e) => go({ ...state, type: e.target.value }) },
    h("option", { value: "" }, "全部检查类型"),
    Object.entries(TYPE_LABELS).map(([v, l]) => h("option", { value: v, selected: v === state.type }, l)),
  );
  return h("div", { class: "filter-row sup-controls" }, typeSelect, inputs, kindSelect, typeFilter);
}

function breadcrumb(report, state, go) {
  const trail = report.org.path.map((org, i, all) =>
    i === all.length - 1 && !state.checkpoint
      ? h("span", { "aria-current": "page" }, org.name)
      : h("a", { href: hashOf({ ...state, org: org.id, checkpoint: null, all: false }) }, org.name),
  );
  const parts = [];
  trail.forEach((node, i) => {
    if (i) parts.push(h("span", { class: "sep", "aria-hidden": "true" }, "›"));
    parts.push(node);
  });
  return h("nav", { class: "sup-crumbs", "aria-label": "机构层级" }, parts, state.checkpoint ? [h("span", { class: "sep" }, "›"), h("span", { "aria-current": "page", "data-testid": "crumb-checkpoint" }, "检查点明细")] : null);
}

function kpis(total, anomalies) {
  const tile = (label, value, testid, tone) => h("div", { class: `sup-kpi ${tone || ""}`, "data-testid": testid }, h("span", { class: "sup-kpi-label" }, label), h("strong", {}, value));
  return h(
    "div",
    { class: "sup-kpis" },
    tile("完成率", percent(total.completion_rate), "kpi-completion", "brand"),
    tile("覆盖率", percent(total.coverage_rate), "kpi-coverage", "brand"),
    tile("应检任务", String(total.due), "kpi-due"),
    tile("已完成", String(total.done), "kpi-done", "ok"),
    tile("逾期", String(total.overdue), "kpi-overdue", total.overdue ? "warn" : ""),
    tile("新增异常", String(anomalies.total.total), "kpi-anomalies", anomalies.total.high ? "warn" : ""),
  );
}

export async function renderSupervision(container, { me, onError, path, query: search }) {
  ensureStylesheet(); // the console refuses this section to roles without supervision.read
  // The console hands the hash's query (?kind=…&all=1) apart from its path.
  const filters = search ? search.toString() : "";
  const state = parseState(filters ? `${path}?${filters}` : path, me);
  const go = (next) => {
    window.location.hash = hashOf(next);
  };
  const status = h("p", { class: "muted sup-updated", role: "status", "data-testid": "sup-updated" });
  const body = h("div", { class: "sup-body" }, h("p", { class: "loading" }, "加载中…"));
  container.append(
    h(
      "section",
      { class: "card sup-head" },
      h("div", { class: "card-head" }, h("h2", {}, "实时监管"), status),
      periodControls(state, go),
    ),
    body,
  );
  const chartsReady = ensureECharts().catch(() => null);

  let detailOffset = 0;
  let detailFilters = { state: "", conclusion: "" };

  async function load() {
    // One request for the first paint: every table, grouped by child org (or 支行 with
    // 全部支行), a 支行's own checkpoints in the completion table, the trend's range and
    // the first page of details; the detail filters and pages ask /inspections themselves.
    const overview = await api(
      `${BASE}/overview?${query(state, { group: state.all ? "sub_branch" : "child", checkpoint_id: state.checkpoint, limit: PAGE })}`,
    );
    return { ...overview, leaf: overview.group === "checkpoint" };
  }

  async function loadDetails(holder) {
    const page = await api(`${BASE}/inspections?${query(state, { checkpoint_id: state.checkpoint, state: detailFilters.state, conclusion: detailFilters.conclusion, offset: detailOffset, limit: PAGE })}`);
    clear(holder).append(detailTable(page, holder));
  }

  function detailTable(page, holder) {
    const columns = [
      { key: "submitted_at", label: "提交时间", cell: (r) => new Date(r.submitted_at).toLocaleString("zh-CN", { hour12: false }) },
      { key: "org_name", label: "支行", cell: (r) => r.org_name },
      { key: "checkpoint", label: "检查点", cell: (r) => `${r.checkpoint_code} ${r.checkpoint_name}` },
      { key: "customer_name", label: "企业名称", cell: (r) => r.customer_name },
      { key: "kind", label: "检查方式", cell: (r) => KIND_LABELS[r.kind] },
      { key: "inspection_type", label: "检查类型", cell: (r) => TYPE_LABELS[r.inspection_type] || "—" },
      { key: "inspector_name", label: "检查人", cell: (r) => r.inspector_name || "—" },
      { key: "state", label: "状态", cell: (r) => STATE_LABELS[r.state] || r.state },
      { key: "conclusion", label: "检查结论", cell: (r) => CONCLUSION_LABELS[r.conclusion] || "—" },
      num("findings", "发现问题"),
    ];
    const pager = h(
      "div",
      { class: "table-foot pager" },
      h("button", { type: "button", class: "btn", disabled: detailOffset === 0, onclick: () => { detailOffset = Math.max(0, detailOffset - PAGE); loadDetails(holder); } }, "上一页"),
      h("span", { class: "muted", "data-testid": "detail-total" }, `共 ${page.total} 条，第 ${Math.floor(detailOffset / PAGE) + 1} / ${Math.max(1, Math.ceil(page.total / PAGE))} 页`),
      h("button", { type: "button", class: "btn", disabled: detailOffset + PAGE >= page.total, onclick: () => { detailOffset += PAGE; loadDetails(holder); } }, "下一页"),
    );
    if (!page.items.length) return h("div", {}, h("p", { class: "empty" }, "该期间没有提交的检查记录。"), pager);
    return h("div", {}, table(columns, page.items, { onRow: (r) => (window.location.hash = `#/inspections/${r.id}`), testid: "detail-table" }), pager);
  }

  function draw(data) {
    const { completion, trend, anomalies, indicators, conclusions, details, group, leaf } = data;
    const kinds = new Set(completion.rows.filter((r) => r.id !== completion.org.id).map((r) => r.kind));
    const groupLabel =
      group === "checkpoint" ? "检查点" : group === "sub_branch" ? "支行" : kinds.size === 1 && kinds.has("branch") ? "分行" : kinds.size === 1 && kinds.has("sub_branch") ? "支行" : "机构";
    const drill = (row) => {
      if (row.drill === "inspections") go({ ...state, checkpoint: row.id });
      else if (row.id !== completion.org.id) go({ ...state, org: row.id, checkpoint: null, all: false });
      else go({ ...state, all: false });
    };
    const nameColumn = {
      key: "name",
      label: groupLabel,
      cell: (r) => (r.code ? h("span", {}, h("span", { class: "mono muted" }, r.code), " ", r.name) : r.name),
    };
    const sections = [];
    sections.push(breadcrumb(completion, state, go), kpis(completion.total, anomalies));

    const trendChart = h("div", { class: "sup-chart", "data-testid": "trend-chart", role: "img", "aria-label": "完成率、覆盖率与检查数量趋势" });
    const barChart = h("div", { class: "sup-chart", "data-testid": "completion-chart", role: "img", "aria-label": `各${groupLabel}完成率` });
    const conclusionChart = h("div", { class: "sup-chart sup-chart-small", "data-testid": "conclusion-chart", role: "img", "aria-label": "检查结论分布" });

    const canAll = completion.org.kind === "province";
    const scopeToggle = canAll
      ? h(
          "span",
          { class: "filters", role: "group", "aria-label": "统计口径" },
          h("button", { type: "button", class: "btn btn-small", "aria-pressed": String(!state.all), onclick: () => go({ ...state, all: false }) }, "分行完成率"),
          h("button", { type: "button", class: "btn btn-small", "aria-pressed": String(state.all), onclick: () => go({ ...state, all: true }) }, "支行完成率"),
        )
      : null;
    sections.push(
      card(
        `${groupLabel}完成率与覆盖率`,
        { actions: [scopeToggle, exportLink(state, "completion", { group })], testid: "completion-card", note: completion.window.label },
        barChart,
        table([nameColumn, ...FIGURE_COLUMNS], completion.rows, {
          onRow: drill,
          foot: { ...completion.total, name: "合计", code: "" },
          testid: "completion-table",
        }),
      ),
    );
    sections.push(
      card(
        "报表曲线",
        { actions: [exportLink(trendState(state, trend), "trend")], testid: "trend-card", note: trend.window.label },
        trendChart,
      ),
    );
    const detailHolder = h("div", {}, h("p", { class: "loading" }, "加载中…"));
    const stateSelect = h(
      "select",
      { class: "filter-control", "aria-label": "状态", onchange: (e) => { detailFilters.state = e.target.value; detailOffset = 0; loadDetails(detailHolder); } },
      h("option", { value: "" }, "全部状态"),
      ["submitted", "approved", "returned"].map((v) => h("option", { value: v, selected: v === detailFilters.state }, STATE_LABELS[v])),
    );
    const conclusionSelect = h(
      "select",
      { class: "filter-control", "aria-label": "检查结论", onchange: (e) => { detailFilters.conclusion = e.target.value; detailOffset = 0; loadDetails(detailHolder); } },
      h("option", { value: "" }, "全部结论"),
      Object.entries(CONCLUSION_LABELS).map(([v, l]) => h("option", { value: v, selected: v === detailFilters.conclusion }, l)),
    );
    sections.push(
      card(
        "检查明细",
        {
          actions: [stateSelect, conclusionSelect, exportLink(state, "details", { checkpoint_id: state.checkpoint, state: detailFilters.state, conclusion: detailFilters.conclusion })],
          testid: "detail-card",
          note: state.checkpoint ? "当前检查点" : leaf ? "本支行" : "辖区内",
        },
        detailHolder,
      ),
    );
    const anomalyColumns = [
      { ...nameColumn, label: group === "checkpoint" ? "机构" : groupLabel },
      num("total", "异常总数"),
      num("high", "严重"),
      num("medium", "较重"),
      num("low", "一般"),
      num("open", "待处理"),
      num("acknowledged", "处理中"),
      num("resolved", "已处理"),
      num("overdue", "逾期未受理"),
      num("escalated", "已上报"),
    ];
    sections.push(
      card(
        "异常汇总",
        { actions: [exportLink(state, "anomalies", { group: group === "checkpoint" ? "child" : group })], testid: "anomaly-card" },
        table(anomalyColumns, anomalies.rows, { foot: { ...anomalies.total, name: "合计" }, testid: "anomaly-table" }),
      ),
    );
    const indicatorColumns = [
      { key: "indicator", label: "预警指标", cell: (r) => r.indicator },
      ...indicators.columns.map((c, i) => ({ key: `q${i}`, label: c.label.replace(/^\d{4}年/, ""), num: true, cell: (r) => String(r.counts[i]) })),
      num("total", "合计"),
    ];
    sections.push(
      card(
        "预警指标统计表",
        { actions: [exportLink(state, "indicators")], testid: "indicator-card", note: "由检查项规则触发的异常" },
        indicators.rows.length
          ? table(indicatorColumns, indicators.rows, { foot: { indicator: "合计", counts: indicators.totals, total: indicators.total }, testid: "indicator-table" })
          : h("p", { class: "empty" }, "该期间没有触发预警指标。"),
      ),
    );
    const conclusionColumns = (first) => [first, num("normal", "正常"), num("watch", "关注"), num("close_watch", "强烈关注"), num("exit", "退出"), num("none", "无结论"), num("total", "合计")];
    sections.push(
      card(
        "巡检结论统计表",
        { actions: [exportLink(state, "conclusions", { group: group === "checkpoint" ? "child" : group })], testid: "conclusion-card" },
        conclusionChart,
        table(conclusionColumns({ ...nameColumn, label: group === "checkpoint" ? "机构" : groupLabel }), conclusions.rows, { foot: { ...conclusions.total, name: "合计" }, testid: "conclusion-table" }),
        table(conclusionColumns({ key: "kind", label: "检查方式", cell: (r) => KIND_LABELS[r.kind] }), conclusions.by_kind, { testid: "conclusion-kind-table" }),
      ),
    );
    clear(body).append(...sections);
    if (detailOffset === 0 && !detailFilters.state && !detailFilters.conclusion) {
      clear(detailHolder).append(detailTable(details, detailHolder));
    } else {
      loadDetails(detailHolder).catch((err) => onError(err, detailHolder));
    }
    chartsReady.then((ok) => {
      if (!ok || !body.isConnected) return;
      renderChart(trendChart, "trend", trend.points);
      const withTasks = completion.rows.filter((r) => r.due);
      barChart.hidden = withTasks.length === 0;
      if (withTasks.length) renderChart(barChart, "bars", withTasks);
      conclusionChart.hidden = conclusions.total.total === 0;
      if (conclusions.total.total) renderChart(conclusionChart, "pie", [conclusions.total]);
    });
  }

  let loading = null;
  let again = false;
  async function refresh() {
    if (loading) {
      again = true;
      return;
    }
    loading = load();
    try {
      draw(await loading);
      status.textContent = `更新于 ${new Date().toLocaleTimeString("zh-CN", { hour12: false })}`;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        clear(body).append(h("p", { class: "alert", role: "alert" }, err.detail));
      } else {
        clear(body);
        onError(err, body);
      }
    } finally {
      loading = null;
      if (again) {
        again = false;
        refresh();
      }
    }
  }

  let timer = null;
  onPushWhileShown(container, (event) => {
    if (event !== "supervision_changed") return;
    clearTimeout(timer);
    timer = setTimeout(() => container.isConnected && refresh(), RELOAD_DELAY_MS);
  });
  await refresh();
}
