// 整改意见: a board of the jurisdiction's rectifications by state (已下发 → 已反馈 →
// 重新整改 / 已关闭), overdue ones marked; issue one, open one for its history, photos and
// the verification (关闭 / 重新整改). A contact's reply arrives live (pushed over /console).
import { api } from "../api.js";
import { clear, formatTime, h, show } from "../dom.js";
import { onPushWhileShown } from "../inbox.js";
import { ensureStylesheet } from "./form-dialog.js";
import { jurisdictionOrgs, listAndDetail, orgFilter } from "./list-detail.js";
import { issueRectification } from "./rectification-dialogs.js";
import { renderRectificationDetail } from "./rectification-detail.js";

export const RECTIFICATION_STATES = { issued: "已下发", replied: "已反馈", reopened: "重新整改", closed: "已关闭" };
const COLUMNS = [
  ["issued", "等待企业反馈"],
  ["replied", "待银行验证"],
  ["reopened", "等待企业再次反馈"],
  ["closed", "整改完成"],
];
const PER_COLUMN = 50;

function card(r, onOpen) {
  return h(
    "li",
    {},
    h(
      "button",
      { type: "button", class: "board-card", "data-rectification-id": String(r.id), onclick: () => onOpen(r.id) },
      h("span", { class: "board-card-title" }, r.checkpoint_name),
      h("span", { class: "muted small" }, `${r.org_name} · ${r.customer_name}`),
      h("span", { class: "board-card-text" }, r.text.length > 60 ? `${r.text.slice(0, 60)}…` : r.text),
      h(
        "span",
        { class: "board-card-meta" },
        `期限 ${r.due_date}`,
        r.overdue ? h("span", { class: "badge badge-late" }, "逾期") : null,
        r.anomaly_indicator ? h("span", { class: "badge" }, r.anomaly_indicator) : null,
      ),
      h("span", { class: "muted small" }, `责任人 ${r.responsible_name} · 联系人 ${r.contact_name}`),
      r.replied_at ? h("span", { class: "muted small" }, `最近反馈 ${formatTime(r.replied_at)}`) : null,
    ),
  );
}

export async function renderRectifications(container, { me, onError, path }) {
  ensureStylesheet();
  const canManage = me.permissions.includes("rectification.manage");
  const orgs = await jurisdictionOrgs(container, onError);
  if (!orgs) return;
  const boardView = h("div", { class: "rectifications-board" });
  const detailView = h("div", { class: "rectifications-detail", hidden: true });
  container.append(boardView, detailView);

  const orgSelect = orgFilter(orgs);
  const overdueOnly = h("input", { type: "checkbox", id: "rect-overdue" });
  const mineOnly = h("input", { type: "checkbox", id: "rect-mine" });
  const message = h("p", { class: "form-error", role: "alert", hidden: true });
  const columns = COLUMNS.map(([state, hint]) => {
    const count = h("span", { class: "board-count" });
    const list = h("ul", { class: "board-list" });
    const column = h(
      "section",
      { class: "board-column", "data-state": state, "aria-label": RECTIFICATION_STATES[state] },
      h("div", { class: "board-head" }, h("h3", {}, RECTIFICATION_STATES[state]), count),
      h("p", { class: "hint" }, hint),
      list,
    );
    return { state, column, count, list };
  });

  boardView.append(
    h(
      "section",
      { class: "card" },
      h(
        "div",
        { class: "card-head" },
        h("h2", {}, "整改意见"),
        h("span", { class: "muted" }, "向企业下发整改意见，企业通过手机链接反馈整改情况，银行验证后关闭"),
        canManage ? h("button", { type: "button", class: "btn btn-primary head-action", onclick: create }, "下发整改意见") : null,
      ),
      h(
        "div",
        { class: "filter-row" },
        orgSelect,
        h("label", { class: "check", for: "rect-overdue" }, overdueOnly, "只看逾期"),
        h("label", { class: "check", for: "rect-mine" }, mineOnly, "只看我负责的"),
      ),
      message,
      h("div", { class: "board", "data-testid": "rectification-board" }, columns.map((c) => c.column)),
    ),
  );

  async function reload() {
    show(message, "");
    const query = new URLSearchParams({ limit: String(PER_COLUMN) });
    if (orgSelect.value) query.set("org_id", orgSelect.value);
    if (overdueOnly.checked) query.set("overdue", "true");
    if (mineOnly.checked) query.set("responsible_user_id", String(me.id));
    try {
      const pages = await Promise.all(columns.map((c) => api(`/api/v1/rectifications?${query}&state=${c.state}`)));
      columns.forEach((c, index) => {
        const page = pages[index];
        c.count.textContent = String(page.total);
        const more = page.total - page.items.length;
        clear(c.list).append(
          ...(page.items.length ? page.items.map((r) => card(r, view.openDetail)) : [h("li", { class: "empty" }, "暂无")]),
          ...(more > 0 ? [h("li", { class: "hint" }, `另有 ${more} 条，请用筛选缩小范围`)] : []),
        );
      });
    } catch (err) {
      onError(err, message);
    }
  }

  const view = listAndDetail({
    section: "rectifications",
    listView: boardView,
    detailView,
    renderDetail: renderRectificationDetail,
    reload,
    context: () => ({ me, onError }),
  });

  async function create() {
    try {
      const created = await issueRectification({ me });
      if (created) await reload();
    } catch (err) {
      onError(err, message);
    }
  }

  onPushWhileShown(container, (event, data) => {
    const id = data && data.rectification_id;
    if (event === "notification_created" && id) view.refresh(id);
  });

  for (const control of [orgSelect, overdueOnly, mineOnly]) control.addEventListener("change", reload);
  await reload();
  await view.openFromPath(path);
}
