// 现场检查 without network: the checklist cached the last time the page was online, the
// answers written to the phone's store at every change, each capture kept as a Blob with its
// SHA-256. 提交 puts the inspection in the outbox (待上传), which sends it when it can; the
// server then checks the label, the place and the times as it would have online.
import { api } from "./api.js";
import { captureLive, mediaErrorText, sha256Hex } from "./capture.js";
import { formatTime, h, show } from "./dom.js";
import { CAPTURE_KINDS, removeQuestion, renderInspectionForm } from "./inspection-form.js";
import {
  addCapture,
  cacheChecklist,
  cachedChecklist,
  capturesOf,
  createInspection,
  currentInspection,
  deleteInspection,
  knownCheckpoint,
  packageTask,
  removeCapture,
  storedSelfCheck,
  submitInspection,
  updateInspection,
} from "./offline-store.js";
import { render as renderOutbox, syncNow } from "./outbox.js";

const DEFAULT_TEMPLATE = "sme_briefing_sheet"; // the 明白纸 an on-site inspection starts with
const SUPERVISOR_OPINION = "supervisor_opinion"; // written by the managers above, not on site
export const NO_CHECKLIST = "当前无网络，且本机尚未缓存检查表：请先在有网络时打开本页面一次。";
export const NO_SELF_CHECK = "当前没有网络，本手机上也没有这次自检的内容：请先在有网络的地方打开一次这个链接，之后没有网络也能自检。";

const $ = (id) => document.getElementById(id);
const urls = new Map(); // capture UUID → object URL of its Blob

/** The form as the inspector fills it in (as the server's inspector_form). */
function inspectorForm(version) {
  const sections = version.sections
    .map((s) => ({ ...s, items: s.items.filter((i) => i.key !== SUPERVISOR_OPINION) }))
    .filter((s) => s.items.length);
  return { ...version, sections };
}

/**
 * Online: keep the current version of the checklist an inspection would start with (the
 * template of the last inspection started online, else the default 明白纸).
 */
export async function refreshChecklist(fromInspection = null) {
  if (fromInspection) {
    await cacheChecklist(inspectorForm(fromInspection));
    return;
  }
  const cached = await cachedChecklist();
  const templates = (await api("/api/v1/checklist-templates")).filter((t) => t.status === "active" && t.published);
  const template =
    templates.find((t) => cached && t.id === cached.template_id) || templates.find((t) => t.code === DEFAULT_TEMPLATE);
  if (!template) return;
  const version = await api(`/api/v1/checklist-templates/${template.id}/versions/${template.published.number}`);
  await cacheChecklist(inspectorForm(version));
}

/** The offline inspection being filled in, shown again (after a reload); false if none. */
export async function resumeOffline(ctx) {
  const record = await currentInspection();
  if (!record) return false;
  await showOffline(ctx, record);
  return true;
}

/** Start from the scan and the fix without network. */
export async function startOffline(ctx, { qr, fix }) {
  const checklist = await cachedChecklist(qr); // a task's own form when the label is of one
  if (!checklist) throw new Error(NO_CHECKLIST);
  const record = await createInspection({ qr, scanFix: fix, checklist, checkpoint: await knownCheckpoint(qr) });
  await showOffline(ctx, record);
}

/**
 * 企业自检 without network, from the fix: the checkpoint, the form and what was answered
 * online as the link showed them at the last online visit (offline-store.js storeSelfCheck).
 */
export async function startSelfCheckOffline(ctx, { fix }) {
  const stored = await storedSelfCheck();
  if (!stored) throw new Error(NO_SELF_CHECK);
  const { checkpoint, checklist, answers, flags, link_expires_at: linkEnds } = stored;
  const record = await createInspection({ qr: null, scanFix: fix, checklist: inspectorForm(checklist), checkpoint, answers: answers || {}, flags: flags || [] });
  await showOffline(ctx, await updateInspection(record.client_uuid, { link_expires_at: linkEnds || null }));
}

/**
 * Offline, the checkpoint 开始检查 of a task expects (`/onsite?checkpoint=ID`, or `id`), named
 * from the offline package above the scan; false when the package does not have it.
 */
export async function showExpectedOffline(id = new URLSearchParams(window.location.search).get("checkpoint")) {
  const planned = id ? await packageTask(id) : null;
  if (!planned) return false;
  const site = planned.task.checkpoint;
  const note = h(
    "div",
    { class: "notice", "data-testid": "expected-checkpoint" },
    h("div", {}, h("strong", {}, `本次检查：${site.name}`)),
    h("div", {}, `${site.customer_name} · ${site.address || site.code}`),
    h("div", { class: "muted" }, "离线：信息来自「我的任务」离线包；请扫描现场二维码，二维码联网后核验。"),
  );
  document.querySelector("[data-testid=expected-checkpoint]")?.remove();
  $("scan-step").querySelector("h1").after(note);
  return true;
}

