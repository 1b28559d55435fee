// 检查任务: 我的任务 (assigned to me, or unassigned for my role in my 支行) with overdue and
// today's tasks first; by org for managers, filtered by state and period; managers assign a
// task to one inspector or back to the whole 支行.
import { ApiError, api } from "../api.js";
import { clear, h, show } from "../dom.js";
import { mapLinks, onSiteLink } from "../navigation.js";
import { ensureStylesheet } from "./checkpoint-dialogs.js";
import { jurisdictionOrgs, orgFilter, pageSummary, pager } from "./list-detail.js";
import { KIND_LABELS, ensurePlanStylesheet, lastDay } from "./plan-forms.js";

const PAGE = 50;
const STATES = [
  ["", "全部"],
  ["pending", "待检查"],
  ["in_progress", "进行中"],
  ["overdue", "逾期"],
  ["done", "已完成"],
];
const STATE_LABELS = Object.fromEntries(STATES.filter(([v]) => v));
const STATE_BADGES = { pending: "badge-soon", in_progress: "badge-soon", overdue: "badge-overdue", done: "badge-ok" };

function monthRange(month) {
  // "2026-11" → the month's first and last day.
  const [year, m] = month.split("-").map(Number);
  const last = new Date(Date.UTC(year, m, 0)).getUTCDate();
  return [`${month}-01`, `${month}-${String(last).padStart(2, "0")}`];
}

/** The query of one page of tasks: 我的任务 (open ones unless a state is chosen) or by org. */
function taskQuery(state, offset, orgId, monthValue) {
  const query = new URLSearchParams({ offset: String(offset), limit: String(PAGE) });
  if (state.view === "mine") {
    query.set("mine", "true");
    if (!state.state) query.set("open", "true");
  } else if (orgId) query.set("org_id", orgId);
  if (state.state) query.set("state", state.state);
  if (monthValue) {
    const [from, to] = monthRange(monthValue);
    query.set("period_from", from);
    query.set("period_to", to);
  }
  return query;
}

