// 异常处理: the anomalies of the jurisdiction (the exception handler's inbox) with the
// latest notifications; a new anomaly appears at once (pushed over /console), and opening
// one shows its details, history and the handler's actions.
import { api } from "../api.js";
import { clear, formatTime, h, show } from "../dom.js";
import { onPushWhileShown, refreshBadges } from "../inbox.js";
import { SEVERITY_LABELS, renderAnomalyDetail, severityBadge, stateBadges } from "./anomaly-detail.js";
import { ensureStylesheet } from "./form-dialog.js";
import { jurisdictionOrgs, listAndDetail, orgFilter, pageSummary, pager } from "./list-detail.js";

const PAGE = 20;
const STATE_FILTERS = [["", "全部"], ["open", "待处理"], ["acknowledged", "处理中"], ["resolved", "已处理"]];

function inboxPanel(onOpen) {
  const list = h("ul", { class: "inbox-list", "data-testid": "inbox" });
  const readAll = h("button", { type: "button", class: "btn btn-ghost" }, "全部标为已读");
  const panel = h(
    "section",
    { class: "card inbox-card", "aria-labelledby": "inbox-title" },
    h("div", { class: "card-head" }, h("h3", { id: "inbox-title" }, "我的消息"), readAll),
    list,
  );

  async function load() {
    let notes;
    try {
      notes = await api("/api/v1/notifications?limit=8");
    } catch {
      return;
    }
    clear(list).append(
      ...(notes.length
        ? notes.map((note) =>
            h(
              "li",
              { class: note.read_at ? "is-read" : "is-unread" },
              h(
                "button",
                {
                  type: "button",
                  class: "inbox-item",
                  onclick: async () => {
                    if (!note.read_at) await api(`/api/v1/notifications/${note.id}/read`, { method: "POST" }).catch(() => null);
                    onOpen(note);
                  },
                },
                h("span", { class: "inbox-title" }, note.title),
                h("span", { class: "inbox-body" }, note.body),
                h("span", { class: "inbox-time" }, formatTime(note.created_at)),
              ),
            ),
          )
        : [h("li", { class: "empty" }, "暂无消息")]),
    );
    readAll.disabled = !notes.some((note) => !note.read_at);
  }

  readAll.addEventListener("click", async () => {
    readAll.disabled = true;
    await api("/api/v1/notifications/read-all", { method: "POST" }).catch(() => null);
    await load();
    refreshBadges();
  });
  return { panel, load };
}

