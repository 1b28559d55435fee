// 现场检查 on the phone: the QR label (read from /s/{payload} when the phone camera opened it,
// else scanned here), a GPS fix at the checkpoint, the checklist, live evidence, submit.
// /self-check/{token} is the same page for an enterprise contact's 企业自检 (by invite).
import { ApiError, api } from "./api.js";
import { captureLive, deviceId, mediaErrorText, uploadEvidence } from "./capture.js";
import { h, show } from "./dom.js";
import { CAPTURE_KINDS, CONCLUSION_LABELS, EVIDENCE_LABELS, renderInspectionForm } from "./inspection-form.js";
import { refreshChecklist, resumeOffline, startOffline } from "./offline-inspection.js";
import { OFFLINE, installShell, isOffline } from "./offline-shell.js";
import { rememberCheckpoint } from "./offline-store.js";
import { startOutbox } from "./outbox.js";
import { uploadRow } from "./upload-progress.js";

const $ = (id) => document.getElementById(id);
const [, first, second] = window.location.pathname.split("/");
const contactToken = first === "self-check" ? decodeURIComponent(second || "") : null;
let qr = first === "s" && second ? decodeURIComponent(second) : null;

const GEO_ERRORS = {
  1: "未获得定位权限，请在浏览器设置中允许本网站使用位置信息后重试",
  2: "无法获取当前位置，请到开阔处后重试",
  3: "定位超时，请到开阔处后重试",
};
const NETWORK_LOST = "当前无网络：检查可以继续，数据暂存在本机，联网后自动上传。";

let inspection = null;
let form = null;
let base = null; // where this inspection's API lives: /api/v1/inspections/{id} or the link
let saveTimer = null;
let saving = Promise.resolve();
let offlineSubmit = null; // set while an offline inspection is being filled in

// What the offline inspection (offline-inspection.js) needs of this page.
const offlinePage = {
  locate,
  fail: (err) => fail(err),
  setForm(offlineForm, submitOffline, extra) {
    form = offlineForm;
    offlineSubmit = submitOffline;
    $("scan-step").hidden = true;
    $("locate-step").hidden = false;
    $("form-host").replaceChildren(offlineForm.node, extra);
    $("form-step").hidden = false;
    $("locate-start").hidden = true;
  },
  done(title, summary) {
    offlineSubmit = null;
    showDone({ title, summary, findings: [] });
  },
};

const request = (path, options = {}) =>
  api(path, contactToken ? { ...options, headers: { "X-Device-Id": deviceId() } } : options);

function fail(err, where = $("page-error")) {
  if (err instanceof ApiError && err.status === 401) {
    toLogin();
    return;
  }
  show(where, err instanceof Error ? err.message : "操作失败，请稍后再试");
}

function toLogin() {
  const next = window.location.pathname + window.location.search;
  window.location.replace(`/login?next=${encodeURIComponent(next)}`);
}

function locate() {
  return new Promise((resolve, reject) => {
    if (!navigator.geolocation) {
      reject(new Error("此浏览器不支持定位，请使用手机浏览器打开"));
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (p) =>
        resolve({
          latitude: p.coords.latitude,
          longitude: p.coords.longitude,
          accuracy: p.coords.accuracy,
          captured_at: new Date(p.timestamp).toISOString(),
        }),
      (err) => reject(new Error(GEO_ERRORS[err.code] || "无法获取定位")),
      { enableHighAccuracy: true, maximumAge: 0, timeout: 20000 },
    );
  });
}

function showFix(fix, distance, radius) {
  if (fix) $("fix-accuracy").textContent = `±${Math.round(fix.accuracy)} 米`;
  if (distance !== undefined && distance !== null) {
    $("fix-distance").textContent = `${Math.round(distance)} 米（允许范围 ${radius} 米）`;
  }
}

/** The problem's detail, then what it names: fields, missing evidence. */
function problemNodes(err) {
  const problem = (err instanceof ApiError && err.problem) || {};
  const nodes = [h("p", {}, err.message)];
  const lines = [];
  for (const e of problem.errors || []) lines.push(e.message);
  for (const m of problem.missing || []) lines.push(`「${m.item_label}」还缺${EVIDENCE_LABELS[m.kind]} ${m.missing}`);
  if (lines.length) nodes.push(h("ul", {}, lines.map((line) => h("li", {}, line))));
  return nodes;
}

// ---- scanning ----

