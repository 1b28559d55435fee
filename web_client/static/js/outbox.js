// 待上传: the offline inspections kept on this phone, sent when there is network. Each file
// goes up by tus (resumed after a cut); a full batch of inspections is synced as soon as
// their files are up, while the next ones go up; the server answers per inspection and per
// file. A refusal stays here with the server's reason and every byte kept (导出 downloads
// it). Retries follow the network: at the `online` event, and on a timer that backs off
// while the server cannot be reached.
import { ApiError, api } from "./api.js";
import { deviceId } from "./capture.js";
import { formatTime, h } from "./dom.js";
import { EVIDENCE_LABELS } from "./inspection-form.js";
import { QUEUED, REFUSED, SYNCED, UPLOADING, capturesOf, deleteInspection, dropBlobs, listInspections, updateCapture, updateInspection } from "./offline-store.js";
import { target } from "./offline-target.js";
import { NetworkError, tusUpload } from "./tus-upload.js";
import { sizeText } from "./upload-progress.js";

const BATCH = 20; // the server's limit per sync
const UPLOADED = "uploaded"; // a file whose bytes are all on the server, not yet attached
const STATE_LABELS = { [QUEUED]: "待上传", [UPLOADING]: "上传中", [UPLOADED]: "文件已传完", [SYNCED]: "已上传", [REFUSED]: "被拒绝" };
const BACKOFF_MS = [5_000, 15_000, 60_000, 300_000];

let host = null;
let running = null;
let timer = null;
let failures = 0;
let notice = "";
let renders = 0; // renders overlap (each reads the store): only the latest one is shown
const progress = new Map(); // capture UUID → bytes on the server (or being sent)


function itemLabel(inspection, key) {
  for (const section of inspection.checklist?.sections || []) {
    const item = section.items.find((i) => i.key === key);
    if (item) return item.label;
  }
  return key;
}

// ---- the panel ----

/** Show the outbox in `node` and keep it sending: now, when the network returns, and on a timer. */
export function startOutbox(node) {
  host = node;
  window.addEventListener("online", () => {
    failures = 0;
    syncNow();
  });
  render().then(() => syncNow());
}

export async function render() {
  if (!host) return;
  const mine = ++renders;
  const inspections = await listInspections();
  const shown = inspections.filter((i) => i.state !== "filling");
  host.hidden = shown.length === 0;
  const waiting = shown.filter((i) => i.state !== SYNCED).length;
  const refused = shown.filter((i) => i.state === REFUSED).length;
  const summary = [waiting - refused ? `${waiting - refused} 项检查待上传` : "", refused ? `${refused} 项被拒绝` : ""].filter(Boolean).join("，");
  const rows = [];
  for (const inspection of shown) rows.push(await inspectionNode(inspection, await capturesOf(inspection.client_uuid)));
  if (mine !== renders) return;
  host.replaceChildren(
    ...[
      h("div", { class: "outbox-head" }, h("h2", { id: "outbox-title" }, "待上传"), h("span", { class: "muted", "data-testid": "outbox-summary" }, summary || "全部已上传")),
      notice ? h("p", { class: "notice", role: "status" }, notice) : null,
      h("ul", { class: "outbox-list" }, rows),
      h(
        "div",
        { class: "outbox-actions" },
        h("button", { type: "button", class: "btn btn-primary", disabled: !waiting || Boolean(running), onclick: () => syncNow({ manual: true }) }, running ? "正在上传…" : "立即上传"),
        shown.some((i) => i.state === SYNCED) ? h("button", { type: "button", class: "btn", onclick: () => clearSynced() }, "清除已上传") : null,
      ),
    ].filter(Boolean),
  );
}

async function inspectionNode(inspection, captures) {
  const pending = inspection.qr ? "二维码待同步核验" : "位置待联网核验"; // a self-check scans no label
  const site = inspection.checkpoint ? `${inspection.checkpoint.name}（${pending}）` : pending;
  const problem = inspection.problem ? h("p", { class: "alert outbox-problem" }, inspection.problem) : null;
  return h(
    "li",
    { class: "outbox-item", "data-testid": "outbox-item", "data-state": inspection.state },
    h("div", { class: "outbox-line" }, h("strong", {}, site), h("span", { class: `badge outbox-${inspection.state}` }, STATE_LABELS[inspection.state])),
    h("p", { class: "muted" }, `开始于 ${formatTime(inspection.started_at)}${inspection.submit ? ` · 提交于 ${formatTime(inspection.submit.submitted_at)}` : ""}`),
    inspection.state === SYNCED && inspection.inspection_id ? h("p", { class: "muted" }, `已入库：检查记录 #${inspection.inspection_id}`) : null,
    problem,
    h("ul", { class: "outbox-files" }, captures.map((c) => fileNode(inspection, c))),
    inspection.state === SYNCED && captures.some((c) => !c.blob) ? h("p", { class: "muted" }, "文件已由服务器确认，已从本机删除以节省空间。") : null,
    h("button", { type: "button", class: "btn btn-ghost", onclick: () => exportInspection(inspection) }, "导出"),
  );
}

