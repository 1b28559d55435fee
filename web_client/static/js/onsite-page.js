// 现场检查 on the phone: the QR label (read from /s/{payload} when the phone camera opened it,
// else scanned here), a GPS fix at the checkpoint, the checklist, live evidence, submit.
// /onsite?checkpoint=ID (开始检查 of 我的任务) names the checkpoint expected before any scan;
// a label is checked (shape, then the server: signature, generation, jurisdiction) before
// the page asks for a fix. /self-check/{token} is the same page for an enterprise contact's
// 企业自检 (by invite).
import { ApiError, api } from "./api.js";
import { answerSaver } from "./answer-saver.js";
import { captureLive, deviceId, mediaErrorText } from "./capture.js";
import { h, show } from "./dom.js";
import { locate } from "./gps-fix.js";
import { CAPTURE_KINDS, removeOfflineText, removeQuestion, renderInspectionForm } from "./inspection-form.js";
import { NO_SELF_CHECK, refreshChecklist, resumeOffline, showExpectedOffline, startOffline, startSelfCheckOffline } from "./offline-inspection.js";
import { OFFLINE, installShell, isOffline } from "./offline-shell.js";
import { QUEUED, UPLOADING, currentOnline, forgetOnline, keptOnline, knownCheckpoint, leaveOnline, listInspections, rememberCheckpoint, storeSelfCheck, storedSelfCheck, waitingCaptures } from "./offline-store.js";
import { selfCheckTarget, useTarget } from "./offline-target.js";
import { keyOf, onlineOutbox, shownWith, waitingText } from "./online-outbox.js";
import { problemNodes, showDone as showEnd, showFix, showRefusal, showSite, status } from "./onsite-view.js";
import { startOutbox } from "./outbox.js";
import { UNVERIFIED, labelScanner } from "./onsite-scan.js";
import { decodedOr, labelCheckpointId } from "./qr-label.js";

const $ = (id) => document.getElementById(id);
const [, first, second] = window.location.pathname.split("/");
const contactToken = first === "self-check" ? decodeURIComponent(second || "") : null;
if (contactToken) useTarget(selfCheckTarget(contactToken, deviceId)); // the link's own store, uploads and sync
// Added to the home screen, the link opens itself (its own manifest), not the staff's 我的任务.
if (contactToken) document.querySelector('link[rel="manifest"]')?.setAttribute("href", `${window.location.pathname}/manifest.webmanifest`);
const query = new URLSearchParams(window.location.search);
let qr = first === "s" && second ? decodedOr(second) : null;
// The checkpoint 开始检查 expects: its id from the link, its details once loaded.
const expectedId = /^[1-9]\d{0,9}$/.test(query.get("checkpoint") || "") ? Number(query.get("checkpoint")) : null;
let expected = null;
// The task's own form (its plan's template) from the link, for a label of that checkpoint.
const taskTemplateId = /^[1-9]\d{0,9}$/.test(query.get("template") || "") ? Number(query.get("template")) : null;

const NETWORK_LOST = contactToken
  ? "现在没有网络。自检可以照常进行：填写的内容和拍摄的照片、视频、录音先保存在这部手机上，有网络后自动上传。"
  : "当前无网络：检查可以继续，填写的回答和拍摄的取证先保存在本手机（刷新或关闭页面也不会丢失），联网后自动上传。";
const NOT_FOUND = "本任务的检查点不存在，或不在您的辖区内；仍可扫描现场的二维码标签。";

let inspection = null;
let form = null;
let base = null; // where this inspection's API lives: /api/v1/inspections/{id} or the link
let offlineSubmit = null; // set while an offline inspection is being filled in
let kept = null; // 待上传 of the online inspection shown (online-outbox.js)
let me = null; // the staff member signed in (null offline, and for a contact)

// What the offline inspection (offline-inspection.js) needs of this page.
const offlinePage = {
  locate,
  fail: (err) => fail(err),
  setForm(offlineForm, submitOffline, extra) {
    form = offlineForm;
    kept = null; // an offline inspection keeps everything itself
    offlineSubmit = submitOffline;
    $("scan-step").hidden = true;
    $("locate-step").hidden = false;
    $("form-host").replaceChildren(offlineForm.node, extra);
    $("form-step").hidden = false;
    $("fix-part").hidden = false;
    $("locate-start").hidden = true;
  },
  done(title, summary) {
    offlineSubmit = null;
    showDone({ title, summary, findings: [] });
  },
};

