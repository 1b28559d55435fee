// One file being uploaded, as the phone shows it: what it is, a progress bar in bytes, and
// when it fails, why (in plain Chinese) with 重试 — which goes on with the same capture (a
// tus upload from where the server stands), so nothing has to be captured again.
import { ApiError } from "./api.js";
import { h } from "./dom.js";
import { NetworkError } from "./tus-upload.js";

export const sizeText = (bytes) => (bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`);

/** Why an upload failed, for the person holding the phone. */
export function uploadErrorText(err, sent, total, again = "点「重试」") {
  const where = total ? `（已上传 ${sizeText(sent)} / ${sizeText(total)}）` : "";
  // A tus upload goes on from the server's offset; a one-request upload starts again.
  if (err instanceof NetworkError) return `上传中断：无法连接服务器${where}，请检查网络后${again}，将从中断处继续`;
  if (err instanceof ApiError && err.status === 0) return `上传中断：无法连接服务器${where}，请检查网络后${again}`;
  if (err instanceof ApiError) {
    if (err.status === 401) return `登录已过期，请重新登录后${again}`;
    return `上传失败：${err.message}`;
  }
  return `上传失败：${err && err.message ? err.message : "未知错误"}${where}`;
}

/**
 * A row for one file: `{node, progress(bytes), note(text), fail(err, retry), wait(text, retry), done()}`.
 * `retry` is called by 重试; the row stays until `done()`. `preview` (a thumbnail or player
 * of the file) is shown in it; `onRemove` puts a 删除 beside 重试 until the file is up.
 */
export function uploadRow(label, total, { preview = null, onRemove = null } = {}) {
  let sent = 0;
  const bar = h("progress", { max: String(total || 1), value: "0", "aria-label": `${label}上传进度` });
  const bytes = h("span", { class: "muted up-bytes" }, `${sizeText(0)} / ${sizeText(total)}`);
  const state = h("span", { class: "badge up-state" }, "上传中");
  const noteLine = h("p", { class: "notice up-note", hidden: true });
  const error = h("p", { class: "field-error up-error", role: "alert", hidden: true });
  const retryButton = h("button", { type: "button", class: "btn up-retry", hidden: true }, "重试");
  const removeButton = onRemove ? h("button", { type: "button", class: "btn btn-ghost up-remove", "aria-label": "删除此取证", onclick: onRemove }, "删除") : null;
  const node = h(
    "div",
    { class: "up-row", "data-testid": "upload-row", "data-state": "uploading" },
    h("div", { class: "up-line" }, h("span", { class: "up-name" }, label), state),
    preview ? h("div", { class: "up-preview" }, preview) : null,
    bar,
    bytes,
    noteLine,
    error,
    h("div", { class: "up-actions" }, retryButton, removeButton),
  );
  let onRetry = null;
  retryButton.addEventListener("click", () => {
    if (!onRetry) return;
    const again = onRetry;
    onRetry = null;
    error.hidden = true;
    retryButton.hidden = true;
    state.textContent = "上传中";
    node.dataset.state = "uploading";
    again();
  });
  return {
    node,
    progress(value) {
      sent = Math.min(value, total);
      bar.value = sent;
      bytes.textContent = `${sizeText(sent)} / ${sizeText(total)}`;
    },
    note(text) {
      noteLine.textContent = text;
      noteLine.hidden = !text;
    },
    /** Failed: why, and 重试 when `retry` is given (else `again` says what sends it again);
     * `kept` (a text) when the file waits on the phone and goes up by itself (待上传). */
    fail(err, retry, { again, kept } = {}) {
      error.textContent = uploadErrorText(err, sent, total, retry ? undefined : again);
      error.hidden = false;
      if (kept) {
        noteLine.textContent = kept;
        noteLine.hidden = false;
      }
      state.textContent = kept ? "待上传" : "上传失败";
      node.dataset.state = "failed";
      onRetry = retry || null;
      retryButton.hidden = !retry;
    },
    /** Kept on the phone, waiting for the network (待上传): it goes up by itself, or by 重试. */
    wait(text, retry) {
      noteLine.textContent = text;
      noteLine.hidden = false;
      error.hidden = true;
      state.textContent = "待上传";
      node.dataset.state = "pending";
      onRetry = retry || null;
      retryButton.hidden = !retry;
    },
    /** Uploaded: the row goes, unless `keep` (it has a note to show). */
    done({ keep = false } = {}) {
      node.querySelector(".up-preview")?.remove(); // the form's gallery shows it now
      removeButton?.remove(); // on the server now: deleted from the gallery, like the others
      if (!keep) {
        node.remove();
        return;
      }
      state.textContent = "已上传";
      node.dataset.state = "done";
    },
  };
}
