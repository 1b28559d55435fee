// 异常详情: what was found where, the history (处理记录), and the exception handler's
// actions: 受理, 处理完成, 转派; inspectors may issue a 整改意见 for it from here.
import { ApiError, api } from "../api.js";
import { clear, formatTime, h, show, timeline } from "../dom.js";
import { answerText, formDialog } from "./form-dialog.js";
import { issueRectification } from "./rectification-dialogs.js";

export const SEVERITY_LABELS = { high: "严重", medium: "较重", low: "一般" };
export const STATE_LABELS = { open: "待处理", acknowledged: "处理中", resolved: "已处理" };
const SOURCE_LABELS = { rule: "检查项预警规则", inspector: "检查员标记" };
const EVENT_LABELS = {
  raised: "发现异常",
  acknowledged: "受理",
  resolved: "处理完成",
  reassigned: "转派",
  escalated: "超期上报",
  overdue: "超期未受理（上级机构无异常处理人）",
};
const RECTIFICATION_STATES = { issued: "已下发", replied: "已反馈", closed: "已关闭", reopened: "重新整改" };

export function severityBadge(severity) {
  return h("span", { class: `badge severity-${severity}` }, SEVERITY_LABELS[severity] || severity);
}

export function stateBadges(anomaly) {
  return [
    h("span", { class: `badge anomaly-${anomaly.state}`, "data-testid": "anomaly-state" }, STATE_LABELS[anomaly.state] || anomaly.state),
    anomaly.escalated ? h("span", { class: "badge badge-escalated" }, "已上报") : null,
    anomaly.overdue ? h("span", { class: "badge badge-late" }, "已超期") : null,
  ];
}

function facts(a) {
  const row = (label, ...value) => [h("dt", {}, label), h("dd", {}, ...value)];
  return h(
    "dl",
    { class: "facts", "data-testid": "anomaly-facts" },
    row("检查点", `${a.checkpoint_name}（${a.checkpoint_code}）`),
    row("企业/借款人", a.customer_name),
    row("所属支行", a.org_name),
    a.item_label ? row("检查项", a.section ? `${a.section} · ${a.item_label}` : a.item_label) : null,
    a.item_key ? row("检查结果", answerText(a.answer)) : null,
    row("来源", SOURCE_LABELS[a.source] || a.source),
    a.note ? row("检查员说明", a.note) : null,
    row("发现时间", formatTime(a.created_at)),
    row("处理机构", a.handler_org_name || "未设置异常处理人"),
    a.state === "open" ? row("受理期限", a.deadline ? formatTime(a.deadline) : "已超期（无上级处理人）") : null,
    a.escalated ? row("上报", `已上报 ${a.escalation_level} 次，最近于 ${formatTime(a.escalated_at)}`) : null,
    a.state === "resolved" ? row("处理结果", a.resolution) : null,
  );
}

function history(events) {
  return timeline("anomaly-history", events, (e) => ({
    what: [
      `${e.actor_name || "系统"} · ${EVENT_LABELS[e.kind] || e.kind}`,
      e.kind === "reassigned" || e.kind === "escalated" ? `：${e.from_org_name || "—"} → ${e.to_org_name || "—"}` : "",
      e.kind === "raised" && e.to_org_name ? `，通知${e.to_org_name}异常处理人` : "",
    ],
    below: [e.comment ? h("p", { class: "comment" }, e.comment) : null],
  }));
}

async function rectificationsOf(anomaly, me) {
  if (!me.permissions.includes("rectification.read")) return null;
  let page;
  try {
    page = await api(`/api/v1/rectifications?anomaly_id=${anomaly.id}`);
  } catch {
    return null;
  }
  if (!page.items.length) return h("p", { class: "hint" }, "尚未下发整改意见");
  return h(
    "ul",
    { class: "link-list" },
    page.items.map((r) =>
      h(
        "li",
        {},
        h("a", { href: `#/rectifications/${r.id}` }, r.text.length > 40 ? `${r.text.slice(0, 40)}…` : r.text),
        " ",
        h("span", { class: "badge" }, RECTIFICATION_STATES[r.state] || r.state),
        ` 期限 ${r.due_date}`,
      ),
    ),
  );
}

