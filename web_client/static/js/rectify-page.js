// The enterprise contact's page (phone): read the bank's 整改意见, write what was done and
// photograph it live with the phone's camera, like an inspector's evidence (no gallery: an
// old picture cannot stand in for the rectified site). The server checked the link before
// serving this page; a refused reply keeps what was typed and taken, and says which photo is
// the problem.
import { ApiError, api } from "./api.js";
import { captureLive, mediaErrorText } from "./capture.js";
import { clear, formatTime, h, show } from "./dom.js";
import { uploadRow } from "./upload-progress.js";

const $ = (id) => document.getElementById(id);
const token = decodeURIComponent(window.location.pathname.split("/")[2] || "");
const STATES = { issued: "待整改", replied: "已反馈，等待银行核实", reopened: "需重新整改", closed: "已关闭" };
const form = $("reply-form");
const textInput = $("reply-text");
const shoot = $("reply-shoot");
const list = $("photo-list");
const photosError = $("reply-photos-error");
const replyError = $("reply-error");
const submit = $("reply-submit");
// The photos being sent, each with its bar in bytes (upload-progress.js), under the list.
const uploads = h("div", { class: "reply-uploads", "data-testid": "reply-uploads" });
list.after(uploads);

let info = null;
let chosen = []; // {file, url}
let taken = 0; // photos taken on this page, for their names

function historyText(event) {
  switch (event.kind) {
    case "issued":
      return "银行下发整改意见";
    case "replied":
      return `${event.actor_name || "企业"}提交了整改反馈${event.photos ? `（${event.photos} 张照片）` : ""}`;
    case "reopened":
      return `银行意见：需重新整改${event.due_date ? `，新的整改期限 ${event.due_date}` : ""}`;
    case "closed":
      return "银行确认整改完成";
    default:
      return event.kind;
  }
}

function render() {
  document.title = `${info.customer_name} · 整改反馈`;
  $("rectify-title").textContent = info.customer_name;
  $("rectify-site").textContent = `${info.checkpoint_name} · ${info.org_name}`;
  $("greeting").textContent = `${info.contact_name}，您好！银行在贷后检查中提出以下整改意见，请按期整改并在此反馈。`;
  $("opinion").hidden = false;
  $("opinion-text").textContent = info.text;
  $("due-date").textContent = info.due_date;
  $("overdue").hidden = !info.overdue;
  const state = $("state");
  state.textContent = STATES[info.state] || info.state;
  state.dataset.state = info.state;
  const items = info.history.filter((event) => event.kind !== "issued"); // the opinion is above
  clear($("history")).append(
    ...items.map((event) =>
      h(
        "li",
        { "data-kind": event.kind },
        h("span", { class: "when" }, formatTime(event.at)),
        h("div", { class: "what" }, historyText(event)),
        event.kind !== "issued" && event.comment ? h("p", { class: "comment" }, event.comment) : null,
      ),
    ),
  );
  $("history-card").hidden = items.length === 0;
  $("closed-card").hidden = info.can_reply;
  $("reply-card").hidden = !info.can_reply || !$("done-card").hidden;
  $("photos-hint").textContent = `用手机摄像头现场拍摄，最多 ${info.max_photos} 张`;
}

async function load() {
  try {
    info = await api(`/api/v1/rectify/${encodeURIComponent(token)}`);
  } catch (err) {
    $("rectify-title").textContent = "无法打开整改反馈";
    show($("load-error"), err instanceof ApiError ? err.detail : "加载失败，请检查网络后刷新页面");
    $("reply-card").hidden = true;
    return;
  }
  render();
}

function renderPhotos(invalid = new Map()) {
  clear(list).append(
    ...chosen.map((item, index) =>
      h(
        "li",
        { "aria-invalid": invalid.has(index) ? "true" : null, title: invalid.get(index) || null },
        h("img", { src: item.url, alt: item.file.name }),
        h("span", { class: "photo-name" }, item.file.name),
        h(
          "button",
          {
            type: "button",
            class: "btn photo-remove",
            "aria-label": `移除 ${item.file.name}`,
            onclick: () => {
              URL.revokeObjectURL(item.url);
              chosen.splice(index, 1);
              show(photosError, "");
              renderPhotos();
            },
          },
          "移除",
        ),
      ),
    ),
  );
}

