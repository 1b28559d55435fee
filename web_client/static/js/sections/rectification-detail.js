// 整改意见详情: the opinion, its due date, contact and responsible user, the history (下发,
// 企业反馈 with photos, 重新整改, 关闭) and the bank's actions: close, reopen, a new link.
import { ApiError, api } from "../api.js";
import { clear, formatTime, h, show, timeline } from "../dom.js";
import { closeRectification, reopenRectification, showLink } from "./rectification-dialogs.js";

const STATES = { issued: "已下发", replied: "已反馈", reopened: "重新整改", closed: "已关闭" };
const EVENTS = { issued: "下发整改意见", replied: "企业反馈", closed: "验证通过，关闭", reopened: "退回重新整改", link_renewed: "重新生成反馈链接" };
const LINK = { valid: "有效", expired: "已过期", none: "无" };

function facts(r) {
  const row = (label, ...value) => [h("dt", {}, label), h("dd", {}, ...value)];
  return h(
    "dl",
    { class: "facts", "data-testid": "rectification-facts" },
    row("检查点", `${r.checkpoint_name}（${r.checkpoint_code}）`),
    row("企业/借款人", r.customer_name),
    row("所属支行", r.org_name),
    r.anomaly_id ? row("关联异常", h("a", { href: `#/anomalies/${r.anomaly_id}` }, r.anomaly_indicator || `#${r.anomaly_id}`)) : null,
    row("整改期限", r.due_date, r.overdue ? h("span", { class: "badge badge-late" }, "逾期") : null),
    row("企业联系人", r.contact_phone ? `${r.contact_name}（${r.contact_phone}）` : r.contact_name),
    row("责任人", r.responsible_name),
    row("反馈链接", r.link_expires_at ? `${LINK[r.link_status]}，至 ${formatTime(r.link_expires_at)}` : LINK[r.link_status]),
    row("下发时间", formatTime(r.created_at)),
  );
}

function photos(list) {
  if (!list.length) return null;
  return h(
    "ul",
    { class: "photo-grid" },
    list.map((p) =>
      h(
        "li",
        {},
        h(
          "a",
          { href: p.url, target: "_blank", rel: "noopener" },
          h("img", { src: p.url, alt: p.filename || "整改照片", loading: "lazy" }),
        ),
        h("span", { class: "muted small" }, p.filename || p.content_type),
      ),
    ),
  );
}

function history(events) {
  return timeline("rectification-history", events, (e) => ({
    what: [`${e.actor_name || "企业联系人"} · ${EVENTS[e.kind] || e.kind}`, e.due_date && e.kind !== "issued" ? `，新期限 ${e.due_date}` : ""],
    below: [e.comment && e.kind !== "issued" ? h("p", { class: "comment" }, e.comment) : null, photos(e.photos)],
  }));
}

/** Render rectification `id` into `container`; `ctx`: me, onError, onBack(). */
export async function renderRectificationDetail(container, id, ctx) {
  let r;
  try {
    r = await api(`/api/v1/rectifications/${id}`);
  } catch (err) {
    clear(container).append(h("button", { type: "button", class: "btn btn-ghost", onclick: ctx.onBack }, "← 返回"));
    ctx.onError(err, container);
    return;
  }
  api(`/api/v1/notifications/read-all?rectification_id=${r.id}`, { method: "POST" }).catch(() => null);
  const message = h("p", { class: "form-error", role: "alert", hidden: true });
  async function act(work) {
    show(message, "");
    try {
      if ((await work()) === null) return;
      await renderRectificationDetail(container, id, ctx);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) ctx.onError(err, message);
      else show(message, err instanceof ApiError ? err.detail : "操作失败，请稍后再试");
    }
  }
  const actions = [];
  if (r.can_manage && r.state === "replied") {
    actions.push(
      h("button", { type: "button", class: "btn btn-primary", onclick: () => act(() => closeRectification(r)) }, "验证通过并关闭"),
      h("button", { type: "button", class: "btn", onclick: () => act(() => reopenRectification(r)) }, "重新整改"),
    );
  }
  if (r.can_manage && r.state !== "closed") {
    actions.push(
      h(
        "button",
        {
          type: "button",
          class: "btn",
          onclick: () =>
            act(async () => {
              const link = await api(`/api/v1/rectifications/${r.id}/link`, { method: "POST", body: { link_days: 30 } });
              return showLink(link, "新的整改反馈链接（旧链接已失效）");
            }),
        },
        "重新生成反馈链接",
      ),
    );
  }
  clear(container).append(
    h(
      "section",
      { class: "card rectification-detail", "data-testid": "rectification-detail" },
      h(
        "div",
        { class: "card-head" },
        h("button", { type: "button", class: "btn btn-ghost", onclick: ctx.onBack }, "← 返回"),
        h("h2", {}, `整改意见 · ${r.checkpoint_name}`),
        h("span", { class: `badge rect-${r.state}` }, STATES[r.state] || r.state),
      ),
      actions.length ? h("div", { class: "detail-actions" }, actions) : null,
      message,
      h("p", { class: "opinion-text" }, r.text),
      facts(r),
      h("h3", { class: "section-title" }, "处理记录"),
      history(r.events),
    ),
  );
}