const showDone = (done) => showEnd(done, { actions: !contactToken }); // a contact has no tasks and no labels
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

/** The online start: with the task's form when the label is of the task's checkpoint. */
function onSiteStart(fix) {
  const ofTask = taskTemplateId !== null && expectedId !== null && labelCheckpointId(qr) === expectedId;
  return ofTask ? { qr, fix, template_id: taskTemplateId } : { qr, fix };
}

// ---- scanning (onsite-scan.js) ----

const scanner = labelScanner({
  expectedId,
  expected: () => expected,
  use: (text, checkpoint) => useLabel(text, checkpoint),
  dropped: () => {
    qr = null;
  },
  toLogin,
  fail,
});
const scan = () => scanner.scan();
const readLabel = (text) => scanner.readLabel(text);

/** Go on with this label: its checkpoint named (offline: as last seen online), then the fix. */
async function useLabel(text, checkpoint) {
  qr = text;
  $("scan-problem").hidden = true;
  $("scan-step").hidden = true;
  $("locate-step").hidden = false;
  $("fix-part").hidden = false;
  $("site-hint").hidden = true;
  status("");
  if (checkpoint) {
    expected = checkpoint;
    showSite({ checkpoint });
    return;
  }
  const known = await knownCheckpoint(text).catch(() => null);
  $("site-title").textContent = known ? known.name : "已识别二维码";
  $("site-meta").textContent = known ? `${known.customer_name} · ${known.address || known.code} · ${UNVERIFIED}` : UNVERIFIED;
  $("site-nav").replaceChildren();
  $("site-nav").hidden = true;
}

// ---- starting ----

async function startInspection() {
  const button = $("locate-start");
  show($("page-error"), "");
  button.disabled = true;
  status("正在定位…");
  try {
    const fix = await locate();
    showFix(fix);
    // An inspection begun online goes on as it is: never a second one offline beside it.
    const goOffline = async () => {
      if (kept) status("当前无网络：位置待联网后再核验。检查可以继续，回答和取证保存在本手机。");
      else await (contactToken ? startSelfCheckOffline(offlinePage, { fix }) : startOffline(offlinePage, { qr, fix }));
    };
    if (!navigator.onLine) {
      await goOffline();
      return;
    }
    status("定位成功，正在核验位置…");
    let started;
    try {
      started = contactToken
        ? await request(`${base}/check-in`, { method: "POST", body: { fix } })
        : await api("/api/v1/inspections/on-site", { method: "POST", body: onSiteStart(fix) });
    } catch (err) {
      // No network after all (a fetch that never got an answer): go on offline.
      if (!(err instanceof ApiError && err.status === 0)) throw err;
      await goOffline();
      return;
    }
    inspection = started.inspection;
    base = contactToken ? base : `/api/v1/inspections/${inspection.id}`;
    const result = started.check_in;
    showFix(fix, result.distance_m, result.radius_m);
    status(result.outcome === "bound" ? "首次扫码：已将当前位置设为检查点GPS位置" : "位置核验通过", "ok");
    await showInspection();
    if (!contactToken) {
      refreshChecklist(inspection.checklist).catch(() => {});
      rememberCheckpoint(qr, inspection.checkpoint).catch(() => {});
    }
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return toLogin();
    showRefusal(err);
  } finally {
    button.disabled = false;
  }
}

