// The phone's own store of offline inspections (IndexedDB, through the vendored idb): each
// inspection under the UUID the phone gave it, its answers written at every change, and its
// captures as Blobs with the SHA-256 computed when they were taken. The outbox reads it;
// nothing leaves it until the server has answered for it. Also the checklist cached while
// online, so an inspection can start without network.
import { openDB } from "../vendor/idb.js";
import { target } from "./offline-target.js";

let opened = null; // the database of the page's target (offline-target.js)

const VERSION = 2;

/** Each version's stores, added in order: a phone on an older version keeps what it holds. */
function upgrade(database, oldVersion) {
  if (oldVersion < 1) {
    database.createObjectStore("inspections", { keyPath: "client_uuid" });
    const captures = database.createObjectStore("captures", { keyPath: "client_uuid" });
    captures.createIndex("inspection", "inspection_uuid");
    database.createObjectStore("meta");
  }
  if (oldVersion < 2) database.createObjectStore("packages"); // 离线包 of 我的任务
}

function db() {
  opened ||= openDB(target().db, VERSION, { upgrade });
  return opened;
}

/** Inspection states on the phone. */
export const FILLING = "filling"; // being filled in, not yet submitted (提交)
export const QUEUED = "queued"; // 待上传
export const UPLOADING = "uploading"; // 上传中
export const SYNCED = "synced"; // 已上传
export const REFUSED = "refused"; // 被拒绝

// ---- the checklist cached while online ----

export async function cacheChecklist(checklist) {
  await (await db()).put("meta", { ...checklist, cached_at: new Date().toISOString() }, "checklist");
}

/**
 * The form an offline inspection starts with: for a label of a checkpoint in the offline
 * package, the form of its task; else the checklist cached while online.
 */
export async function cachedChecklist(qr = null) {
  const planned = qr ? await plannedTask(qr) : null;
  if (planned?.checklist) return { ...planned.checklist, cached_at: planned.generated_at };
  return (await (await db()).get("meta", "checklist")) || null;
}

// ---- a self-check as its link showed it online (企业自检 offline) ----

/** What the self-check page needs offline: the checkpoint, the contact, the form, the link's end. */
export async function storeSelfCheck(detail) {
  const { checkpoint, contact_name, checklist, answers, flags, state, link_expires_at } = detail;
  const kept = { checkpoint, contact_name, checklist, answers, flags, state, link_expires_at, stored_at: new Date().toISOString() };
  await (await db()).put("meta", kept, "selfcheck");
}

export async function storedSelfCheck() {
  return (await (await db()).get("meta", "selfcheck")) || null;
}