/** Render anomaly `id` into `container`; `ctx`: me, onError, onBack(), onChanged(). */
export async function renderAnomalyDetail(container, id, ctx) {
  let a;
  try {
    a = await api(`/api/v1/anomalies/${id}`);
  } catch (err) {
    clear(container).append(h("button", { type: "button", class: "btn btn-ghost", onclick: ctx.onBack }, "← 返回列表"));
    ctx.onError(err, container);
    return;
  }
  // Seen: the notifications about it are read (the badge follows through a push).
  api(`/api/v1/notifications/read-all?anomaly_id=${a.id}`, { method: "POST" }).catch(() => null);

  const message = h("p", { class: "form-error", role: "alert", hidden: true });
  const base = `/api/v1/anomalies/${a.id}`;
  const rerender = () => renderAnomalyDetail(container, id, ctx);
  async function act(work) {
    show(message, "");
    try {
      if ((await work()) === null) return; // cancelled
      ctx.onChanged();
      await rerender();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) ctx.onError(err, message);
      else show(message, err instanceof ApiError ? err.detail : "操作失败，请稍后再试");
    }
  }

  const actions = [];
  if (a.can_handle && a.state === "open") {
    actions.push(
      h(
        "button",
        {
          type: "button",
          class: "btn btn-primary",
          onclick: () =>
            act(() =>
              formDialog({
                title: "受理异常",
                intro: "受理后进入「处理中」，不再超期上报。",
                fields: [{ name: "comment", label: "受理说明（可选）", kind: "textarea", rows: 3 }],
                submitLabel: "确认受理",
                send: (body) => api(`${base}/acknowledge`, { method: "POST", body }),
              }),
            ),
        },
        "受理",
      ),
    );
  }
  if (a.can_handle && a.state !== "resolved") {
    actions.push(
      h(
        "button",
        {
          type: "button",
          class: a.state === "open" ? "btn" : "btn btn-primary",
          onclick: () =>
            act(() =>
              formDialog({
                title: "处理完成",
                fields: [{ name: "resolution", label: "处理结果", kind: "textarea", required: true, placeholder: "已采取的措施和结论" }],
                submitLabel: "确认处理完成",
                send: (body) => api(`${base}/resolve`, { method: "POST", body }),
              }),
            ),
        },
        "处理完成",
      ),
    );
  }
  if (a.can_handle && a.reassign_targets.length) {
    actions.push(
      h(
        "button",
        {
          type: "button",
          class: "btn",
          onclick: () =>
            act(() =>
              formDialog({
                title: "转派异常",
                intro: "转派后由所选机构的异常处理人重新受理，受理期限重新计算。",
                fields: [
                  {
                    name: "handler_org_id",
                    label: "转派给",
                    kind: "select",
                    options: a.reassign_targets.map((t) => [t.org_id, `${t.org_name}（${t.handlers} 名异常处理人）`]),
                  },
                  { name: "comment", label: "转派说明（可选）", kind: "textarea", rows: 3 },
                ],
                submitLabel: "确认转派",
                send: (body) => api(`${base}/reassign`, { method: "POST", body: { ...body, handler_org_id: Number(body.handler_org_id) } }),
              }),
            ),
        },
        "转派",
      ),
    );
  }
  if (ctx.me.permissions.includes("rectification.manage") && a.state !== "resolved") {
    actions.push(
      h("button", { type: "button", class: "btn", onclick: () => act(() => issueRectification({ me: ctx.me, anomaly: a })) }, "下发整改意见"),
    );
  }

  const rectifications = await rectificationsOf(a, ctx.me);
  clear(container).append(
    h(
      "section",
      { class: "card anomaly-detail", "data-testid": "anomaly-detail", "data-anomaly-id": String(a.id) },
      h(
        "div",
        { class: "card-head" },
        h("button", { type: "button", class: "btn btn-ghost", onclick: ctx.onBack }, "← 返回列表"),
        h("h2", {}, a.indicator),
        severityBadge(a.severity),
        stateBadges(a),
      ),
      actions.length ? h("div", { class: "detail-actions" }, actions) : null,
      message,
      facts(a),
      rectifications ? [h("h3", { class: "section-title" }, "整改意见"), rectifications] : null,
      h("h3", { class: "section-title" }, "处理记录"),
      history(a.events),
    ),
  );
}