async function evidenceOf(record) {
  return (await capturesOf(record.client_uuid)).map((c) => {
    if (!urls.has(c.client_uuid)) urls.set(c.client_uuid, URL.createObjectURL(c.blob));
    return { id: c.client_uuid, item_key: c.item_key, kind: c.kind, url: urls.get(c.client_uuid), sha256: c.sha256 };
  });
}

/**
 * Show the form of an offline inspection. `ctx` is the page: `locate()` (a GPS fix),
 * `setForm(form)`, `fail(err)`, `done(node)`. Returns the handlers the page's buttons use.
 */
async function showOffline(ctx, record) {
  let current = record;
  const site = current.checkpoint;
  const selfCheck = !current.qr; // 企业自检: the link names the site, no label is scanned
  const what = selfCheck ? "离线自检" : "离线检查";
  const pending = selfCheck ? "位置待联网核验" : "二维码待同步核验";
  // The link admits nothing after its end: the contact must be online before it.
  const deadline = current.link_expires_at ? `请在 ${formatTime(current.link_expires_at)} 前联网上传，过期后无法上传。` : "请在链接有效期内联网上传。";
  $("site-title").textContent = site ? `${what} · ${site.name}` : what;
  $("site-meta").textContent = site ? `${site.customer_name} · ${site.address || site.code} · ${pending}` : pending;
  $("fix-accuracy").textContent = `±${Math.round(current.scan_fix.accuracy)} 米`;
  $("fix-distance").textContent = "联网后核验";
  show(
    $("locate-status"),
    selfCheck
      ? `没有网络也可以继续自检：填写的内容和拍摄的照片、视频、录音都保存在本手机上，刷新或关闭页面也不会丢失；提交后，等手机有网络时会自动上传。${deadline}`
      : "离线检查：答案和取证随时保存在本机，刷新页面也不会丢失；提交后联网自动上传。",
  );
  const form = renderInspectionForm(
    { ...current, evidence: await evidenceOf(current) },
    {
      editable: true,
      captureKinds: () => CAPTURE_KINDS,
      onCapture: (item, kind) => capture(item, kind).catch(ctx.fail),
      onRemove: (evidence) => remove(evidence).catch(ctx.fail),
      onChange: () => save().catch(ctx.fail),
    },
  );

  async function save() {
    const { answers, flags } = form.collect();
    current = await updateInspection(current.client_uuid, { answers, flags });
    $("save-status").textContent = "已保存到本机";
  }

  async function capture(item, kind) {
    let shot;
    try {
      shot = await captureLive(kind);
    } catch (err) {
      show($("page-error"), mediaErrorText(err));
      return;
    }
    if (!shot) return;
    if (shot.notice) show($("locate-status"), shot.notice); // stopped at the size limit
    const fix = await ctx.locate();
    const sha256 = await sha256Hex(shot.blob);
    await addCapture(current.client_uuid, { itemKey: item.key, kind, ...shot, sha256, fix });
    form.setEvidence(await evidenceOf(current));
  }

  async function remove(evidence) {
    if (!window.confirm(removeQuestion(evidence.kind, { waiting: true }))) return; // never sent
    await removeCapture(evidence.id);
    URL.revokeObjectURL(urls.get(evidence.id));
    urls.delete(evidence.id);
    form.setEvidence(await evidenceOf(current));
  }

  async function submit() {
    await save();
    const fix = await ctx.locate();
    current = await submitInspection(current.client_uuid, fix);
    const count = (await capturesOf(current.client_uuid)).length;
    ctx.done(
      selfCheck ? "自检已保存在本手机" : "检查已暂存在本机",
      selfCheck
        ? `取证 ${count} 项。手机有网络时会自动上传（见下方「待上传」）。${deadline}上传后银行核验位置和时间。`
        : `取证 ${count} 项。联网后将自动上传（见「待上传」），服务器届时核验二维码、位置和时间。`,
    );
    await renderOutbox();
    if (navigator.onLine) syncNow();
  }

  async function discard() {
    if (!window.confirm(`放弃本次${what}？已填写的答案和取证将从本机删除。`)) return;
    await deleteInspection(current.client_uuid);
    window.location.reload();
  }

  const discardButton = h("button", { type: "button", class: "btn btn-ghost", onclick: () => discard().catch(ctx.fail) }, "放弃本次检查");
  ctx.setForm(form, submit, discardButton);
}