/** The inspection's form, with what this phone still keeps for it (待上传) on top. */
async function showInspection() {
  showSite(inspection);
  if (inspection.state === "submitted" || inspection.state === "approved") {
    showDone(inspection);
    return;
  }
  const key = keyOf(inspection, contactToken);
  const record = inspection.can_edit ? await keptOnline(key).catch(() => null) : null;
  const pending = record?.pending || { answers: {} };
  kept = !inspection.can_edit
    ? null
    : onlineOutbox({
        key,
        owner: contactToken ? null : (me?.id ?? null),
        base,
        form: () => form,
        locate,
        itemLabel: (item) => form.itemNode(item)?.querySelector(".if-label")?.textContent || item,
        onAttached: (added) => {
          inspection.evidence = [...inspection.evidence.filter((e) => e.id !== added.id), added];
          showEvidence();
        },
        onChange: waitingChanged,
      });
  await kept?.open(); // this phone's copies of what is attached: shown without network too
  form = renderInspectionForm({ ...shownWith(inspection, pending), evidence: shownEvidence() }, {
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
  if (!kept) return;
  kept.keepShown(inspection);
  // What waited on the phone goes again by the usual ways (and says 待上传 meanwhile).
  for (const item of Object.keys(pending.answers)) answers().touch(item);
  if (pending.flags) answers().touch("flags");
  await kept.resume();
}

/** The inspection's evidence as the form shows it: this phone's copies, and without network
 * a placeholder for what it has no copy of (online-outbox.js). */
const shownEvidence = () => (kept ? kept.shown(inspection.evidence) : inspection.evidence);

function showEvidence() {
  form.setEvidence(shownEvidence());
  kept?.keepShown(inspection);
}

/** Back online: the server's evidence again (fresh links), for what showed 已上传，联网后可查看. */
async function refreshEvidence() {
  if (!kept || inspection.evidence.every((e) => kept.hasCopy(e.id))) return;
  const fresh = await request(base);
  if (!kept || fresh.id !== inspection.id) return;
  inspection.evidence = fresh.evidence;
  showEvidence();
}

/** What waits changed (`removed`: a waiting capture deleted): the notice's counts, and
 * 提交检查's note once nothing waits. */
function waitingChanged(removed = false) {
  networkNotice();
  const problem = $("submit-problem");
  if (!problem.hidden && problem.dataset.waiting && !waitingText(kept.waiting())) {
    problem.dataset.waiting = "";
    problem.className = "notice submit-problem";
    const text = removed ? "本机已没有待上传的回答和取证，请再次点击「提交检查」。" : "待上传的回答和取证已全部上传，请再次点击「提交检查」。";
    problem.replaceChildren(h("p", {}, text));
  }
}

/** The notice: without network, what this phone keeps, truly; once that has nothing to say
 * (everything went up), what it said before goes. */
function networkNotice() {
  const node = $("offline-notice");
  const text = kept ? kept.notice(NETWORK_LOST) : navigator.onLine ? null : NETWORK_LOST;
  if (text !== null) {
    show(node, text);
    node.dataset.network = "1";
  } else if (node.dataset.network) {
    show(node, "");
    delete node.dataset.network;
  }
}

// ---- filling in ----

// Each answer is saved on its own as soon as it changes (answer-saver.js); the flags whole.
let saver = null;
let saverForm = null;

function answers() {
  if (saverForm !== form) {
    saverForm = form;
    saver = answerSaver({
      form,
      send: (body) => request(base, { method: "PATCH", body }),
      extras: { flags: () => form.flagList() },
      keep: kept?.keep,
      onStatus: (text) => ($("save-status").textContent = text),
      onSaved: (saved) => {
        inspection = { ...inspection, answers: saved.answers, flags: saved.flags };
        kept?.keepShown(inspection);
      },
      onFail: (err) => fail(err),
    });
  }
  return saver;
}

function scheduleSave(key, what) {
  answers().touch(what === "flags" ? "flags" : key);
}

/** Everything typed so far, saved now; false (the first refused item shown) when not all is. */
async function save() {
  const saved = await answers().flush();
  const first = answers().refusedKeys()[0];
  if (first) form.itemNode(first)?.scrollIntoView({ block: "center" });
  return saved;
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
  // Kept on the phone at once, then up by tus (staff's or the link's, offline-target.js) with
  // a row of the bytes sent: 待上传 without network, a refusal says why, 重试 goes on.
  await kept.capture(item, kind, shot);
}

async function removeEvidence(evidence) {
  // Said where the inspector is looking (a dialog, like the question), not at the page's top.
  if (isOffline()) {
    window.alert(removeOfflineText(evidence.kind));
    return;
  }
  if (!window.confirm(removeQuestion(evidence.kind))) return;
  try {
    await request(`${base}/evidence/${evidence.id}`, { method: "DELETE" });
    kept?.forget(evidence.id);
    inspection.evidence = inspection.evidence.filter((e) => e.id !== evidence.id);
    showEvidence();
  } catch (err) {
    if (err instanceof ApiError && err.status === 0) window.alert(removeOfflineText(evidence.kind));
    else fail(err);
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
    const saved = await save();
    const waiting = kept ? waitingText(kept.waiting()) : "";
    if (waiting) {
      // Never submitted without what the phone still holds: it goes up by itself.
      problem.className = "notice submit-problem";
      problem.dataset.waiting = "1";
      problem.replaceChildren(h("p", {}, `还有 ${waiting}未上传，联网后自动上传；全部上传后请再次点击「提交检查」。`));
      problem.hidden = false;
      problem.scrollIntoView({ block: "center" });
      kept.sendAll();
      return;
    }
    if (!saved) return;
    status("");
    const fix = await locate();
    showFix(fix);
    const done = await request(`${base}/submit`, { method: "POST", body: { fix } });
    forgetOnline(keyOf(inspection, contactToken)).catch(() => {});
    kept = null;
    showDone(done);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return toLogin();
    if (err instanceof ApiError && err.problem.distance_m) showFix(null, err.problem.distance_m, err.problem.radius_m);
    if (err instanceof ApiError && err.problem.errors) form.setErrors(err.problem.errors);
    problem.className = "alert submit-problem";
    problem.dataset.waiting = "";
    problem.replaceChildren(...problemNodes(err));
    problem.hidden = false;
    problem.scrollIntoView({ block: "center" });
  } finally {
    button.disabled = false;
    button.textContent = "提交检查";
  }
}

// ---- start ----

/** Say so when the network goes or comes back while the page is open (staff: work goes on). */
function watchNetwork() {
  window.addEventListener("offline", networkNotice);
  window.addEventListener("online", () => {
    show($("offline-notice"), "");
    networkNotice();
    if (!kept) return;
    kept
      .sendAll()
      .then(refreshEvidence)
      .catch(() => {}); // still unreachable: the placeholders stay until the next time
    answers().flush();
  });
}

/**
 * An online inspection this phone still holds something of (待上传), else (without network)
 * the one the page showed last when the address is of its checkpoint: shown again, online
 * as the server has it, offline as it was kept. False when there is none.
 */
async function reopenOnline(online) {
  const { current, waiting } = await currentOnline(me?.id ?? null).catch(() => ({}));
  const ofThisPage = (r) => {
    const id = r?.inspection?.checkpoint_id;
    const named = qr ? labelCheckpointId(qr) : expectedId;
    return named === null || named === id;
  };
  const record = waiting || (!online && ofThisPage(current) ? current : null);
  if (!record) return false;
  inspection = record.inspection;
  base = record.base;
  if (online) {
    try {
      inspection = await api(base);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 403)) {
        await dropUnsendable(record.key, `检查记录 #${record.inspection.id} 已不存在或不在您的辖区内`);
        return false;
      }
      if (!isOffline(err) && !(err instanceof ApiError && err.status === 0)) throw err;
    }
    if (!inspection.can_edit) {
      await dropUnsendable(record.key, `检查记录 #${inspection.id} 已提交或不可再修改`);
      return false;
    }
  }
  $("scan-step").hidden = true;
  $("locate-step").hidden = false;
  await showInspection();
  networkNotice();
  if (!waiting) {
    // Nothing waits: the inspector may rather begin another inspection here.
    const other = h("button", { type: "button", class: "btn btn-ghost btn-block", onclick: () => leaveOnline().then(() => window.location.reload()) }, "改为检查其他检查点（扫码）");
    $("locate-step").append(other);
  }
  return true;
}