function fileNode(inspection, capture) {
  const sent = capture.state === SYNCED || capture.state === UPLOADED ? capture.size : (progress.get(capture.client_uuid) ?? capture.offset);
  return h(
    "li",
    { class: "outbox-file", "data-capture": capture.client_uuid, "data-state": capture.state },
    h("div", { class: "outbox-line" }, h("span", {}, `${EVIDENCE_LABELS[capture.kind]} · ${itemLabel(inspection, capture.item_key)}`), h("span", { class: "badge" }, STATE_LABELS[capture.state])),
    h("progress", { max: String(capture.size), value: String(sent), "aria-label": "上传进度" }),
    h("span", { class: "muted outbox-bytes" }, `${sizeText(sent)} / ${sizeText(capture.size)}`),
    capture.problem ? h("p", { class: "field-error" }, capture.problem) : null,
  );
}

function showProgress(capture, bytes) {
  progress.set(capture.client_uuid, bytes);
  const row = host?.querySelector(`[data-capture="${capture.client_uuid}"]`);
  if (!row) return;
  row.querySelector("progress").value = bytes;
  row.querySelector(".outbox-bytes").textContent = `${sizeText(bytes)} / ${sizeText(capture.size)}`;
}

/**
 * The inspections the server confirmed (已上传): 清除已上传 removes them from the phone; after
 * each sync `dropBlobs` frees their files' space at once and keeps their record lines.
 */
async function clearSynced(clear = deleteInspection) {
  for (const inspection of await listInspections()) {
    if (inspection.state === SYNCED) await clear(inspection.client_uuid);
  }
  await render();
}

// ---- sending ----

/** Send what waits (and, when `manual`, what was refused). One run at a time. */
export function syncNow({ manual = false } = {}) {
  if (running) return running;
  clearTimeout(timer);
  running = run(manual)
    .then(() => clearSynced(dropBlobs))
    .then(() => {
      failures = 0;
      notice = "";
    })
    .catch((err) => {
      if (err instanceof NetworkError) {
        notice = "当前无网络：联网后将自动上传。";
        timer = setTimeout(syncNow, BACKOFF_MS[Math.min(failures, BACKOFF_MS.length - 1)]);
        failures += 1;
      } else if (err instanceof ApiError && err.status === 401) {
        notice = "登录已过期：请重新登录后上传，本机数据已保留。";
      } else {
        notice = `上传失败：${err.message}`;
        timer = setTimeout(syncNow, BACKOFF_MS[BACKOFF_MS.length - 1]);
      }
    })
    .finally(() => {
      running = null;
      return render();
    });
  render();
  return running;
}

async function run(manual) {
  const waiting = (await listInspections()).filter((i) => i.state === QUEUED || i.state === UPLOADING || (manual && i.state === REFUSED));
  if (!waiting.length) return;
  if (!navigator.onLine) throw new NetworkError();
  // A full batch of inspections whose files are up is synced at once, while the next
  // inspections' files go up (one sync call at a time); the rest when the uploads are done.
  const ready = [];
  let syncing = Promise.resolve();
  let syncError = null;
  const drain = (least) => async () => {
    while (ready.length && ready.length >= least && !syncError) await sync(ready.splice(0, BATCH));
  };
  const kick = (least) => {
    syncing = syncing.then(drain(least)).catch((err) => {
      syncError ??= err;
    });
  };
  try {
    for (const inspection of waiting) {
      if (syncError) break;
      const updated = await updateInspection(inspection.client_uuid, { state: UPLOADING, problem: null });
      await render();
      if (await uploadFiles(updated)) {
        ready.push(updated);
        if (ready.length >= BATCH) kick(BATCH);
      }
    }
    kick(1);
  } finally {
    await syncing; // never rejects: a failed call is kept in syncError
  }
  if (syncError) throw syncError;
}

