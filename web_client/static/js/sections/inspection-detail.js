// One inspection in the console: where the phone was against the checkpoint, the answers,
// the findings, the evidence with players, the call recording of a remote one, the review
// history and, for 审核人, approve / return with a comment.
import { ApiError, api } from "../api.js";
import { formatTime, h, show } from "../dom.js";
import { CONCLUSION_LABELS, EVIDENCE_LABELS, evidenceMedia } from "../inspection-form.js";
import { renderSheetPanel } from "./sheet-panel.js";

export const KIND_LABELS = { on_site: "现场检查", self_check: "企业自检", remote: "远程巡检" };
export const STATE_LABELS = { draft: "进行中", submitted: "已提交", approved: "已通过", returned: "已退回" };
const SEVERITY_LABELS = { low: "一般", medium: "较重", high: "严重" };
const INVITE_STATUS = { valid: "有效", expired: "已过期", revoked: "已撤销" };

export function stateBadge(inspection) {
  const resubmitted = inspection.state === "submitted" && inspection.submission_count > 1;
  return h("span", { class: `badge state-${inspection.state}` }, resubmitted ? "已重新提交" : STATE_LABELS[inspection.state] || inspection.state);
}

function shown(item, value) {
  if (value === undefined || value === null || value === "") return "—";
  if (item.type === "yes_no") return value ? "是" : "否";
  if (item.type === "conclusion") return CONCLUSION_LABELS[value] || value;
  if (item.type === "multi_choice") return value.join("、");
  if (item.type === "number") return `${value}${item.unit ? ` ${item.unit}` : ""}`;
  if (item.type === "group") {
    return (item.fields || [])
      .filter((f) => value[f.key] !== undefined && value[f.key] !== null && value[f.key] !== "")
      .map((f) => `${f.label} ${f.type === "yes_no" ? (value[f.key] ? "是" : "否") : value[f.key]}${f.unit ? ` ${f.unit}` : ""}`)
      .join("，") || "—";
  }
  return String(value);
}

function place(label, fix, radius) {
  if (!fix) return null;
  const distance = fix.distance_m === null ? "" : `距检查点 ${Math.round(fix.distance_m)} 米（允许 ${radius} 米）`;
  const accuracy = fix.accuracy_m ? `，精度 ±${Math.round(fix.accuracy_m)} 米` : "";
  const bound = fix.outcome === "bound" ? "（本次扫码设定位置）" : "";
  return [h("dt", {}, label), h("dd", {}, `${distance}${accuracy}${bound}`, fix.at ? h("span", { class: "muted" }, ` · ${formatTime(fix.at)}`) : null)];
}

// 签到记录: every check-in, oldest first. A binding after the first one is a re-binding
// (the position was reset with 重置GPS while the inspection was open).
function checkInHistory(checkIns) {
  if (!checkIns.length) return null;
  const rows = checkIns.map((c, index) => {
    const what = c.bound_position ? (index === 0 ? "扫码设定位置" : "重新设定位置（重置GPS后）") : "范围内签到";
    const distance = c.bound_position ? "—" : `${Math.round(c.distance_m)} 米（允许 ${c.radius_m} 米）`;
    return h(
      "tr",
      { class: c.bound_position && index > 0 ? "rebound" : null },
      h("td", {}, formatTime(c.at)),
      h("td", {}, what),
      h("td", {}, distance),
      h("td", {}, `±${Math.round(c.accuracy_m)} 米`),
      h("td", { class: "mono" }, `${c.latitude.toFixed(6)}, ${c.longitude.toFixed(6)}`),
      h("td", {}, c.by_name),
    );
  });
  return [
    h("h3", {}, `签到记录（${checkIns.length}）`),
    h(
      "table",
      { class: "table check-ins", "data-testid": "check-ins" },
      h("thead", {}, h("tr", {}, ["时间", "签到结果", "距检查点", "定位精度", "位置（WGS-84）", "人员"].map((t) => h("th", {}, t)))),
      h("tbody", {}, rows),
    ),
  ];
}

function durationText(seconds) {
  const s = Math.round(Math.abs(seconds));
  if (s < 60) return `${s} 秒`;
  if (s < 3600) return `${Math.round(s / 60)} 分钟`;
  if (s < 86400) return `${(s / 3600).toFixed(1)} 小时`;
  return `${(s / 86400).toFixed(1)} 天`;
}

