// 检查点: labels, file downloads and the dialogs (新建/编辑, 标记退出点, confirmations).
// Dialogs are built on demand and removed when closed; the server checks every rule and
// its per-field errors appear under the fields.
import { ApiError, api } from "../api.js";
import { h } from "../dom.js";
import { actions, field, modal, runForm, select } from "../forms.js";

export const CLASSIFICATION_LABELS = {
  pass: "正常",
  special_mention: "关注",
  substandard: "次级",
  doubtful: "可疑",
  loss: "损失",
};

export const EXIT_REASON_LABELS = {
  exited: "已退出",
  written_off: "已核销",
  settled: "已结清",
  discount_only: "纯贴现用户",
};

export function ensureStylesheet() {
  if (document.querySelector('link[href="/static/css/checkpoints.css"]')) return;
  document.head.append(h("link", { rel: "stylesheet", href: "/static/css/checkpoints.css" }));
}

/** GET a file (PDF, PNG, SVG) and save it; problem+json errors throw ApiError. */
export async function downloadFile(path, filename) {
  let response;
  try {
    response = await fetch(path, { credentials: "same-origin", headers: { "Accept-Language": "zh-CN" } });
  } catch {
    throw new ApiError(0, { detail: "无法连接服务器，请检查网络后重试" });
  }
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    throw new ApiError(response.status, problem || {});
  }
  const url = URL.createObjectURL(await response.blob());
  const link = h("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** A yes/no question; resolves true when confirmed. */
export function confirmAction({ title, message, confirmLabel }) {
  return new Promise((resolve) => {
    const yes = h("button", { type: "button", class: "btn btn-primary" }, confirmLabel);
    const no = h("button", { type: "button", class: "btn" }, "取消");
    const dialog = modal(title, h("p", {}, message), h("div", { class: "dialog-actions" }, no, yes));
    dialog.classList.remove("dialog-wide");
    let answer = false;
    yes.addEventListener("click", () => {
      answer = true;
      dialog.close();
    });
    no.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => resolve(answer));
    dialog.showModal();
  });
}

/**
 * 新建/编辑检查点. `subBranches` are the 支行 of the jurisdiction; `checkpoint` is null for a
 * new one. Resolves with the saved checkpoint, or null when cancelled.
 */
export function editCheckpoint({ checkpoint, subBranches, defaultOrgId, defaultRadius }) {
  return new Promise((resolve) => {
    const cp = checkpoint || {};
    const text = (value, attrs = {}) => h("input", { type: "text", value: value ?? "", autocomplete: "off", ...attrs });
    const orgOptions = subBranches.map((org) => [String(org.id), org.name]);
    const form = h(
      "form",
      { class: "form checkpoint-form", novalidate: true },
      h(
        "div",
        { class: "form-grid" },
        field("org_id", "所属支行", select(orgOptions, String(cp.org_id ?? defaultOrgId ?? ""))),
        field("code", "检查点编号", text(cp.code, { maxlength: "32", placeholder: "例如：CA-0010" }), "字母、数字、- 或 _，印在二维码标签上"),
        field("name", "检查点名称", text(cp.name, { maxlength: "100", placeholder: "例如：华北重工厂区" })),
        field("customer_name", "企业/借款人", text(cp.customer_name, { maxlength: "100" })),
        field("loan_amount", "贷款金额（元）", text(cp.loan_amount, { inputmode: "decimal", placeholder: "例如：1500000.00" })),
        field("classification", "五级分类", select([["", "未填写"], ...Object.entries(CLASSIFICATION_LABELS)], cp.classification)),
        field("loan_date", "放款日期", h("input", { type: "date", value: cp.loan_date ?? "" })),
        field("maturity_date", "到期日", h("input", { type: "date", value: cp.maturity_date ?? "" })),
        field("address", "地址", text(cp.address, { maxlength: "200" })),
        field("contact_name", "企业联系人", text(cp.contact_name, { maxlength: "64" })),
        field("contact_phone", "联系电话", text(cp.contact_phone, { maxlength: "32", inputmode: "tel", placeholder: "手机或带区号的座机" })),
        field(
          "radius_m",
          "误差范围（米）",
          text(cp.radius_m, { inputmode: "numeric", placeholder: `留空为全局默认 ${defaultRadius} 米` }),
          "现场签到位置与检查点的最大允许距离",
        ),
      ),
      ...actions(checkpoint ? "保存修改" : "新建检查点", () => dialog.close()),
    );
    const dialog = modal(checkpoint ? `编辑检查点：${cp.name}` : "新建检查点", form);
    let saved = null;
    dialog.addEventListener("close", () => resolve(saved));
    const collect = () => {
      const value = (name) => form.elements[name].value.trim();
      const orNull = (name) => value(name) || null;
      const body = {
        org_id: Number(value("org_id")) || null,
        code: value("code"),
        name: value("name"),
        customer_name: value("customer_name"),
        loan_amount: orNull("loan_amount"),
        classification: orNull("classification"),
        loan_date: orNull("loan_date"),
        maturity_date: orNull("maturity_date"),
        address: value("address"),
        contact_name: value("contact_name"),
        contact_phone: value("contact_phone"),
        radius_m: value("radius_m") === "" ? null : Number(value("radius_m")),
      };
      if (!checkpoint) return body;
      // An edit sends only what changed, so a concurrent edit of other fields survives.
      return Object.fromEntries(Object.entries(body).filter(([key, v]) => String(v ?? "") !== String(cp[key] ?? "")));
    };
    const send = (body) =>
      checkpoint
        ? api(`/api/v1/checkpoints/${checkpoint.id}`, { method: "PATCH", body })
        : api("/api/v1/checkpoints", { method: "POST", body });
    runForm(dialog, form, collect, async (body) => (saved = await send(body)), () => {});
    dialog.showModal();
    form.elements.code.focus();
  });
}

/** 标记退出点: reason, date and note. Resolves with the updated checkpoint or null. */
export function markExit(checkpoint) {
  return new Promise((resolve) => {
    const today = new Date().toLocaleDateString("sv-SE"); // YYYY-MM-DD, local
    const form = h(
      "form",
      { class: "form", novalidate: true },
      h("p", { class: "hint" }, "退出点不再参与常规检查，可随时恢复。"),
      field("reason", "退出类型", select(Object.entries(EXIT_REASON_LABELS), checkpoint.exit_reason || "exited")),
      field("date", "退出日期", h("input", { type: "date", value: checkpoint.exit_date || today, max: today, min: checkpoint.loan_date })),
      field("note", "备注", h("input", { type: "text", maxlength: "500", value: checkpoint.exit_note || "" })),
      ...actions("标记退出点", () => dialog.close()),
    );
    const dialog = modal(`标记退出点：${checkpoint.name}`, form);
    dialog.classList.remove("dialog-wide");
    let saved = null;
    dialog.addEventListener("close", () => resolve(saved));
    const collect = () => ({
      reason: form.elements.reason.value,
      date: form.elements.date.value || null,
      note: form.elements.note.value.trim(),
    });
    runForm(
      dialog,
      form,
      collect,
      async (body) => (saved = await api(`/api/v1/checkpoints/${checkpoint.id}/exit`, { method: "POST", body })),
      () => {},
    );
    dialog.showModal();
  });
}
