// 整改意见: the dialogs — issue one (下发, for a checkpoint or an anomaly), show the contact's
// reply link once (URL, QR code, copy), close (关闭) and reopen (重新整改) with a comment.
import { api } from "../api.js";
import { h } from "../dom.js";
import { formDialog } from "./form-dialog.js";

function inDays(days) {
  const day = new Date(Date.now() + days * 86_400_000);
  return day.toLocaleDateString("sv-SE", { timeZone: "Asia/Shanghai" }); // YYYY-MM-DD, China
}

/** The reply link, shown once: the server keeps only its digest. */
export function showLink(link, title = "整改反馈链接") {
  return new Promise((resolve) => {
    const url = h("input", { type: "text", readonly: true, value: link.url, class: "link-url", "aria-label": "整改反馈链接" });
    const status = h("span", { class: "hint", role: "status" });
    const copy = h("button", { type: "button", class: "btn" }, "复制链接");
    const qr = h("img", { alt: "整改反馈链接二维码", width: "180", height: "180", class: "link-qr" });
    // An <img> never runs what an SVG contains, and no markup enters this page.
    const qrUrl = URL.createObjectURL(new Blob([link.qr_svg], { type: "image/svg+xml" }));
    qr.src = qrUrl;
    const done = h("button", { type: "button", class: "btn btn-primary" }, "完成");
    const dialog = h(
      "dialog",
      { class: "dialog", "aria-label": title, "data-testid": "rectify-link" },
      h("h2", {}, title),
      h("p", { class: "hint" }, "链接只显示这一次：请通过短信或微信发给企业联系人，或请其用手机扫描二维码。"),
      qr,
      h("div", { class: "link-row" }, url, copy),
      status,
      h("p", { class: "hint" }, `有效期至 ${new Date(link.expires_at).toLocaleString("zh-CN", { hour12: false })}`),
      h("div", { class: "dialog-actions" }, done),
    );
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(url.value);
        status.textContent = "已复制";
      } catch {
        url.select(); // clipboard API refused (http, permissions): the old way
        status.textContent = document.execCommand("copy") ? "已复制" : "请手动复制链接";
      }
    });
    done.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      URL.revokeObjectURL(qrUrl);
      dialog.remove();
      resolve(link);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/**
 * 下发整改意见 for `anomaly` (its checkpoint) or a checkpoint picked here. Resolves with the
 * created rectification (after its link was shown), or null when cancelled.
 */
export async function issueRectification({ me, anomaly = null }) {
  const [users, checkpoints] = await Promise.all([
    api("/api/v1/users"),
    anomaly ? null : api("/api/v1/checkpoints?status=active&limit=200"),
  ]);
  const people = users.filter((u) => u.is_active).map((u) => [u.id, `${u.display_name}（${u.username}）`]);
  const fields = [];
  if (!anomaly) {
    fields.push({
      name: "checkpoint_id",
      label: "检查点",
      kind: "select",
      options: checkpoints.items.map((cp) => [cp.id, `${cp.name}（${cp.code}）· ${cp.customer_name}`]),
    });
  }
  fields.push(
    { name: "text", label: "整改意见", kind: "textarea", required: true, rows: 5, placeholder: "需要企业整改的问题、要求和需提供的材料" },
    { name: "due_date", label: "整改期限", kind: "date", value: inDays(7), min: inDays(0) },
    { name: "contact_name", label: "企业联系人", maxlength: 64, hint: "留空则使用检查点登记的联系人" },
    { name: "contact_phone", label: "联系电话", maxlength: 32, placeholder: "手机或带区号的座机" },
    { name: "responsible_user_id", label: "责任人", kind: "select", options: people, value: me.id },
    { name: "link_days", label: "反馈链接有效期（天）", kind: "number", value: "30", min: 1 },
  );
  const created = await formDialog({
    title: anomaly ? `下发整改意见：${anomaly.checkpoint_name}` : "下发整改意见",
    intro: anomaly ? `针对异常「${anomaly.indicator}」。企业联系人通过链接在手机上提交整改情况和照片。` : "企业联系人通过链接在手机上提交整改情况和照片。",
    fields,
    wide: true,
    submitLabel: "下发",
    send: (values) =>
      api("/api/v1/rectifications", {
        method: "POST",
        body: {
          ...(anomaly ? { anomaly_id: anomaly.id } : { checkpoint_id: Number(values.checkpoint_id) }),
          text: values.text,
          due_date: values.due_date || null,
          contact_name: values.contact_name || null,
          contact_phone: values.contact_phone || null,
          responsible_user_id: Number(values.responsible_user_id),
          link_days: values.link_days === "" ? 30 : Number(values.link_days),
        },
      }),
  });
  if (!created) return null;
  await showLink(created.link, "整改意见已下发");
  return created.rectification;
}

export function closeRectification(rectification) {
  return formDialog({
    title: "验证通过并关闭",
    intro: `确认「${rectification.checkpoint_name}」已按要求完成整改。关闭后企业不能再提交反馈。`,
    fields: [{ name: "comment", label: "验证意见（可选）", kind: "textarea", rows: 3 }],
    submitLabel: "关闭整改",
    send: (body) => api(`/api/v1/rectifications/${rectification.id}/close`, { method: "POST", body }),
  });
}

export function reopenRectification(rectification) {
  return formDialog({
    title: "重新整改",
    intro: "企业联系人将看到您的意见，并通过原链接再次提交反馈。",
    fields: [
      { name: "comment", label: "仍需整改的内容", kind: "textarea", required: true, rows: 4 },
      { name: "due_date", label: "新的整改期限（可选）", kind: "date", value: "", min: inDays(0) },
    ],
    submitLabel: "退回重新整改",
    send: (values) =>
      api(`/api/v1/rectifications/${rectification.id}/reopen`, {
        method: "POST",
        body: { comment: values.comment, due_date: values.due_date || null },
      }),
  });
}