export async function renderTasks(container, { me, onError }) {
  ensureStylesheet();
  ensurePlanStylesheet();
  const canAssign = me.permissions.includes("task.assign");
  const canInspect = me.permissions.includes("inspection.run") && me.permissions.includes("checkpoint.check_in");
  const canCall = me.permissions.includes("remote.run");
  const state = { view: canAssign ? "org" : "mine", state: "", offset: 0 };
  // The first page is asked for together with the org tree, not after it (the landing of
  // every inspector: one round trip instead of two).
  const firstPage = api(`/api/v1/tasks?${taskQuery(state, 0, "", "")}`);
  firstPage.catch(() => {}); // its error is shown by reload; never an unhandled rejection
  const orgs = await jurisdictionOrgs(container, onError);
  if (!orgs) return;
  const viewButtons = [
    ["mine", "我的任务"],
    ["org", "按机构"],
  ].map(([value, label]) => h("button", { type: "button", class: "btn", "data-view": value, "aria-pressed": "false" }, label));
  const stateButtons = STATES.map(([value, label]) => h("button", { type: "button", class: "btn", "data-state": value, "aria-pressed": "false" }, label));
  const orgSelect = orgFilter(orgs);
  const month = h("input", { type: "month", "aria-label": "检查周期（月份）" });
  const summary = h("span", { class: "muted", "data-testid": "task-count" });
  const message = h("p", { class: "form-error", role: "alert", hidden: true });
  const notice = h("p", { class: "form-success", role: "status", hidden: true });
  const body = h("div", {});
  const pages = pager(PAGE, (offset) => reload(offset));
  container.append(
    h(
      "section",
      { class: "card" },
      h(
        "div",
        { class: "card-head" },
        h("h2", {}, "检查任务"),
        h("span", { class: "muted" }, "逾期和本期任务在前；周期按北京时间"),
        // On a phone at the site: the same tasks, kept for use without network.
        canInspect ? h("a", { class: "btn btn-small", href: "/field", "data-testid": "field-link" }, "手机版我的任务（可离线）") : null,
      ),
      h(
        "div",
        { class: "filter-row" },
        h("div", { class: "filters", role: "group", "aria-label": "任务范围" }, viewButtons),
        orgSelect,
        h("div", { class: "filters", role: "group", "aria-label": "按状态筛选" }, stateButtons),
        month,
      ),
      h("div", { class: "checkpoint-tools" }, summary),
      notice,
      message,
      body,
      pages.node,
    ),
  );

  function badge(task) {
    return h("span", { class: `badge ${STATE_BADGES[task.state]}` }, STATE_LABELS[task.state]);
  }

  function table(page) {
    const heads = ["检查点", "企业/借款人", "支行", "检查计划", "检查周期", "截止日期", "状态", "检查人", "操作"];
    return h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "table", "data-testid": "tasks-table" },
        h("thead", {}, h("tr", {}, heads.map((t) => h("th", { scope: "col" }, t)))),
        h(
          "tbody",
          {},
          page.items.map((task) =>
            h(
              "tr",
              { "data-code": task.checkpoint_code, "data-state": task.state },
              h("td", {}, h("span", { class: "mono" }, task.checkpoint_code), " ", task.checkpoint_name),
              h("td", {}, task.customer_name),
              h("td", { class: "nowrap" }, task.org_name),
              h("td", {}, task.plan_name, task.kind === "exit" ? h("span", { class: "badge badge-off" }, KIND_LABELS.exit) : null),
              h("td", { class: "nowrap" }, `${task.period_start} 至 ${lastDay(task.period_end)}`),
              h("td", { class: "nowrap" }, task.due_date),
              h("td", {}, badge(task)),
              h("td", {}, task.assignee_name || h("span", { class: "muted" }, "本支行检查人")),
              h("td", { class: "row-actions" }, taskActions(task)),
            ),
          ),
        ),
      ),
    );
  }

  /** 开始检查 (the phone's scanner, this checkpoint expected), 导航, 发起远程巡检, 分派. */
  function taskActions(task) {
    if (task.state === "done") return null;
    const small = (label, attrs) => h(attrs.href ? "a" : "button", { class: "btn btn-small", ...(attrs.href ? {} : { type: "button" }), ...attrs }, label);
    return [
      canInspect ? small("开始检查", { href: onSiteLink(task.checkpoint_id, task.checklist_template_id), "data-action": "start" }) : null,
      small("导航", { onclick: (event) => navigate(task, event.currentTarget) }),
      canCall ? small("发起远程巡检", { href: `#/remote?checkpoint=${task.checkpoint_id}` }) : null,
      canAssign ? small("分派", { onclick: () => assign(task) }) : null,
    ];
  }

  /** The checkpoint's map links (Baidu, Amap), from its bound position. */
  async function navigate(task, button) {
    show(message, "");
    button.disabled = true;
    try {
      const checkpoint = await api(`/api/v1/checkpoints/${task.checkpoint_id}`);
      if (!checkpoint.navigation) {
        show(message, `「${task.checkpoint_name}」尚未定位（首次现场扫码后绑定位置），暂无法导航${checkpoint.address ? `；地址：${checkpoint.address}` : ""}`);
        return;
      }
      button.replaceWith(mapLinks(checkpoint.navigation, { small: true }));
    } catch (err) {
      show(message, err instanceof ApiError ? err.detail : "加载失败，请稍后再试");
    } finally {
      button.disabled = false;
    }
  }

  async function reload(offset = state.offset, prefetched = null) {
    state.offset = offset;
    for (const b of viewButtons) b.setAttribute("aria-pressed", String(b.dataset.view === state.view));
    for (const b of stateButtons) b.setAttribute("aria-pressed", String(b.dataset.state === state.state));
    orgSelect.disabled = state.view === "mine";
    const query = taskQuery(state, offset, orgSelect.value, month.value);
    clear(body).append(h("p", { class: "loading" }, "加载中…"));
    show(message, "");
    let page;
    try {
      page = await (prefetched ?? api(`/api/v1/tasks?${query}`));
    } catch (err) {
      clear(body);
      onError(err, body);
      return;
    }
    const empty = state.view === "mine" ? "没有待办任务" : "没有符合条件的任务";
    clear(body).append(page.items.length ? table(page) : h("p", { class: "empty" }, empty));
    summary.textContent = pageSummary(page, "个", `（${page.today}）`);
    pages.shown(page);
  }

  async function assign(task) {
    let users;
    try {
      users = await api(`/api/v1/users?org_id=${task.org_id}&role=${task.executor_role}`);
    } catch (err) {
      show(message, err instanceof ApiError ? err.detail : "加载失败，请稍后再试");
      return;
    }
    const picker = h(
      "select",
      { id: "task-assignee", name: "assignee" },
      h("option", { value: "" }, "本支行全部检查人（不指定）"),
      users.filter((u) => u.is_active).map((u) => h("option", { value: String(u.id), selected: u.id === task.assignee_user_id }, `${u.display_name}（${u.username}）`)),
    );
    const error = h("p", { class: "form-error", role: "alert", hidden: true });
    const save = h("button", { type: "submit", class: "btn btn-primary" }, "确认分派");
    const cancel = h("button", { type: "button", class: "btn" }, "取消");
    const form = h(
      "form",
      { class: "form", novalidate: true },
      h("p", {}, `${task.checkpoint_code} ${task.checkpoint_name}，${task.period_start} 至 ${lastDay(task.period_end)}`),
      h("div", { class: "field" }, h("label", { class: "field-label", for: "task-assignee" }, "检查人"), picker),
      error,
      h("div", { class: "dialog-actions" }, cancel, save),
    );
    const dialog = h("dialog", { class: "dialog", "aria-label": "分派任务" }, h("h2", {}, "分派任务"), form);
    dialog.addEventListener("close", () => dialog.remove());
    cancel.addEventListener("click", () => dialog.close());
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      save.disabled = true;
      try {
        const saved = await api(`/api/v1/tasks/${task.id}/assign`, {
          method: "POST",
          body: { assignee_user_id: picker.value ? Number(picker.value) : null },
        });
        dialog.close();
        show(notice, saved.assignee_name ? `已分派给 ${saved.assignee_name}` : "已改为本支行全部检查人");
        await reload();
      } catch (err) {
        save.disabled = false;
        show(error, err instanceof ApiError ? err.detail : "分派失败，请稍后再试");
      }
    });
    document.body.append(dialog);
    dialog.showModal();
  }

  for (const b of viewButtons) b.addEventListener("click", () => { state.view = b.dataset.view; reload(0); });
  for (const b of stateButtons) b.addEventListener("click", () => { state.state = b.dataset.state; reload(0); });
  orgSelect.addEventListener("change", () => reload(0));
  month.addEventListener("change", () => reload(0));
  await reload(0, firstPage);
}
