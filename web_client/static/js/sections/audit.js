// 审计日志: newest first, 50 at a time ("加载更多" pages with before_id and the same
// filters): by Beijing days (both inclusive), 操作人, 对象类型 and 操作类型, kept in the
// address (#/audit?date_from=…&action=…) so a link or a reload shows the same; 导出
// downloads every event they select as CSV.
import { ApiError, api } from "../api.js";
import { formatTime, h, show } from "../dom.js";
import { ROLE_LABELS } from "../labels.js";
import { SEVERITY_LABELS } from "./anomaly-detail.js";

const PAGE = 50;
// What each detail member is, as a person reads it (the keys are the services' audit
// fields); a key without a label is shown as is.
const DETAIL_LABELS = {
  reason: "原因",
  reason_label: "原因",
  previous_reason: "原原因",
  session_id: "会话", // said by what it is (SESSION_LABELS) where the server knows
  sessions_ended: "结束会话数",
  tokens_revoked: "吊销令牌数",
  token_id: "令牌",
  name: "名称",
  code: "编号",
  title: "标题",
  text: "内容",
  comment: "意见",
  note: "备注",
  previous_note: "原备注",
  kind: "类型",
  template_id: "检查模板",
  checklist_template_id: "检查模板",
  version_id: "模板版本",
  number: "版本号",
  seeded: "系统预置",
  checkpoint_id: "检查点",
  inspection_id: "检查记录",
  anomaly_id: "异常",
  rectification_id: "整改意见",
  opinion_id: "整改意见",
  unlock_request_id: "解锁申请",
  plan_id: "检查计划",
  rule_id: "全局规则",
  rule_name: "规则名称",
  task_id: "检查任务",
  period_start: "检查周期开始",
  start_date: "开始日期",
  end_date: "结束日期",
  date: "日期",
  previous_date: "原日期",
  due_date: "期限",
  expires_at: "有效期至",
  reopened_until: "重新开放至",
  print_deadline: "打印截止",
  print_count: "打印次数",
  executor_role: "执行角色",
  auto_join: "自动加入",
  roles: "角色",
  user_id: "用户",
  username: "用户名",
  previous_user_id: "原负责人",
  assignee_user_id: "分派给",
  assignee_username: "分派给",
  responsible_user_id: "责任人",
  org_id: "机构",
  from_org_id: "原机构",
  to_org_id: "新机构",
  handler_org_id: "处理机构",
  approver_org_id: "审批机构",
  escalation_level: "上报级数",
  indicator: "预警指标",
  severity: "严重程度",
  source: "来源",
  invite_id: "邀请",
  participant_id: "参与者",
  enterprise_name: "企业名称",
  contact_name: "企业联系人",
  generation: "标签代次",
  retired_generation: "作废的标签代次",
  distance_m: "距离（米）",
  radius_m: "误差范围（米）",
  accuracy_m: "定位精度（米）",
  latitude: "纬度",
  longitude: "经度",
  old_latitude: "原纬度",
  old_longitude: "原经度",
  old_bound_at: "原定位时间",
  photos: "照片数",
  old: "原值",
  new: "新值",
  changes: "修改",
  // Fields of a plan rule, a checkpoint, a user (the changes of an edit), as the API names them.
  org_kind: "机构类型",
  frequency: "计划频次",
  interval: "时间间隔",
  inspection_type: "检查类型",
  validity: "历史检查有效期",
  validity_unit: "有效期单位",
  exit_rule: "退出规则",
  exit_interval: "退出点检查频率",
  exit_unit: "退出点频率单位",
  exit_count: "退出点检查次数",
  first_rule: "首巡开始规则",
  customer_name: "企业/借款人名称",
  loan_amount: "贷款金额",
  loan_date: "放款日期",
  maturity_date: "到期日",
  classification: "五级分类",
  address: "地址",
  contact_phone: "联系电话",
  display_name: "姓名",
  is_active: "启用",
  password: "密码",
};
const REASON_LABELS = { bad_credentials: "用户名或密码错误", inactive: "账号已停用" };
// Values that are codes: said by their member.
const VALUE_LABELS = {
  reason: REASON_LABELS,
  severity: SEVERITY_LABELS,
  source: { rule: "检查项预警规则", inspector: "检查员标记" },
  executor_role: ROLE_LABELS,
  roles: ROLE_LABELS,
  password: { reset: "已重置" },
};

// A detail value that is a record's id: the server says which kind (`refs`, detail key →
// kind) and names those inside the caller's jurisdiction (`names`, "kind:id" → name); one
// with a view in the console is a link to it when the caller may open that section.
// A record known by its number rather than its name says which kind it is: 检查记录 #12.
const NUMBERED = { inspection: "检查记录", rectification: "整改意见" };
const DETAIL_VIEWS = {
  checkpoint: [(id) => `#/checkpoints/${id}`, "checkpoint.read"],
  inspection: [(id) => `#/inspections/${id}`, "inspection.read"],
  anomaly: [(id) => `#/anomalies/${id}`, "anomaly.read"],
  rectification: [(id) => `#/rectifications/${id}`, "rectification.read"],
  template: [(id) => `#/checklists/${id}`, "checklist.read"],
  remote_session: [(id) => `/remote/${id}`, "remote.read"],
};
// `session_id` is a login's session or a remote inspection, by the event (its `refs`).
const SESSION_LABELS = { login_session: "登录会话", remote_session: "远程巡检" };

function valueText(key, value) {
  if (value === null || value === undefined || value === "") return "无";
  if (value === true) return "是";
  if (value === false) return "否";
  const labels = VALUE_LABELS[key];
  if (Array.isArray(value)) return value.map((v) => valueText(key, v)).join("、") || "无";
  if (typeof value === "object") return JSON.stringify(value);
  return labels && labels[value] ? labels[value] : String(value);
}

/** A detail value as a person reads it: a record's name (a link to it where the console
 * shows it), a label for a code, or the value itself. */
function valueNode(key, value, event, me) {
  const kind = (event.refs || {})[key];
  if (!kind || typeof value !== "number") return valueText(key, value);
  const name = (event.names || {})[`${kind}:${value}`];
  const text = NUMBERED[kind] ? `${NUMBERED[kind]} #${value}` : name || `#${value}`;
  const view = DETAIL_VIEWS[kind];
  if (!name || !view || !me.permissions.includes(view[1])) return text;
  return h("a", { class: "link", href: view[0](value), title: NUMBERED[kind] ? name : null }, text);
}

function joined(parts, separator) {
  return parts.flatMap((part, index) => (index ? [separator, part] : [part]));
}

function detailNodes(event, me) {
  const detail = event.detail;
  if (!detail || typeof detail !== "object") return [];
  // An edit's changes are {field: [before, after]}; a user's are {field: after}.
  const pairs = event.action !== "user_updated";
  const value = (key, v) => valueNode(key, v, event, me);
  return joined(
    Object.entries(detail).map(([key, v]) => {
      const label = (key === "session_id" && SESSION_LABELS[(event.refs || {})[key]]) || DETAIL_LABELS[key] || key;
      if (key === "changes" && v && typeof v === "object" && !Array.isArray(v)) {
        const changed = Object.entries(v).map(([field, change]) =>
          pairs && Array.isArray(change) && change.length === 2
            ? h("span", {}, `${DETAIL_LABELS[field] || field} `, value(field, change[0]), " → ", value(field, change[1]))
            : h("span", {}, `${DETAIL_LABELS[field] || field} `, value(field, change)),
        );
        return h("span", {}, `${label}：`, joined(changed, "，"));
      }
      return h("span", { "data-key": key }, `${label}：`, value(key, v));
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