shoot.addEventListener("click", async () => {
  show(photosError, "");
  if (chosen.length >= info.max_photos) {
    show(photosError, `最多上传 ${info.max_photos} 张照片`);
    return;
  }
  let shot;
  try {
    // Over the limit the photo is refused in the camera dialog, before it is kept.
    shot = await captureLive("photo", { maxBytes: info.max_photo_mb * 1024 * 1024 });
  } catch (err) {
    show(photosError, mediaErrorText(err));
    return;
  }
  if (!shot) return;
  if (shot.blob.size > info.max_photo_mb * 1024 * 1024) {
    show(photosError, `照片超过 ${info.max_photo_mb} MB，请重拍`);
    return;
  }
  taken += 1;
  const file = new File([shot.blob], `现场照片${taken}.jpg`, { type: shot.mime, lastModified: shot.capturedAt.getTime() });
  chosen.push({ file, url: URL.createObjectURL(file) });
  renderPhotos();
});

/** POST the reply through XHR, which reports the bytes sent; `{status, data}` (0: no answer). */
function postReply(body, onProgress) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/v1/rectify/${encodeURIComponent(token)}/reply`);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("Accept-Language", "zh-CN");
    xhr.upload.addEventListener("progress", (event) => event.lengthComputable && onProgress(event.loaded, event.total));
    xhr.addEventListener("load", () => {
      let data = null;
      try {
        data = JSON.parse(xhr.responseText);
      } catch {
        // not JSON: the status says enough
      }
      resolve({ status: xhr.status, data });
    });
    xhr.addEventListener("error", () => resolve({ status: 0, data: null }));
    xhr.addEventListener("abort", () => resolve({ status: 0, data: null }));
    xhr.send(body);
  });
}

function showFieldErrors(problem) {
  const invalid = new Map();
  let textMessage = "";
  const photoMessages = [];
  for (const error of problem.errors || []) {
    const parts = String(error.field || "").split(".");
    if (parts[1] === "text") textMessage = error.message;
    else if (parts[1] === "photos") {
      photoMessages.push(error.message);
      if (parts[2] !== undefined) invalid.set(Number(parts[2]), error.message);
    }
  }
  show($("reply-text-error"), textMessage);
  textInput.setAttribute("aria-invalid", textMessage ? "true" : "false");
  show(photosError, photoMessages.join("；"));
  renderPhotos(invalid);
  return Boolean(textMessage || photoMessages.length);
}

// What the contact types answers the error under the field: it does not stay behind.
textInput.addEventListener("input", () => {
  if (!textInput.value.trim()) return;
  show($("reply-text-error"), "");
  textInput.setAttribute("aria-invalid", "false");
  show(replyError, "");
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  show(replyError, "");
  if (!textInput.value.trim()) {
    showFieldErrors({ errors: [{ field: "body.text", message: "请填写整改情况说明" }] });
    textInput.focus();
    return;
  }
  const body = new FormData();
  body.append("text", textInput.value);
  for (const item of chosen) body.append("photos", item.file, item.file.name);
  submit.disabled = true;
  submit.textContent = "正在提交…";
  const rows = chosen.map((item) => uploadRow(`照片 · ${item.file.name}`, item.file.size));
  uploads.replaceChildren(...rows.map((row) => row.node));
  const response = await postReply(body, (loaded, total) => {
    // One request for the text and every photo: the bytes are the photos' in their order.
    const payload = chosen.reduce((sum, item) => sum + item.file.size, 0);
    let done = (loaded / total) * payload;
    for (const [index, item] of chosen.entries()) {
      rows[index].progress(Math.max(0, Math.min(done, item.file.size)));
      done -= item.file.size;
    }
  });
  submit.disabled = false;
  submit.textContent = "提交反馈";
  if (response.status === 0) {
    // Everything stays on the page: 提交反馈 sends the same photos again (one request).
    for (const row of rows) row.fail(new ApiError(0, {}), null, { again: "再点「提交反馈」" });
    show(replyError, "网络连接失败，反馈未提交，请稍后重试（已填写的内容仍保留）");
    return;
  }
  if (response.status < 200 || response.status >= 300) {
    uploads.replaceChildren();
    const problem = response.data || {};
    const named = showFieldErrors(problem);
    show(replyError, named ? "请修改标出的项目后重新提交" : problem.detail || `提交失败（${response.status}）`);
    return;
  }
  uploads.replaceChildren();
  const result = response.data;
  for (const item of chosen) URL.revokeObjectURL(item.url);
  chosen = [];
  renderPhotos();
  textInput.value = "";
  showFieldErrors({});
  $("done-text").textContent = `已于 ${formatTime(result.replied_at)} 提交（${result.photos} 张照片）。银行工作人员核实后会告知您结果，如需补充可再次提交。`;
  $("done-card").hidden = false;
  $("reply-card").hidden = true;
  await load();
});

$("reply-again").addEventListener("click", () => {
  $("done-card").hidden = true;
  $("reply-card").hidden = !(info && info.can_reply);
  textInput.focus();
});

load();