/** What waits for an inspection the server no longer takes it for: said, then dropped. */
async function dropUnsendable(key, reason) {
  const record = await keptOnline(key).catch(() => null);
  const answers = Object.keys(record?.pending?.answers || {}).length + (record?.pending?.flags ? 1 : 0);
  const captures = (await waitingCaptures(key).catch(() => [])).length;
  const what = waitingText({ answers, captures });
  if (what) show($("page-error"), `${reason}：本机未上传的 ${what}无法再上传，已从本机删除。`);
  await forgetOnline(key).catch(() => {});
}

/**
 * The checkpoint 开始检查 expects (/onsite?checkpoint=ID): name, enterprise, address and
 * navigation; null when there is no network to ask.
 */
async function loadExpected(id) {
  try {
    return await api(`/api/v1/checkpoints/${id}`);
  } catch (err) {
    if (isOffline(err) || (err instanceof ApiError && err.status === 0)) return null;
    throw err;
  }
}

/** Before any scan: the task's checkpoint, and the scanner under it. */
function showExpected(checkpoint) {
  expected = checkpoint;
  showSite({ checkpoint });
  show($("site-hint"), "本任务的检查点。到达现场后，请扫描张贴在现场的二维码标签。");
  $("fix-part").hidden = true;
  $("locate-step").hidden = false;
}

