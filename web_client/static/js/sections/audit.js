// 审计日志: newest first, 50 at a time ("加载更多" pages with before_id and the same
// filters): by Beijing days (both inclusive), 操作人, 对象类型 and 操作类型, kept in the
// address (#/audit?date_from=…&action=…) so a link or a reload shows the same; 导出
// downloads every event they select as CSV.
import { ApiError, api } from "../api.js";
import { formatTime, h, show } from "../dom.js";

const PAGE = 50;
// 详情 is worded by the server (`detail_parts`, the same words as the export's 详情): each
// part 「label：text」; a record the caller may see (`ref`, "kind:id") is a link to it where the
// console has a view of it and the caller may open that section.
const DETAIL_VIEWS = {
  checkpoint: [(id) => `#/checkpoints/${id}`, "checkpoint.read"],
  inspection: [(id) => `#/inspections/${id}`, "inspection.read"],
  anomaly: [(id) => `#/anomalies/${id}`, "anomaly.read"],
  rectification: [(id) => `#/rectifications/${id}`, "rectification.read"],
  template: [(id) => `#/checklists/${id}`, "checklist.read"],
  remote_session: [(id) => `/remote/${id}`, "remote.read"],
};

/** A value as the server words it; a link to its record where there is one to open. A record
 * said by its number (检查记录 #12) has its name as the link's title. */
function valueNode(value, event, me) {
  const [kind, id] = value.ref ? value.ref.split(":") : [];
  const view = DETAIL_VIEWS[kind];
  if (!view || !me.permissions.includes(view[1])) return value.text;
  const name = (event.names || {})[value.ref];
  return h("a", { class: "link", href: view[0](id), title: name && name !== value.text ? name : null }, value.text);
}

function joined(parts, separator) {
  return parts.flatMap((part, index) => (index ? [separator, part] : [part]));
}

function detailNodes(event, me) {
  const value = (v) => valueNode(v, event, me);
  return joined(
    (event.detail_parts || []).map((part) => {
      if (!part.changes) return h("span", { "data-key": part.key }, `${part.label}：`, value(part));
      const changed = part.changes.map((change) =>
        change.before
          ? h("span", {}, `${change.label} `, value(change.before), " → ", value(change.after))
          : h("span", {}, `${change.label} `, value(change.after)),
      );
      return h("span", { "data-key": part.key }, `${part.label}：`, joined(changed, "，"));
    }),
    "；",
  );
}

function actorCell(event) {
  if (!event.actor_username) return h("td", {}, "—");
  if (!event.actor_name) return h("td", {}, event.actor_username);
  return h("td", {}, event.actor_name, h("div", { class: "muted small mono" }, event.actor_username));
}

/** The filters of the address (#/audit?date_from=…&action=…), the API's own names. */
const FILTERS = ["date_from", "date_to", "actor_user_id", "object_type", "action"];

function select(label, testid, blank, options) {
  return h("select", { "aria-label": label, "data-filter": testid }, h("option", { value: "" }, blank), options);
}

/** The users who may have acted here (操作人), or null when the caller may not list them. */
async function actorsOf(me) {
  if (!me.permissions.includes("user.read")) return null;
  try {
    return await api("/api/v1/users");
  } catch {
    return null; // the log still reads without this filter
  }
}