export async function renderAnomalies(container, { me, onError, path }) {
  ensureStylesheet();
  const orgs = await jurisdictionOrgs(container, onError);
  if (!orgs) return;
  const state = { state: "", severity: "", org_id: "", mine: false, offset: 0 };
  const fresh = new Set(); // ids pushed since the list was opened: highlighted

  const listView = h("div", { class: "anomalies-list" });
  const detailView = h("div", { class: "anomalies-detail", hidden: true });
  const inbox = inboxPanel((note) => (note.anomaly_id ? view.openDetail(note.anomaly_id) : (window.location.hash = `#/rectifications/${note.rectification_id}`)));
  container.append(h("div", { class: "anomalies-layout" }, h("div", { class: "anomalies-main" }, listView, detailView), inbox.panel));

  const stateButtons = STATE_FILTERS.map(([value, label]) =>
    h("button", { type: "button", class: "btn", "aria-pressed": String(value === state.state), "data-state": value }, label),
  );
  const severitySelect = h(
    "select",
    { "aria-label": "严重程度" },
    h("option", { value: "" }, "全部严重程度"),
    Object.entries(SEVERITY_LABELS).map(([value, label]) => h("option", { value }, label)),
  );
  const orgSelect = orgFilter(orgs);
  const mine = h("input", { type: "checkbox", id: "anomalies-mine" });
  const summary = h("span", { class: "muted", "data-testid": "anomaly-count" });
  const body = h("div", {});
  const message = h("p", { class: "form-error", role: "alert", hidden: true });
  const pages = pager(PAGE, (offset) => reload(offset));

  listView.append(
    h(
      "section",
      { class: "card" },
      h(
        "div",
        { class: "card-head" },
        h("h2", {}, "异常处理"),
        h("span", { class: "muted" }, "检查中发现的异常：超过处理期限未受理的将自动上报上级机构"),
      ),
      h(
        "div",
        { class: "filter-row" },
        h("div", { class: "filters", role: "group", "aria-label": "按状态筛选" }, stateButtons),
        severitySelect,
        orgSelect,
        h("label", { class: "check", for: "anomalies-mine" }, mine, `只看分派给${me.org.name}的`),
        h("span", { class: "spacer" }),
        summary,
      ),
      message,
      body,
      pages.node,
    ),
  );

  function table(items) {
    const rows = items.map((a) =>
      h(
        "tr",
        { "data-anomaly-id": String(a.id), class: fresh.has(a.id) ? "is-new" : null },
        h("td", { class: "nowrap" }, formatTime(a.created_at)),
        h(
          "td",
          {},
          h("button", { type: "button", class: "link", onclick: () => view.openDetail(a.id) }, a.indicator),
          a.source === "inspector" ? h("span", { class: "muted" }, "（检查员标记）") : null,
        ),
        h("td", {}, severityBadge(a.severity)),
        h("td", {}, a.checkpoint_name, h("div", { class: "muted small" }, `${a.org_name} · ${a.customer_name}`)),
        h("td", {}, stateBadges(a)),
        h("td", { class: "nowrap" }, a.handler_org_name || "未设置处理人"),
        h("td", { class: a.overdue ? "nowrap overdue" : "nowrap" }, a.state === "open" && a.deadline ? formatTime(a.deadline) : "—"),
      ),
    );
    const headings = ["发现时间", "预警指标", "严重程度", "检查点", "状态", "处理机构", "受理期限"];
    return h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "table", "data-testid": "anomalies-table" },
        h("thead", {}, h("tr", {}, headings.map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, rows),
      ),
    );
  }

  async function reload(offset = state.offset) {
    state.offset = offset;
    state.severity = severitySelect.value;
    state.org_id = orgSelect.value;
    state.mine = mine.checked;
    for (const button of stateButtons) button.setAttribute("aria-pressed", String(button.dataset.state === state.state));
    const query = new URLSearchParams({ offset: String(state.offset), limit: String(PAGE) });
    for (const key of ["state", "severity", "org_id"]) if (state[key]) query.set(key, state[key]);
    if (state.mine) query.set("handler_org_id", String(me.org.id));
    show(message, "");
    let page;
    try {
      page = await api(`/api/v1/anomalies?${query}`);
    } catch (err) {
      clear(body);
      onError(err, body);
      return;
    }
    clear(body).append(page.items.length ? table(page.items) : h("p", { class: "empty" }, "没有符合条件的异常"));
    summary.textContent = pageSummary(page, "条");
    pages.shown(page);
  }

  const view = listAndDetail({
    section: "anomalies",
    listView,
    detailView,
    renderDetail: renderAnomalyDetail,
    reload: () => reload(),
    context: () => ({ me, onError, onChanged: () => inbox.load() }),
    afterOpen: () => {
      inbox.load();
      refreshBadges();
    },
  });

  // Pushes: a new anomaly (or one changed elsewhere) shows up without reloading the page.
  onPushWhileShown(container, (event, data) => {
    if (event === "notification_created" || event === "notifications_changed") inbox.load();
    const id = event === "anomaly_updated" ? data.id : data && data.anomaly_id;
    if (!id) return;
    if (event === "notification_created") fresh.add(id);
    view.refresh(id);
  });

  for (const button of stateButtons) {
    button.addEventListener("click", () => {
      state.state = button.dataset.state;
      reload(0);
    });
  }
  for (const control of [severitySelect, orgSelect, mine]) control.addEventListener("change", () => reload(0));

  await Promise.all([reload(0), inbox.load()]);
  await view.openFromPath(path);
}
