// 明白纸解锁: unlock requests of locked briefing sheets. The superior (机构管理员 of the org
// above the 支行) sees those to decide, pending first, and approves (同意) or refuses (拒绝,
// with the reason) online; everyone sees their own requests. New requests and decisions
// arrive live (pushed over /console). Administrators also see the unlock counts.
import { ApiError, api } from "../api.js";
import { formatTime, h, show } from "../dom.js";
import { onPushWhileShown } from "../inbox.js";
import { ensureStylesheet } from "./form-dialog.js";

const STATES = [["pending", "待审批"], ["", "全部"], ["approved", "已同意"], ["refused", "已拒绝"]];

function row(request, message, reload) {
  const comment = h("input", { type: "text", maxlength: "500", "aria-label": "审批意见", placeholder: "审批意见（拒绝时必填）" });
  async function decide(action) {
    show(message, "");
    if (action === "refuse" && !comment.value.trim()) {
      show(message, "请填写拒绝原因");
      comment.focus();
      return;
    }
    try {
      await api(`/api/v1/sheet-unlock-requests/${request.id}/${action}`, { method: "POST", body: { comment: comment.value.trim() } });
      await reload();
    } catch (err) {
      show(message, err instanceof ApiError ? err.detail : "操作失败");
    }
  }
  return h(
    "tr",
    { "data-request": String(request.id), "data-state": request.state },
    h("td", {}, h("a", { href: `#/inspections/${request.inspection_id}` }, request.checkpoint_name || `检查记录 ${request.inspection_id}`), h("br"), h("span", { class: "muted" }, request.org_name)),
    h("td", {}, request.requester_name, h("br"), h("span", { class: "muted" }, formatTime(request.requested_at))),
    h("td", {}, request.reason),
    h("td", {}, h("span", { class: `badge unlock-${request.state}` }, request.state_label), request.decided_at ? h("div", { class: "muted" }, `${request.decider_name} ${formatTime(request.decided_at)}${request.comment ? `：${request.comment}` : ""}`) : null),
    h(
      "td",
      {},
      request.can_decide
        ? h("div", { class: "unlock-actions" }, comment, h("button", { type: "button", class: "btn", onclick: () => decide("refuse") }, "拒绝"), h("button", { type: "button", class: "btn btn-primary", onclick: () => decide("approve") }, "同意"))
        : "—",
    ),
  );
}

function reportTable(title, lines) {
  return h(
    "div",
    { class: "unlock-report" },
    h("h4", {}, title),
    lines.length
      ? h(
          "table",
          { class: "table" },
          h("thead", {}, h("tr", {}, h("th", {}, "名称"), h("th", {}, "所属机构"), h("th", {}, "申请"), h("th", {}, "解锁（同意）"), h("th", {}, "拒绝"), h("th", {}, "待审批"))),
          h("tbody", {}, lines.map((l) => h("tr", {}, h("td", {}, l.name), h("td", {}, l.org_name), h("td", {}, String(l.requested)), h("td", {}, String(l.approved)), h("td", {}, String(l.refused)), h("td", {}, String(l.pending))))),
        )
      : h("p", { class: "muted" }, "暂无"),
  );
}

function ensureSheetStylesheet() {
  if (document.querySelector('link[href="/static/css/inspections.css"]')) return;
  document.head.append(h("link", { rel: "stylesheet", href: "/static/css/inspections.css" }));
}

export async function renderUnlocks(container, { me, onError }) {
  ensureStylesheet();
  ensureSheetStylesheet();
  let state = "pending";
  const message = h("p", { class: "form-error", role: "alert", hidden: true });
  const body = h("tbody", {});
  const tabs = h(
    "div",
    { class: "filters", role: "group", "aria-label": "状态" },
    STATES.map(([value, label]) =>
      h("button", { type: "button", class: `btn btn-ghost${value === state ? " is-active" : ""}`, "data-state": value, onclick: (e) => { state = value; for (const b of tabs.children) b.classList.toggle("is-active", b === e.currentTarget); load(); } }, label),
    ),
  );
  const canDecide = (me.permissions || []).includes("sheet.unlock");
  const report = h("section", { class: "card", hidden: !canDecide, "data-testid": "unlock-report" });

  async function load() {
    let page;
    try {
      page = await api(`/api/v1/sheet-unlock-requests${state ? `?state=${state}` : ""}`);
    } catch (err) {
      onError(err, container);
      return;
    }
    body.replaceChildren(
      ...(page.items.length ? page.items.map((r) => row(r, message, load)) : [h("tr", {}, h("td", { colspan: "5", class: "empty" }, state === "pending" ? "暂无待审批的解锁申请" : "暂无解锁申请"))]),
    );
    if (canDecide) {
      try {
        const counts = await api("/api/v1/sheet-unlock-report");
        report.replaceChildren(
          h("h3", {}, `解锁统计（共申请 ${counts.total_requested} 次，解锁 ${counts.total_approved} 次）`),
          reportTable("按机构", counts.by_org),
          reportTable("按申请人", counts.by_requester),
          reportTable("按审批人", counts.by_approver),
        );
      } catch {
        // the list above is what matters; the counts come back with the next refresh
      }
    }
  }

  container.append(
    h(
      "section",
      { class: "card", "data-testid": "unlock-requests" },
      h("div", { class: "card-head" }, h("h2", {}, "明白纸解锁审批"), tabs),
      h("p", { class: "hint" }, canDecide ? "检查记录提交后未在规定时间内打印明白纸会自动锁定；检查人员申请解锁后，由上级机构管理员在此审批。同意后重新开放打印期限。" : "您提交的明白纸解锁申请及审批结果。"),
      message,
      h("table", { class: "table" }, h("thead", {}, h("tr", {}, h("th", {}, "检查点"), h("th", {}, "申请人"), h("th", {}, "原因"), h("th", {}, "状态"), h("th", {}, "审批"))), body),
    ),
    report,
  );
  onPushWhileShown(container, (event) => {
    if (event === "sheet_unlock_updated") load();
  });
  await load();
}