/** 企业自检 without network: the offline self-check left unfinished, else the link's
 * checkpoint as stored at the last online visit, and 定位 to start; false if never stored. */
async function showSelfCheckOffline() {
  const stored = await storedSelfCheck().catch(() => null);
  if (!stored) {
    show($("page-error"), NO_SELF_CHECK);
    return;
  }
  $("user-name").textContent = stored.contact_name;
  if (await resumeOffline(offlinePage).catch(() => false)) return;
  // Begun online (checked in): reopened as it was kept, what waits goes up when online.
  const begun = await keptOnline(keyOf(null, contactToken)).catch(() => null);
  if (begun?.inspection?.check_in && begun.inspection.can_edit) {
    inspection = begun.inspection;
    $("locate-step").hidden = false;
    await showInspection();
    networkNotice();
    return;
  }
  showSite({ checkpoint: stored.checkpoint });
  $("locate-step").hidden = false;
  if (await selfCheckWaiting()) return;
  if (stored.state === "submitted" || stored.state === "approved") {
    showDone({ title: "本次自检已提交", summary: "无需再次填写。" });
  }
}

/** A self-check submitted on this phone that has not gone up yet: nothing to fill in again
 * (a second record of it would be refused); true when so, and the page says it. */
async function selfCheckWaiting() {
  const records = await listInspections().catch(() => []);
  if (!records.some((r) => r.state === QUEUED || r.state === UPLOADING)) return false;
  // Stays true once the outbox has sent it: the outbox below says 已上传 then.
  showDone({ title: "自检已保存在本手机", summary: "上传情况见下方「待上传」：手机有网络时自动上传，显示「已上传」即银行已收到。" });
  return true;
}

/** The offline inspection left unfinished on this phone, else the label's checkpoint (when
 * /s/{payload} opened the page), else the scan under the expected checkpoint. */
async function showSteps() {
  if (await resumeOffline(offlinePage).catch(() => false)) return;
  if (expectedId !== null && !qr) {
    const checkpoint = await loadExpected(expectedId).catch((err) => {
      if (err instanceof ApiError && err.status === 404) show($("page-error"), NOT_FOUND);
      else fail(err);
      return null;
    });
    if (checkpoint) showExpected(checkpoint);
  }
  if (qr) {
    $("locate-step").hidden = false;
    await readLabel(qr);
    return;
  }
  $("scan-step").hidden = false;
  if (query.get("scan") === "1") scan(); // 继续扫码 from the done page
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
      $("my-tasks").hidden = true; // a contact has no account and no tasks
      base = `/api/v1/self-checks/${encodeURIComponent(contactToken)}`;
      startOutbox($("outbox")); // 待上传: a self-check made offline on this phone
      watchNetwork();
      const stored = await storedSelfCheck().catch(() => null);
      if (stored && (await resumeOffline(offlinePage).catch(() => false))) {
        $("user-name").textContent = stored.contact_name; // begun offline: go on offline
        return;
      }
      inspection = await request(base);
      storeSelfCheck(inspection).catch(() => {}); // for this link without network
      if (!inspection.can_edit) await dropUnsendable(keyOf(inspection, contactToken), "本次自检已提交或不可再修改");
      $("user-name").textContent = inspection.contact_name;
      showSite(inspection);
      $("locate-step").hidden = false;
      if (inspection.can_edit && (await selfCheckWaiting())) return;
      if (inspection.check_in) await showInspection();
    } else {
      startOutbox($("outbox"));
      watchNetwork();
      me = await api("/api/v1/auth/me");
      $("user-name").textContent = me.display_name || me.username;
      refreshChecklist().catch(() => {}); // for the next inspection without network
      if (await reopenOnline(true)) return;
      await showSteps();
    }
  } catch (err) {
    // No answer from the server (offline, or the network is there but leads nowhere).
    if (!isOffline(err) && !(err instanceof ApiError && err.status === 0)) fail(err);
    else {
      show($("offline-notice"), contactToken ? NETWORK_LOST : OFFLINE);
      if (contactToken) await showSelfCheckOffline();
      if (!contactToken && (await reopenOnline(false))) return;
      if (!contactToken) await showSteps();
      if (!contactToken) await showExpectedOffline().catch(() => false); // 开始检查 of a task, named from the 离线包
    }
  } finally {
    document.body.classList.remove("is-loading");
  }
}

start();