/** Every file of `inspection` up; false when one was refused (the inspection waits then). */
async function uploadFiles(inspection) {
  for (const capture of await capturesOf(inspection.client_uuid)) {
    if (capture.state === SYNCED || capture.state === UPLOADED) continue;
    try {
      await updateCapture(capture.client_uuid, { state: UPLOADING, problem: null });
      const uploadId = await tusUpload(capture, {
        onCreated: (url) => updateCapture(capture.client_uuid, { upload_url: url }),
        onProgress: (bytes) => showProgress(capture, bytes),
      });
      await updateCapture(capture.client_uuid, { state: UPLOADED, upload_id: uploadId, offset: capture.size });
    } catch (err) {
      if (err instanceof NetworkError || (err instanceof ApiError && err.status === 401)) {
        await updateCapture(capture.client_uuid, { state: QUEUED, offset: progress.get(capture.client_uuid) ?? capture.offset });
        await updateInspection(inspection.client_uuid, { state: QUEUED });
        throw err;
      }
      const reason = `${EVIDENCE_LABELS[capture.kind]}「${itemLabel(inspection, capture.item_key)}」上传被拒绝：${err.message}`;
      await updateCapture(capture.client_uuid, { state: REFUSED, problem: err.message });
      await updateInspection(inspection.client_uuid, { state: REFUSED, problem: reason });
      return false;
    }
  }
  await render();
  return true;
}

async function payload(inspection) {
  const captures = await capturesOf(inspection.client_uuid);
  return {
    client_uuid: inspection.client_uuid,
    qr: inspection.qr,
    scan_fix: inspection.scan_fix,
    started_at: inspection.started_at,
    template_id: inspection.template_id ?? null,
    checklist_version_id: inspection.checklist_version_id ?? null,
    answers: inspection.answers,
    flags: inspection.flags,
    evidence: captures.map((c) => ({
      client_uuid: c.client_uuid,
      item_key: c.item_key,
      kind: c.kind,
      upload_id: c.upload_id,
      sha256: c.sha256,
      captured_at: c.captured_at,
      fix: c.fix,
    })),
    submit: inspection.submit,
  };
}

async function sync(batch) {
  const body = { sent_at: new Date().toISOString(), device_id: deviceId(), inspections: await Promise.all(batch.map(payload)) };
  let reply;
  try {
    reply = await api(target().sync, { method: "POST", body, headers: target().headers() });
  } catch (err) {
    if (err instanceof ApiError && err.status === 0) throw new NetworkError();
    if (err.status === 401) throw err;
    const fields = (err.problem?.errors || []).map((e) => e.message).join("；");
    for (const inspection of batch) await updateInspection(inspection.client_uuid, { state: REFUSED, problem: fields ? `${err.message}（${fields}）` : err.message });
    return;
  }
  for (const result of reply.results) await record(batch.find((i) => i.client_uuid === result.client_uuid), result);
}

/** The server's answer for one inspection, kept on the phone. */
async function record(inspection, result) {
  const refusals = [];
  for (const capture of result.evidence) {
    const mine = await updateCapture(capture.client_uuid, {
      state: capture.status === "attached" ? SYNCED : capture.status === "refused" ? REFUSED : UPLOADED,
      problem: capture.problem?.detail || (capture.status === "waiting" ? "文件未传完" : null),
    });
    if (capture.status !== "attached" && mine) refusals.push(`${EVIDENCE_LABELS[mine.kind]}「${itemLabel(inspection, mine.item_key)}」：${capture.problem?.detail || "文件未传完"}`);
  }
  if (result.status === "submitted" || (result.status === "saved" && !inspection.submit)) {
    await updateInspection(inspection.client_uuid, { state: SYNCED, problem: null, inspection_id: result.inspection_id });
    return;
  }
  const reason = result.problem?.detail || refusals.join("；") || "服务器未接受提交";
  await updateInspection(inspection.client_uuid, { state: REFUSED, problem: reason, inspection_id: result.inspection_id });
}

// ---- 导出 ----

function dataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.addEventListener("load", () => resolve(reader.result));
    reader.addEventListener("error", () => reject(reader.error));
    reader.readAsDataURL(blob);
  });
}

/** The inspection as one JSON file, its captures inside as data: URLs (nothing left out). */
async function exportInspection(inspection) {
  const files = [];
  for (const c of await capturesOf(inspection.client_uuid)) {
    const { blob, ...rest } = c;
    files.push({ ...rest, data: blob ? await dataUrl(blob) : null }); // null: dropped after the sync
  }
  const text = JSON.stringify({ ...(await payload(inspection)), state: inspection.state, problem: inspection.problem, checklist: inspection.checklist, files }, null, 2);
  const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  const name = target().selfCheck ? "企业自检" : "离线检查";
  const link = h("a", { href: url, download: `${name}-${inspection.client_uuid}.json`, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