export async function renderAudit(container, { me, onError, query }) {
  let choices;
  let users;
  try {
    [choices, users] = await Promise.all([api("/api/v1/audit-events/actions"), actorsOf(me)]);
  } catch (err) {
    onError(err, container);
    return;
  }
  const objectLabels = new Map(choices.map((c) => [c.object_type, c.object_label]));
  const controls = {
    date_from: h("input", { type: "date", "aria-label": "开始日期", "data-filter": "date_from" }),
    date_to: h("input", { type: "date", "aria-label": "结束日期", "data-filter": "date_to" }),
    actor_user_id: users
      ? select(
          "操作人",
          "actor_user_id",
          "全部操作人",
          users.map((u) => h("option", { value: String(u.id) }, `${u.display_name}（${u.username}）`)),
        )
      : null,
    object_type: select("对象类型", "object_type", "全部对象类型", [...objectLabels].map(([value, label]) => h("option", { value }, label))),
    action: select("操作类型", "action", "全部操作类型", []),
  };
  /** 操作类型 grouped by 对象类型; only those of the chosen 对象类型 once one is. */
  function actionOptions() {
    const kept = controls.action.value;
    const wanted = controls.object_type.value;
    const groups = [...objectLabels]
      .filter(([type]) => !wanted || type === wanted)
      .map(([type, label]) =>
        h(
          "optgroup",
          { label },
          choices.filter((c) => c.object_type === type).map((c) => h("option", { value: c.action }, c.label)),
        ),
      );
    controls.action.replaceChildren(h("option", { value: "" }, "全部操作类型"), ...groups);
    controls.action.value = [...controls.action.options].some((o) => o.value === kept) ? kept : "";
  }
  // A link (or a reload) keeps the filters: they live in the address.
  for (const name of FILTERS) {
    const preset = query && query.get(name);
    const control = controls[name];
    if (!preset || !control) continue;
    if (name === "action") {
      const known = choices.find((c) => c.action === preset);
      if (known && !query.get("object_type")) controls.object_type.value = known.object_type;
      actionOptions();
    }
    if (control.tagName === "SELECT" && ![...control.options].some((o) => o.value === preset)) continue;
    control.value = preset;
  }
  actionOptions();

  const reset = h("button", { type: "button", class: "btn", "data-testid": "audit-reset" }, "清除筛选");
  // 导出: every event the filters select (not only the pages shown), as CSV for Excel; a
  // plain download, as the supervision exports are. Hidden while the filters are refused.
  const exportLink = h(
    "a",
    { class: "btn", download: "", "data-testid": "audit-export", title: "按当前筛选条件导出全部记录（CSV，可用 Excel 打开）" },
    "导出",
  );
  const summary = h("span", { class: "muted", "data-testid": "audit-count" });
  const message = h("p", { class: "form-error", role: "alert", hidden: true });
  const body = h("tbody");
  const more = h("button", { type: "button", class: "btn", hidden: true }, "加载更多");
  const status = h("p", { class: "muted", hidden: true });
  container.append(
    h(
      "section",
      { class: "card" },
      h("div", { class: "card-head" }, h("h2", {}, "审计日志"), h("span", { class: "muted" }, "辖区内的登录、权限与数据变更记录；日期按北京时间，含起止两天")),
      h(
        "div",
        { class: "filter-row", role: "search", "aria-label": "筛选审计日志" },
        h("span", { class: "filter-range" }, controls.date_from, h("span", { class: "muted" }, "至"), controls.date_to),
        controls.actor_user_id,
        controls.object_type,
        controls.action,
        reset,
        h("span", { class: "spacer" }),
        exportLink,
      ),
      message,
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "table", "data-testid": "audit-table" },
          h("thead", {}, h("tr", {}, ["时间", "操作", "操作人", "IP 地址", "详情"].map((t) => h("th", { scope: "col" }, t)))),
          body,
        ),
      ),
      status,
      h("div", { class: "table-foot pager" }, summary, more),
    ),
  );

  function filters() {
    const chosen = new URLSearchParams();
    for (const name of FILTERS) if (controls[name] && controls[name].value) chosen.set(name, controls[name].value);
    return chosen;
  }

  let lastId = null;
  let shown = 0;
  let generation = 0;
  /** The next page with the filters; `fresh` starts again from the newest. */
  async function load(fresh) {
    const token = fresh ? ++generation : generation;
    if (fresh) {
      lastId = null;
      shown = 0;
      body.replaceChildren();
      status.hidden = true;
    }
    more.disabled = true;
    show(message, "");
    const params = filters();
    params.set("limit", String(PAGE));
    if (lastId !== null) params.set("before_id", String(lastId));
    let events;
    try {
      events = await api(`/api/v1/audit-events?${params}`);
    } catch (err) {
      if (token !== generation) return;
      if (err instanceof ApiError && err.status === 422) {
        show(message, err.detail);
        exportLink.hidden = true; // the export would refuse the same filters
      } else onError(err, status.parentNode);
      more.hidden = true;
      summary.textContent = "";
      return;
    }
    if (token !== generation) return; // the filters changed while this page was on its way
    exportLink.hidden = false;
    for (const event of events) {
      body.append(
        h(
          "tr",
          { "data-action": event.action },
          h("td", { class: "nowrap" }, formatTime(event.at)),
          h("td", { class: "nowrap" }, event.action_label || event.action),
          actorCell(event),
          h("td", { class: "mono" }, event.ip || "—"),
          h("td", { class: "detail", "data-testid": "audit-detail" }, detailNodes(event, me)),
        ),
      );
    }
    shown += events.length;
    if (events.length) lastId = events[events.length - 1].id;
    const filtered = [...filters()].length > 0;
    show(status, shown ? "" : filtered ? "没有符合条件的审计记录" : "暂无审计记录");
    summary.textContent = shown ? `已显示 ${shown} 条${events.length < PAGE ? "（全部）" : ""}` : "";
    more.hidden = events.length < PAGE;
    more.disabled = false;
  }

  /** A changed filter: into the address (no new history entry), then the newest page. */
  function apply() {
    controls.date_to.min = controls.date_from.value;
    controls.date_from.max = controls.date_to.value;
    const search = filters().toString();
    const hash = search ? `#/audit?${search}` : "#/audit";
    if (window.location.hash !== hash) history.replaceState(null, "", hash);
    exportLink.href = search ? `/api/v1/audit-events/export?${search}` : "/api/v1/audit-events/export";
    return load(true);
  }
  controls.object_type.addEventListener("change", () => {
    actionOptions();
    apply();
  });
  for (const name of ["date_from", "date_to", "actor_user_id", "action"]) controls[name]?.addEventListener("change", apply);
  reset.addEventListener("click", () => {
    for (const control of Object.values(controls)) if (control) control.value = "";
    actionOptions();
    apply();
  });
  more.addEventListener("click", () => load(false));
  await apply();
}
