// 审计日志: newest first, 50 at a time ("加载更多" pages with before_id).
import { api } from "../api.js";
import { formatTime, h } from "../dom.js";
import { AUDIT_ACTION_LABELS } from "../labels.js";

const PAGE = 50;
const DETAIL_LABELS = {
  reason: "原因",
  session_id: "会话",
  sessions_ended: "结束会话数",
  token_id: "令牌",
  name: "名称",
  template_id: "检查模板",
  version_id: "模板版本",
  number: "版本号",
  seeded: "系统预置",
};
const REASON_LABELS = { bad_credentials: "用户名或密码错误", inactive: "账号已停用" };

function detailText(detail) {
  if (!detail || typeof detail !== "object") return "";
  return Object.entries(detail)
    .map(([key, value]) => {
      const shown = key === "reason" && REASON_LABELS[value] ? REASON_LABELS[value] : value;
      const text = typeof shown === "object" ? JSON.stringify(shown) : String(shown);
      return `${DETAIL_LABELS[key] || key}：${text}`;
    })
    .join("；");
}

export async function renderAudit(container, { onError }) {
  const body = h("tbody");
  const more = h("button", { type: "button", class: "btn", hidden: true }, "加载更多");
  const status = h("p", { class: "muted", hidden: true });
  container.append(
    h(
      "section",
      { class: "card" },
      h("div", { class: "card-head" }, h("h2", {}, "审计日志"), h("span", { class: "muted" }, "辖区内的登录、权限与数据变更记录")),
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
      h("div", { class: "table-foot" }, more),
    ),
  );

  let lastId = null;
  async function load() {
    more.disabled = true;
    const query = new URLSearchParams({ limit: String(PAGE) });
    if (lastId !== null) query.set("before_id", String(lastId));
    let events;
    try {
      events = await api(`/api/v1/audit-events?${query}`);
    } catch (err) {
      onError(err, status);
      more.disabled = false;
      return;
    }
    for (const event of events) {
      body.append(
        h(
          "tr",
          {},
          h("td", { class: "nowrap" }, formatTime(event.at)),
          h("td", {}, AUDIT_ACTION_LABELS[event.action] || event.action),
          h("td", { class: "mono" }, event.actor_username || "—"),
          h("td", { class: "mono" }, event.ip || "—"),
          h("td", { class: "detail" }, detailText(event.detail)),
        ),
      );
    }
    if (events.length) lastId = events[events.length - 1].id;
    if (body.childElementCount === 0) {
      status.textContent = "暂无审计记录";
      status.hidden = false;
    }
    more.hidden = events.length < PAGE;
    more.disabled = false;
  }
  more.addEventListener("click", load);
  await load();
}