async function scan() {
  const video = $("scan-video");
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: "environment" } } });
  } catch (err) {
    show($("page-error"), mediaErrorText(err));
    return;
  }
  video.srcObject = stream;
  video.hidden = false;
  $("scan-start").hidden = true;
  const canvas = h("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const timer = setInterval(() => {
    if (!video.videoWidth) return;
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    context.drawImage(video, 0, 0);
    const found = window.jsQR(context.getImageData(0, 0, canvas.width, canvas.height).data, canvas.width, canvas.height);
    if (!found || !found.data) return;
    clearInterval(timer);
    for (const track of stream.getTracks()) track.stop();
    qr = found.data;
    $("scan-step").hidden = true;
    $("locate-step").hidden = false;
    $("site-title").textContent = "已识别二维码";
  }, 250);
}

// ---- starting ----

async function startInspection() {
  const button = $("locate-start");
  const status = $("locate-status");
  show($("page-error"), "");
  button.disabled = true;
  show(status, "正在定位…");
  try {
    const fix = await locate();
    showFix(fix);
    if (!contactToken && !navigator.onLine) {
      await startOffline(offlinePage, { qr, fix });
      return;
    }
    show(status, "定位成功，正在核验位置…");
    let started;
    try {
      started = contactToken
        ? await request(`${base}/check-in`, { method: "POST", body: { fix } })
        : await api("/api/v1/inspections/on-site", { method: "POST", body: { qr, fix } });
    } catch (err) {
      // No network after all (a fetch that never got an answer): go on offline.
      if (contactToken || !(err instanceof ApiError && err.status === 0)) throw err;
      await startOffline(offlinePage, { qr, fix });
      return;
    }
    inspection = started.inspection;
    base = contactToken ? base : `/api/v1/inspections/${inspection.id}`;
    const result = started.check_in;
    showFix(fix, result.distance_m, result.radius_m);
    show(status, result.outcome === "bound" ? "首次扫码：已将当前位置设为检查点GPS位置" : "位置核验通过");
    showInspection();
    if (!contactToken) {
      refreshChecklist(inspection.checklist).catch(() => {});
      rememberCheckpoint(qr, inspection.checkpoint).catch(() => {});
    }
  } catch (err) {
    show(status, "");
    fail(err);
  } finally {
    button.disabled = false;
  }
}

function showSite(detail) {
  $("site-title").textContent = detail.checkpoint.name;
  $("site-meta").textContent = `${detail.checkpoint.customer_name} · ${detail.checkpoint.address || detail.checkpoint.code}`;
}

function showInspection() {
  showSite(inspection);
  if (inspection.state === "submitted" || inspection.state === "approved") {
    showDone(inspection);
    return;
  }
  form = renderInspectionForm(inspection, {
    editable: inspection.can_edit,
    captureKinds: () => CAPTURE_KINDS,
    onCapture: capture,
    onRemove: removeEvidence,
    onChange: scheduleSave,
  });
  $("form-host").replaceChildren(
    inspection.state === "returned" ? h("p", { class: "alert" }, `已退回：${inspection.review_comment}`) : "",
    form.node,
  );
  $("form-step").hidden = false;
  $("locate-step").querySelector("#locate-start").textContent = "重新定位";
}

// ---- filling in ----

function scheduleSave() {
  clearTimeout(saveTimer);
  $("save-status").textContent = "未保存";
  saveTimer = setTimeout(save, 800);
}

function save() {
  clearTimeout(saveTimer);
  saving = saving.then(async () => {
    const { answers, flags } = form.collect();
    try {
      const saved = await request(base, { method: "PATCH", body: { answers, flags } });
      inspection = { ...inspection, answers: saved.answers, flags: saved.flags };
      form.setErrors([]);
      $("save-status").textContent = "已保存";
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 422) form.setErrors(err.problem.errors || []);
      $("save-status").textContent = "保存失败";
      fail(err);
      return false;
    }
  });
  return saving;
}

