// 明白纸 on an inspection's page: the print deadline or the lock, 打印明白纸 (the PDF in a new
// tab), 申请解锁 with a reason when locked, the unlock history, and 上级管理条线意见 (written
// by the managers above, never by the inspector). Refreshes itself when an unlock request
// of this inspection changes (pushed over /console).
import { ApiError, api } from "../api.js";
import { formatTime, h, show } from "../dom.js";
import { onPushWhileShown } from "../inbox.js";

const UNLOCK_STATES = { pending: "待审批", approved: "已同意", refused: "已拒绝" };

function problemText(err) {
  if (!(err instanceof ApiError)) return "操作失败，请稍后再试";
  const field = err.problem.errors?.[0]?.message;
  return field ? `${err.detail}：${field}` : err.detail;
}

/** Fetch the PDF (recording the print) and show it in a new tab. */
async function printSheet(url) {
  const tab = window.open("", "_blank"); // opened on the click, so no popup blocker stops it
  const response = await fetch(url, { method: "POST", credentials: "same-origin", headers: { "Accept-Language": "zh-CN" } });
  if (!response.ok) {
    if (tab) tab.close();
    const problem = await response.json().catch(() => ({}));
    throw new ApiError(response.status, problem);
  }
  const blob = await response.blob();
  const link = URL.createObjectURL(blob);
  if (tab) tab.location.href = link;
  else window.location.href = link;
}

function windowText(sheet) {
  if (!sheet.available) return h("p", { class: "muted" }, "检查记录提交后生成明白纸，并须在规定时间内打印。");
  if (sheet.locked)
    return h("p", { class: "alert sheet-locked", "data-testid": "sheet-state" }, `已锁定：未在打印期限（${formatTime(sheet.print_deadline)}）内打印明白纸，需申请上级解锁后方可打印`);
  if (sheet.printed_at)
    return h("p", { class: "notice", "data-testid": "sheet-state" }, `已于 ${formatTime(sheet.printed_at)} 在期限内打印，可随时重新打印`);
  return h("p", { class: "notice", "data-testid": "sheet-state" }, `请于 ${formatTime(sheet.print_deadline)} 前打印明白纸，逾期未打印将自动锁定`);
}

/** Render the sheet panel of inspection `id` into `container`. */
export async function renderSheetPanel(container, id) {
  let sheet;
  try {
    sheet = await api(`/api/v1/inspections/${id}/sheet`);
  } catch (err) {
    container.replaceChildren(h("p", { class: "alert" }, problemText(err)));
    return;
  }
  // Not .form-error: the inspection page around it has its own, for the review actions.
  const message = h("p", { class: "sheet-error", role: "alert", hidden: true });
  const rerender = () => renderSheetPanel(container, id);

  async function act(work) {
    show(message, "");
    try {
      await work();
      await rerender();
    } catch (err) {
      show(message, problemText(err));
    }
  }

  const printButton = sheet.can_print
    ? h("button", { type: "button", class: "btn btn-primary", onclick: () => act(() => printSheet(sheet.pdf_url)) }, "打印明白纸")
    : null;
  const reason = h("textarea", { "aria-label": "申请解锁原因", maxlength: "500", placeholder: "申请解锁原因（必填），如：外出检查未及时打印" });
  const unlockForm = sheet.can_request_unlock
    ? h(
        "div",
        { class: "sheet-unlock", "data-testid": "unlock-form" },
        reason,
        h("button", {
          type: "button",
          class: "btn",
          onclick: () => {
            if (!reason.value.trim()) {
              show(message, "请填写申请解锁的原因");
              reason.focus();
              return;
            }
            act(() => api(`/api/v1/inspections/${id}/sheet/unlock-requests`, { method: "POST", body: { reason: reason.value.trim() } }));
          },
        }, "申请解锁"),
      )
    : null;
  const pending = sheet.pending_request
    ? h("p", { class: "hint", "data-testid": "unlock-pending" }, `解锁申请待审批：${sheet.pending_request.requester_name} 于 ${formatTime(sheet.pending_request.requested_at)} 提交，由${sheet.pending_request.approver_org_name}审批`)
    : null;
  const counts = sheet.available
    ? h("p", { class: "muted" }, `已打印 ${sheet.print_count} 次${sheet.first_printed_at ? `（首次 ${formatTime(sheet.first_printed_at)}）` : ""} · 已解锁 ${sheet.unlock_count} 次${sheet.last_unlocked_at ? `（最近 ${formatTime(sheet.last_unlocked_at)}，${sheet.last_unlocked_by_name}）` : ""}`)
    : null;
  const history = sheet.unlock_requests.length
    ? h(
        "ul",
        { class: "sheet-history", "data-testid": "unlock-history" },
        sheet.unlock_requests.map((r) =>
          h("li", {}, `${formatTime(r.requested_at)} ${r.requester_name} 申请解锁：${r.reason} · ${UNLOCK_STATES[r.state]}`, r.decided_at ? `（${r.decider_name}，${formatTime(r.decided_at)}${r.comment ? `：${r.comment}` : ""}）` : ""),
        ),
      )
    : null;

  const opinion = h("textarea", { "aria-label": "上级管理条线意见", maxlength: "1000", placeholder: "请简要说明意见" });
  const opinions = h(
    "div",
    { class: "sheet-opinions", "data-testid": "supervisor-opinions" },
    h("h4", {}, "上级管理条线参与意见"),
    sheet.opinions.length
      ? h("ul", {}, sheet.opinions.map((o) => h("li", {}, h("span", {}, o.text), h("span", { class: "muted" }, ` —— ${o.author_name}（${o.author_org_name}），${formatTime(o.created_at)}`))))
      : h("p", { class: "muted" }, "暂无上级意见（由上级管理人员填写）"),
    sheet.can_write_opinion
      ? h(
          "div",
          { class: "sheet-opinion-form" },
          opinion,
          h("button", {
            type: "button",
            class: "btn",
            onclick: () => {
              if (!opinion.value.trim()) {
                show(message, "请填写意见内容");
                opinion.focus();
                return;
              }
              act(() => api(`/api/v1/inspections/${id}/supervisor-opinions`, { method: "POST", body: { text: opinion.value.trim() } }));
            },
          }, "提交意见"),
        )
      : null,
  );

  container.replaceChildren(
    h(
      "section",
      { class: "sheet-panel", "data-testid": "sheet-panel", "data-locked": String(sheet.locked) },
      h("div", { class: "card-head" }, h("h3", {}, "明白纸"), printButton),
      message,
      windowText(sheet),
      counts,
      pending,
      unlockForm,
      history,
      opinions,
    ),
  );
  if (!container.dataset.live) {
    container.dataset.live = "1";
    onPushWhileShown(container, (event, data) => {
      if (event === "sheet_unlock_updated" && data.inspection_id === id) rerender();
    });
  }
}