// 离线提交: when the phone did it, when it arrived, and how far off the phone's clock was.
function offlineFacts(inspection) {
  if (!inspection.offline) return null;
  const offset = inspection.clock_offset_seconds || 0;
  const clock = `${offset >= 0 ? "快" : "慢"} ${durationText(offset)}`;
  return [
    h("dt", {}, "离线提交"),
    h(
      "dd",
      { "data-testid": "offline-facts" },
      `手机扫码时间 ${formatTime(inspection.device_started_at)}，服务器收到 ${formatTime(inspection.received_at)}`,
      inspection.sync_delay_seconds !== null ? `，提交后 ${durationText(inspection.sync_delay_seconds)} 同步` : "",
      h("br"),
      inspection.clock_flagged
        ? h("strong", { class: "warning" }, `手机时钟偏差：${clock}（超出 60 秒，时间以服务器收到为上限）`)
        : h("span", { class: "muted" }, `手机时钟偏差：${clock}`),
    ),
  ];
}

function offsetText(seconds) {
  const s = Math.floor(seconds);
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

function gallery(inspection, labels) {
  if (!inspection.evidence.length) return h("p", { class: "empty" }, "暂无取证");
  return h(
    "div",
    { class: "gallery", "data-testid": "evidence-gallery" },
    inspection.evidence.map((e) =>
      h(
        "figure",
        { "data-kind": e.kind },
        evidenceMedia(e),
        h(
          "figcaption",
          {},
          `${labels.get(e.item_key) || e.item_key} · ${EVIDENCE_LABELS[e.kind]}`,
          h("br"),
          `${formatTime(e.captured_at)} · ${e.uploader_name}`,
          h("br"),
          e.recording_offset_seconds !== null
            ? `通话录像 ${offsetText(e.recording_offset_seconds)}`
            : e.distance_m !== null
              ? `距检查点 ${Math.round(e.distance_m)} 米`
              : "",
          h("br"),
          h("span", { class: "mono", title: e.sha256 }, `SHA-256 ${e.sha256.slice(0, 12)}…`),
        ),
      ),
    ),
  );
}

/** Render inspection `id` into `container`; `onBack` returns to the list. */
export async function renderInspectionDetail(container, id, { onBack, onError }) {
  let inspection;
  try {
    inspection = await api(`/api/v1/inspections/${id}`);
  } catch (err) {
    onError(err, container);
    return;
  }
  const labels = new Map();
  for (const section of inspection.checklist.sections) for (const item of section.items) labels.set(item.key, item.label);
  const message = h("p", { class: "form-error", role: "alert", hidden: true });
  const remote = inspection.remote_session;
  const facts = h(
    "dl",
    { class: "facts", "data-testid": "inspection-facts" },
    h("dt", {}, "检查点"),
    h("dd", {}, `${inspection.checkpoint.name}（${inspection.checkpoint.code}）· ${inspection.customer_name}`),
    h("dt", {}, "所属支行"),
    h("dd", {}, inspection.org_name),
    h("dt", {}, inspection.kind === "self_check" ? "企业联系人" : "检查人员"),
    h("dd", {}, inspection.inspector_name),
    h("dt", {}, "检查模板"),
    h("dd", {}, `${inspection.checklist.template_name} 第 ${inspection.checklist.number} 版`),
    h("dt", {}, "开始时间"),
    h("dd", {}, formatTime(inspection.started_at)),
    h("dt", {}, "提交时间"),
    h("dd", {}, inspection.submitted_at ? `${formatTime(inspection.submitted_at)}（第 ${inspection.submission_count} 次提交）` : "—"),
    h("dt", {}, "检查结论"),
    h("dd", {}, CONCLUSION_LABELS[inspection.conclusion] || "—"),
    place("签到定位", inspection.check_in, inspection.checkpoint.effective_radius_m),
    place("提交定位", inspection.submit_fix, inspection.radius_m || inspection.checkpoint.effective_radius_m),
    offlineFacts(inspection),
    remote ? [h("dt", {}, "远程巡检"), h("dd", {}, remote.title, " · ", h("a", { href: remote.replay_url }, "查看通话录像"))] : null,
  );
  const answers = h(
    "table",
    { class: "table answers-table" },
    h("tbody", {}, inspection.checklist.sections.flatMap((section) => [
      h("tr", {}, h("th", { colspan: "2" }, section.title)),
      ...section.items.map((item) => h("tr", {}, h("td", {}, item.label), h("td", {}, shown(item, inspection.answers[item.key])))),
    ])),
  );
  const findings = inspection.findings.length
    ? h("ul", { class: "findings", "data-testid": "findings" }, inspection.findings.map((f) =>
        h("li", {}, `${f.item_label}：${f.indicator}`, f.severity ? `（${SEVERITY_LABELS[f.severity]}）` : "", f.note ? `——${f.note}` : "")))
    : h("p", { class: "muted" }, inspection.submitted_at ? "未发现异常" : "提交后计算");

  const comment = h("textarea", { "aria-label": "审核意见", maxlength: "1000", placeholder: "审核意见（退回时必填）" });
  async function decide(action) {
    show(message, "");
    if (action === "return" && !comment.value.trim()) {
      show(message, "请填写退回原因，检查人员将据此修改后重新提交");
      comment.focus();
      return;
    }
    try {
      await api(`/api/v1/inspections/${id}/${action}`, { method: "POST", body: { comment: comment.value.trim() } });
      await renderInspectionDetail(container, id, { onBack, onError });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return onError(err, container);
      show(message, err instanceof ApiError ? (err.problem.errors?.[0]?.message ? `${err.detail}：${err.problem.errors[0].message}` : err.detail) : "操作失败");
    }
  }
  async function revoke() {
    try {
      await api(`/api/v1/inspections/${id}/revoke-invites`, { method: "POST" });
      await renderInspectionDetail(container, id, { onBack, onError });
    } catch (err) {
      show(message, err instanceof ApiError ? err.detail : "操作失败");
    }
  }

  const sheetPanel = h("div", { class: "sheet-slot" });
  container.replaceChildren(
    h(
      "section",
      { class: "card inspection-detail", "data-testid": "inspection-detail" },
      h("div", { class: "card-head" }, h("button", { type: "button", class: "btn btn-ghost", onclick: onBack }, "← 返回列表"), h("h2", {}, `${KIND_LABELS[inspection.kind]} · ${inspection.checkpoint_name}`), stateBadge(inspection)),
      message,
      facts,
      inspection.review_comment ? h("p", { class: "notice" }, `审核意见：${inspection.review_comment}`) : null,
      sheetPanel,
      checkInHistory(inspection.check_ins),
      h("h3", {}, "发现的异常"),
      findings,
      inspection.rectification_opinion ? [h("h3", {}, "整改意见"), h("p", {}, inspection.rectification_opinion)] : null,
      h("h3", {}, `取证（${inspection.evidence.length}）`),
      gallery(inspection, labels),
      inspection.missing_evidence.length && inspection.state !== "approved"
        ? h("p", { class: "hint" }, `尚缺：${inspection.missing_evidence.map((m) => `${m.item_label} ${EVIDENCE_LABELS[m.kind]} ${m.missing}`).join("；")}`)
        : null,
      h("h3", {}, "检查内容"),
      answers,
      inspection.reviews.length
        ? [h("h3", {}, "审核记录"), h("ul", {}, inspection.reviews.map((r) => h("li", {}, `第 ${r.submission} 次提交 · ${r.decision === "approved" ? "审核通过" : "退回"} · ${r.reviewer_name} · ${formatTime(r.at)}${r.comment ? `：${r.comment}` : ""}`)))]
        : null,
      inspection.invites.length
        ? [
            h("h3", {}, "自检链接"),
            h("ul", {}, inspection.invites.map((i) => h("li", {}, `${i.contact_name} · ${INVITE_STATUS[i.status]}${i.device_bound ? " · 已在手机上打开" : ""} · 至 ${formatTime(i.expires_at)}`))),
            inspection.invites.some((i) => i.status === "valid") ? h("button", { type: "button", class: "btn", onclick: revoke }, "撤销自检链接") : null,
          ]
        : null,
      inspection.can_review
        ? h(
            "div",
            { class: "review-actions", "data-testid": "review-actions" },
            h("h3", {}, "审核"),
            comment,
            h("div", { class: "dialog-actions" }, h("button", { type: "button", class: "btn", onclick: () => decide("return") }, "退回"), h("button", { type: "button", class: "btn btn-primary", onclick: () => decide("approve") }, "审核通过")),
          )
        : null,
    ),
  );
  await renderSheetPanel(sheetPanel, id);
}