// A label read by the camera is its URL; opened by the phone's camera app, /s/{payload}.
const labelKey = (qr) => {
  const found = /\/s\/([^/?#]+)/.exec(qr);
  return found ? decodeURIComponent(found[1]) : qr;
};

/** Online, a label's checkpoint as the server named it: known offline at the next scan. */
export async function rememberCheckpoint(qr, checkpoint) {
  const database = await db();
  const known = (await database.get("meta", "checkpoints")) || {};
  known[labelKey(qr)] = { name: checkpoint.name, customer_name: checkpoint.customer_name, code: checkpoint.code, address: checkpoint.address || null };
  await database.put("meta", known, "checkpoints");
}

/** What this phone knows of a label's checkpoint: started online before, or a task's. */
export async function knownCheckpoint(qr) {
  const known = (await (await db()).get("meta", "checkpoints")) || {};
  if (known[labelKey(qr)]) return known[labelKey(qr)];
  const planned = await plannedTask(qr);
  if (!planned) return null;
  const { name, customer_name, code, address } = planned.task.checkpoint;
  return { name, customer_name, code, address: address || null };
}

// ---- the offline package (离线包) of 我的任务 ----

/** The package as the server sent it (GET /api/v1/offline/package), kept whole. */
export async function storePackage(pkg) {
  await (await db()).put("packages", { ...pkg, stored_at: new Date().toISOString() }, "mine");
}

export async function storedPackage() {
  return (await (await db()).get("packages", "mine")) || null;
}

/** The package's task at checkpoint `id` and the form it is filled in with, or null. */
export async function packageTask(id) {
  const pkg = await storedPackage();
  const task = pkg?.tasks.find((t) => t.checkpoint.id === Number(id));
  if (!task) return null;
  const checklist = pkg.checklists.find((c) => c.id === task.checklist_version_id) || null;
  return { task, checklist, generated_at: pkg.generated_at };
}

// A label names its checkpoint (1.{id}.{generation}.{signature}); unverified until the sync.
const labelCheckpointId = (qr) => /^1\.(\d+)\.\d+\.[A-Za-z0-9_-]+$/.exec(labelKey(qr))?.[1] || null;

function plannedTask(qr) {
  const id = labelCheckpointId(qr);
  return id ? packageTask(id) : null;
}

// ---- inspections ----

/** A new offline inspection from a scan and its fix; it becomes the one being filled in. */
export async function createInspection({ qr, scanFix, checklist, checkpoint = null, answers = {}, flags = [] }) {
  const inspection = {
    client_uuid: crypto.randomUUID(),
    qr,
    scan_fix: scanFix,
    started_at: new Date().toISOString(),
    checkpoint,
    template_id: checklist.template_id,
    checklist_version_id: checklist.id,
    checklist,
    answers,
    flags,
    submit: null,
    state: FILLING,
    problem: null,
    inspection_id: null,
  };
  const database = await db();
  await database.put("inspections", inspection);
  await database.put("meta", inspection.client_uuid, "current");
  return inspection;
}

export async function getInspection(clientUuid) {
  return (await (await db()).get("inspections", clientUuid)) || null;
}

/** The offline inspection being filled in on this phone, if any. */
export async function currentInspection() {
  const clientUuid = await (await db()).get("meta", "current");
  const found = clientUuid ? await getInspection(clientUuid) : null;
  return found && found.state === FILLING ? found : null;
}

/** Change some fields of an inspection, in one transaction (answers at every edit). */
export async function updateInspection(clientUuid, changes) {
  const tx = (await db()).transaction("inspections", "readwrite");
  const found = await tx.store.get(clientUuid);
  if (!found) throw new Error("本机记录不存在");
  const updated = { ...found, ...changes };
  await tx.store.put(updated);
  await tx.done;
  return updated;
}

/** 提交 without network: kept for the outbox with the fix and the phone's time. */
export async function submitInspection(clientUuid, fix) {
  const database = await db();
  const updated = await updateInspection(clientUuid, { submit: { fix, submitted_at: new Date().toISOString() }, state: QUEUED });
  await database.delete("meta", "current");
  return updated;
}

export async function listInspections() {
  const all = await (await db()).getAll("inspections");
  return all.sort((a, b) => a.started_at.localeCompare(b.started_at));
}

export async function deleteInspection(clientUuid) {
  const database = await db();
  const tx = database.transaction(["inspections", "captures"], "readwrite");
  for (const key of await tx.objectStore("captures").index("inspection").getAllKeys(clientUuid)) {
    await tx.objectStore("captures").delete(key);
  }
  await tx.objectStore("inspections").delete(clientUuid);
  await tx.done;
}

/** An inspection's captures without their Blobs (after the server confirmed them): the
 * record line, sizes and hashes stay. */
export async function dropBlobs(inspectionUuid) {
  const tx = (await db()).transaction("captures", "readwrite");
  for (const capture of await tx.store.index("inspection").getAll(inspectionUuid)) {
    if (capture.blob) await tx.store.put({ ...capture, blob: null, blob_dropped_at: new Date().toISOString() });
  }
  await tx.done;
}

// ---- captures ----

/** A photo / video / audio clip as taken: its Blob, SHA-256 (hex), time and fix. */
export async function addCapture(inspectionUuid, { itemKey, kind, blob, mime, sha256, capturedAt, fix }) {
  const capture = {
    client_uuid: crypto.randomUUID(),
    inspection_uuid: inspectionUuid,
    item_key: itemKey,
    kind,
    blob,
    mime,
    size: blob.size,
    sha256,
    captured_at: capturedAt.toISOString(),
    fix,
    upload_url: null, // the tus upload's Location once created
    offset: 0,
    state: QUEUED,
    problem: null,
  };
  await (await db()).put("captures", capture);
  return capture;
}

export async function capturesOf(inspectionUuid) {
  const found = await (await db()).getAllFromIndex("captures", "inspection", inspectionUuid);
  return found.sort((a, b) => a.captured_at.localeCompare(b.captured_at));
}

export async function updateCapture(clientUuid, changes) {
  const tx = (await db()).transaction("captures", "readwrite");
  const found = await tx.store.get(clientUuid);
  if (!found) return null;
  const updated = { ...found, ...changes };
  await tx.store.put(updated);
  await tx.done;
  return updated;
}

export async function removeCapture(clientUuid) {
  await (await db()).delete("captures", clientUuid);
}

// ---- an inspection begun online: what the server has not acknowledged yet ----
// Kept under `online:{key}` in meta (`key`: "inspection-{id}", or "self-check-{token}" for
// a contact's link): the inspection as last shown (to reopen it without network), the base
// of its API, and the answers not yet saved (the latest value per item, null clears it).
// Its captures are in `captures` under that key, each with its Blob, SHA-256, time and fix;
// once attached a capture stays as this phone's copy (`evidence_id` set) to show it without
// network, until the inspection is submitted or another one is shown.

const ONLINE = "online:";
let writes = Promise.resolve(); // the answers' writes, in the order they were given

function queued(op) {
  const next = writes.then(op, op);
  writes = next.catch(() => {});
  return next;
}

/** The inspection `key` as the server last showed it (its answers, form, evidence), and
 * whose it is (`owner`: the staff member's id; null for a contact's link). */
export function keepOnline(key, base, inspection, owner = null) {
  return queued(async () => {
    const database = await db();
    const found = (await database.get("meta", ONLINE + key)) || { key, pending: { answers: {} } };
    const whose = owner ?? found.owner ?? null; // reopened offline, the page does not know who
    await database.put("meta", { ...found, base, inspection, owner: whose, kept_at: new Date().toISOString() }, ONLINE + key);
    if ((await database.get("meta", "online-current")) !== key) await dropCopies(key);
    await database.put("meta", key, "online-current");
  });
}

/** The captures of `key` that wait for the server (not the copies of attached ones). */
export async function waitingCaptures(key) {
  return (await capturesOf(key)).filter((c) => c.evidence_id == null);
}

/** The copies of attached captures (kept to show them without network) of every online
 * inspection but `except`'s: they give way to another inspection, or to room for what waits. */
export async function dropCopies(except = null) {
  const tx = (await db()).transaction("captures", "readwrite");
  for await (const cursor of tx.store) {
    const c = cursor.value;
    if (c.evidence_id != null && c.inspection_uuid !== except) await cursor.delete();
  }
  await tx.done;
}

/** Evidence `evidenceId` of `key` deleted on the server: this phone's copy of it goes too. */
export async function forgetCopy(key, evidenceId) {
  const tx = (await db()).transaction("captures", "readwrite");
  for (const c of await tx.store.index("inspection").getAll(key)) {
    if (c.evidence_id === evidenceId) await tx.store.delete(c.client_uuid);
  }
  await tx.done;
}

export async function keptOnline(key) {
  return (await (await db()).get("meta", ONLINE + key)) || null;
}

/** The online inspection the page showed last, and one with something not yet sent (that
 * one first); of `owner` when given (a phone shared by two inspectors keeps each one's). */
export async function currentOnline(owner = null) {
  const database = await db();
  const current = await database.get("meta", "online-current");
  const all = [];
  for (const name of await database.getAllKeys("meta")) {
    if (typeof name !== "string" || !name.startsWith(ONLINE)) continue;
    const record = await database.get("meta", name);
    if (owner === null || record.owner == null || record.owner === owner) all.push(record);
  }
  const waiting = [];
  for (const record of all) {
    const answers = Object.keys(record.pending?.answers || {}).length + (record.pending?.flags ? 1 : 0);
    if (answers || (await waitingCaptures(record.key)).length) waiting.push(record);
  }
  return {
    current: all.find((r) => r.key === current) || null,
    waiting: waiting.find((r) => r.key === current) || waiting[0] || null,
  };
}

/** Answers (`{answers: {item: value}}`) and/or `flags` given: kept until the server has them. */
export function keepAnswers(key, changes) {
  return queued(async () => {
    const tx = (await db()).transaction("meta", "readwrite");
    const found = (await tx.store.get(ONLINE + key)) || { key, pending: { answers: {} } };
    const pending = { ...found.pending, answers: { ...found.pending.answers, ...(changes.answers || {}) } };
    if ("flags" in changes) pending.flags = changes.flags;
    await tx.store.put({ ...found, pending }, ONLINE + key);
    await tx.done;
  });
}

/** The server answered for `sent` (saved, or refused for good): forget what it answered
 * for, unless it was changed again since (then the newer value waits). */
export function answersAnswered(key, sent) {
  const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  return queued(async () => {
    const tx = (await db()).transaction("meta", "readwrite");
    const found = await tx.store.get(ONLINE + key);
    if (!found) return;
    const answers = { ...found.pending.answers };
    for (const [item, value] of Object.entries(sent.answers || {})) {
      if (item in answers && same(answers[item], value)) delete answers[item];
    }
    const pending = { ...found.pending, answers };
    if ("flags" in sent && same(pending.flags, sent.flags)) delete pending.flags;
    await tx.store.put({ ...found, pending }, ONLINE + key);
    await tx.done;
  });
}

/** The inspector leaves the inspection shown last (nothing of it waits): not reopened, and
 * its copies of attached captures go. */
export async function leaveOnline() {
  await queued(async () => {
    await (await db()).delete("meta", "online-current");
    await dropCopies();
  });
}

/** The inspection submitted (or gone): its record and captures (waiting ones and copies) leave the phone. */
export async function forgetOnline(key) {
  await queued(async () => {
    const database = await db();
    const tx = database.transaction(["meta", "captures"], "readwrite");
    for (const name of await tx.objectStore("captures").index("inspection").getAllKeys(key)) {
      await tx.objectStore("captures").delete(name);
    }
    await tx.objectStore("meta").delete(ONLINE + key);
    if ((await tx.objectStore("meta").get("online-current")) === key) await tx.objectStore("meta").delete("online-current");
    await tx.done;
  });
}