async function capture(item, kind) {
  show($("page-error"), "");
  let shot;
  try {
    shot = await captureLive(kind);
  } catch (err) {
    show($("page-error"), mediaErrorText(err));
    return;
  }
  if (!shot) return;
  // A row with the bytes sent; a failure says why and 重试 goes on with this same capture.
  const row = uploadRow(`${EVIDENCE_LABELS[kind]} · ${item.label}`, shot.blob.size);
  row.note(shot.notice);
  form.addUpload(item.key, row.node);
  const job = { itemKey: item.key, kind, ...shot, fix: null, onProgress: (bytes) => row.progress(bytes) };
  const send = async () => {
    try {
      job.fix = job.fix || (await locate());
      const added = contactToken
        ? await uploadEvidence(base, job, { via: "raw", headers: { "X-Device-Id": deviceId() } })
        : await uploadEvidence(base, job);
      row.progress(shot.blob.size);
      row.done({ keep: Boolean(shot.notice) }); // a recording stopped at the limit says so
      inspection.evidence = [...inspection.evidence.filter((e) => e.id !== added.id), added];
      form.setEvidence(inspection.evidence);
    } catch (err) {
      row.fail(err, send);
    }
  };
  await send();
}

async function removeEvidence(evidence) {
  if (!window.confirm("删除这条取证？")) return;
  try {
    await request(`${base}/evidence/${evidence.id}`, { method: "DELETE" });
    inspection.evidence = inspection.evidence.filter((e) => e.id !== evidence.id);
    form.setEvidence(inspection.evidence);
  } catch (err) {
    fail(err);
  }
}

async function submit() {
  const button = $("submit");
  const problem = $("submit-problem");
  problem.hidden = true;
  button.disabled = true;
  button.textContent = "正在提交…";
  try {
    if (offlineSubmit) {
      await offlineSubmit();
      return;
    }
    if (!(await save())) return;
    show($("locate-status"), "");
    const fix = await locate();
    showFix(fix);
    const done = await request(`${base}/submit`, { method: "POST", body: { fix } });
    showDone(done);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return toLogin();
    if (err instanceof ApiError && err.problem.distance_m) showFix(null, err.problem.distance_m, err.problem.radius_m);
    if (err instanceof ApiError && err.problem.errors) form.setErrors(err.problem.errors);
    problem.replaceChildren(...problemNodes(err));
    problem.hidden = false;
    problem.scrollIntoView({ block: "center" });
  } finally {
    button.disabled = false;
    button.textContent = "提交检查";
  }
}

function showDone(done) {
  $("form-step").hidden = true;
  $("locate-step").hidden = true;
  $("done-step").hidden = false;
  if (done.title) {
    $("done-title").textContent = done.title;
    $("done-summary").textContent = done.summary;
    return;
  }
  const conclusion = CONCLUSION_LABELS[done.conclusion] || "—";
  $("done-summary").textContent = `检查结论：${conclusion}；取证 ${done.evidence.length} 项；发现 ${done.findings.length} 项异常。`;
  $("done-findings").replaceChildren(...done.findings.map((f) => h("li", {}, `${f.item_label}：${f.indicator}${f.note ? `（${f.note}）` : ""}`)));
}

// ---- start ----

/** Say so when the network goes or comes back while the page is open (staff: work goes on). */
function watchNetwork() {
  window.addEventListener("offline", () => show($("offline-notice"), NETWORK_LOST));
  window.addEventListener("online", () => show($("offline-notice"), ""));
}

/** The offline inspection left unfinished on this phone, else the scan (or the label's fix). */
async function showSteps() {
  if (await resumeOffline(offlinePage).catch(() => false)) return;
  if (qr) $("locate-step").hidden = false;
  else $("scan-step").hidden = false;
}

async function start() {
  $("locate-start").addEventListener("click", startInspection);
  $("scan-start").addEventListener("click", scan);
  $("submit").addEventListener("click", submit);
  installShell().then((problem) => {
    if (problem) show($("offline-notice"), problem);
  });
  try {
    if (contactToken) {
      $("page-title").textContent = "企业自检";
      base = `/api/v1/self-checks/${encodeURIComponent(contactToken)}`;
      inspection = await request(base);
      $("user-name").textContent = inspection.contact_name;
      showSite(inspection);
      $("locate-step").hidden = false;
      if (inspection.check_in) showInspection();
    } else {
      startOutbox($("outbox"));
      watchNetwork();
      const me = await api("/api/v1/auth/me");
      $("user-name").textContent = me.display_name || me.username;
      refreshChecklist().catch(() => {}); // for the next inspection without network
      await showSteps();
    }
  } catch (err) {
    // No answer from the server (offline, or the network is there but leads nowhere).
    if (!isOffline(err) && !(err instanceof ApiError && err.status === 0)) fail(err);
    else {
      show($("offline-notice"), OFFLINE);
      if (!contactToken) await showSteps();
    }
  } finally {
    document.body.classList.remove("is-loading");
  }
}

start();
