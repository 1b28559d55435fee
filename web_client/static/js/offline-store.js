// The phone's own store of offline inspections (IndexedDB, through the vendored idb): each
// inspection under the UUID the phone gave it, its answers written at every change, and its
// captures as Blobs with the SHA-256 computed when they were taken. The outbox reads it;
// nothing leaves it until the server has answered for it. Also the checklist cached while
// online, so an inspection can start without network.
import { openDB } from "../vendor/idb.js";

const NAME = "loancheck-offline";
let opened = null;

function db() {
  opened ||= openDB(NAME, 1, {
    upgrade(database) {
      database.createObjectStore("inspections", { keyPath: "client_uuid" });
      const captures = database.createObjectStore("captures", { keyPath: "client_uuid" });
      captures.createIndex("inspection", "inspection_uuid");
      database.createObjectStore("meta");
    },
  });
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

export async function cachedChecklist() {
  return (await (await db()).get("meta", "checklist")) || null;
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

export async function knownCheckpoint(qr) {
  const known = (await (await db()).get("meta", "checkpoints")) || {};
  return known[labelKey(qr)] || null;
}

// ---- inspections ----

/** A new offline inspection from a scan and its fix; it becomes the one being filled in. */
export async function createInspection({ qr, scanFix, checklist, checkpoint = null }) {
  const inspection = {
    client_uuid: crypto.randomUUID(),
    qr,
    scan_fix: scanFix,
    started_at: new Date().toISOString(),
    checkpoint,
    template_id: checklist.template_id,
    checklist_version_id: checklist.id,
    checklist,
    answers: {},
    flags: [],
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
