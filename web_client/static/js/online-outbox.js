// 待上传 of an inspection begun online (现场检查, or a contact's 企业自检 by its link): what the
// server has not acknowledged yet is kept on the phone (offline-store.js), at once when it
// is given, so a network lost mid-session, a reload or a closed tab loses nothing. Answers
// wait as the latest value per item (answer-saver.js sends them by the usual PATCH); each
// capture waits as its Blob with its SHA-256 (taken at capture), time, fix and UUID, and
// goes by the usual tus upload and evidence/from-upload under that UUID, so a retry after
// a crash attaches it once. An answer the server acknowledged leaves the phone at once; an
// attached capture's Blob stays as this phone's copy, shown instead of the server's file
// (without network too), until the inspection is submitted. A waiting capture can be
// deleted: it leaves the phone, its upload stops, and it is never sent.
import { ApiError, api } from "./api.js";
import { sha256Hex, uploadEvidence } from "./capture.js";
import { EVIDENCE_LABELS, evidenceMedia, removeQuestion } from "./inspection-form.js";
import { addCapture, answersAnswered, capturesOf, dropCopies, forgetCopy, keepAnswers, keepOnline, removeCapture, updateCapture } from "./offline-store.js";
import { target } from "./offline-target.js";
import { NetworkError, terminateUpload } from "./tus-upload.js";
import { uploadRow } from "./upload-progress.js";

const KEPT = "已保存在本手机，联网后自动上传";
// The phone would not keep it (storage full, or a browser that refuses): only this page holds it.
const NOT_KEPT = "本手机无法保存数据（存储空间不足或浏览器不允许）：未上传的回答和取证只在当前页面中，请勿刷新或关闭页面，联网后自动上传。";
const RETRY_MS = 15_000; // while the server answers but not well (5xx): try again

/** The record's key: the inspection's id, or a contact's link token. */
export const keyOf = (inspection, token) => (token ? `self-check-${token}` : `inspection-${inspection.id}`);

/** The inspection as the server has it, with what the phone still keeps for it over it
 * (`pending`: answers by item, null clearing one, and the flags when changed). */
export function shownWith(inspection, pending) {
  const answers = { ...inspection.answers };
  for (const [item, value] of Object.entries(pending.answers || {})) {
    if (value === null) delete answers[item];
    else answers[item] = value;
  }
  return { ...inspection, answers, flags: pending.flags ?? inspection.flags };
}

/** What waits, in plain Chinese: 「2 项回答、1 个取证」 ("" when nothing). */
export function waitingText({ answers, captures }) {
  return [answers ? `${answers} 项回答` : "", captures ? `${captures} 个取证` : ""].filter(Boolean).join("、");
}

/**
 * The outbox of the inspection shown, `key` its record, `owner` whose it is (the staff
 * member's id, null for a contact's link). `base` is its API; `form()` the form
 * shown now; `locate()` a GPS fix; `itemLabel(key)` an item's label; `onAttached(evidence)`
 * the server's row of a capture; `onChange(removed)` whenever what waits (or the phone's
 * keeping of it) changed, `removed` true when the inspector deleted a waiting capture.
 */
export function onlineOutbox({ key, owner = null, base, form, locate, itemLabel, onAttached, onChange = () => {} }) {
  const answers = new Set(); // item keys (and "flags") waiting for the server
  const captures = new Map(); // capture UUID → {capture, row, sending, url, abort, removed}
  const copies = new Map(); // evidence id → object URL of this phone's copy of its file
  let timer = null;
  let notKept = false; // the phone refused to keep something: only this page holds it

  function storeFailed() {
    notKept = true;
    onChange();
  }
  const kept = (promise) => promise.catch(storeFailed);

  /** For answer-saver.js: each change kept at once, forgotten once the server answered. */
  const keep = {
    put(changes) {
      for (const item of Object.keys(changes.answers || {})) answers.add(item);
      if ("flags" in changes) answers.add("flags");
      onChange();
      return kept(keepAnswers(key, changes));
    },
    answered(body) {
      for (const item of Object.keys(body.answers || {})) answers.delete(item);
      if ("flags" in body) answers.delete("flags");
      onChange();
      return kept(answersAnswered(key, body));
    },
  };

  function showRow(capture, notice = "") {
    // What was taken, shown from the phone's own copy until the server has it.
    const url = URL.createObjectURL(capture.blob);
    const preview = evidenceMedia({ kind: capture.kind, url, item_key: itemLabel(capture.item_key) });
    const entry = { capture, row: null, sending: null, notice, url, abort: new AbortController(), removed: false };
    const onRemove = () => remove(entry);
    entry.row = uploadRow(`${EVIDENCE_LABELS[capture.kind]} · ${itemLabel(capture.item_key)}`, capture.size, { preview, onRemove });
    entry.row.note(notice);
    form().addUpload(capture.item_key, entry.row.node);
    captures.set(capture.client_uuid, entry);
    return entry;
  }

  /** 删除 of a capture not yet attached: asked first; then off the page, the phone and the
   * count at once, its upload stopped (and dropped on the server when it can be). */
  async function remove(entry) {
    const c = entry.capture;
    if (!window.confirm(removeQuestion(c.kind, { waiting: true }))) return;
    entry.removed = true;
    entry.abort.abort();
    captures.delete(c.client_uuid);
    entry.row.node.remove();
    URL.revokeObjectURL(entry.url);
    onChange(true);
    await kept(removeCapture(c.client_uuid));
    // Dropped on the server when its address is known and there is network; else what was
    // sent of it stays there, never attached (docs/offline.md).
    if (c.upload_url && navigator.onLine) await terminateUpload(c.upload_url);
  }

  /** Attached after all (deleted while the server was attaching it): deleted there too;
   * when that fails it is shown as the server's, with the gallery's own 删除. */
  async function removeAttached(entry, added) {
    try {
      await api(`${base}/evidence/${added.id}`, { method: "DELETE", headers: target().headers() });
    } catch {
      copies.set(added.id, URL.createObjectURL(entry.capture.blob));
      onAttached(added);
    }
  }

  /** Up by tus and attached under its UUID; then it no longer waits (its Blob stays as the
   * phone's copy). */
  function send(entry) {
    if (entry.sending) return entry.sending;
    const { row } = entry;
    entry.sending = (async () => {
      const c = entry.capture;
      try {
        row.note(entry.notice);
        if (!c.fix) {
          c.fix = await locate();
          await kept(updateCapture(c.client_uuid, { fix: c.fix }));
        }
        const job = {
          itemKey: c.item_key,
          kind: c.kind,
          blob: c.blob,
          mime: c.mime,
          capturedAt: new Date(c.captured_at),
          fix: c.fix,
          sha256: c.sha256,
          clientUuid: c.client_uuid,
          uploadUrl: c.upload_url,
          onProgress: (bytes) => row.progress(bytes),
          onCreated: (url) => {
            c.upload_url = url;
            return kept(updateCapture(c.client_uuid, { upload_url: url }));
          },
          signal: entry.abort.signal,
        };
        const added = await uploadEvidence(base, job);
        if (entry.removed) {
          await removeAttached(entry, added);
          return;
        }
        row.progress(c.size);
        captures.delete(c.client_uuid);
        // Kept as this phone's copy (shown without network) until the inspection is submitted.
        await kept(updateCapture(c.client_uuid, { evidence_id: added.id, upload_url: null }));
        copies.set(added.id, entry.url);
        row.done({ keep: Boolean(entry.notice) }); // a recording stopped at the limit says so
        onAttached(added);
        onChange();
      } catch (err) {
        if (entry.removed) return; // deleted on the phone: its upload was stopped on purpose
        const unreachable = err instanceof NetworkError || (err instanceof ApiError && (err.status === 0 || err.status >= 500));
        if (unreachable) {
          // Why it stopped, that it waits on the phone, and 重试; it also goes by itself.
          row.fail(err, () => send(entry), { kept: `${entry.notice ? `${entry.notice}；` : ""}${KEPT}` });
          clearTimeout(timer);
          timer = setTimeout(sendAll, RETRY_MS);
        } else if (err instanceof ApiError && err.status === 401) {
          row.fail(err, () => send(entry)); // kept on the phone for after the login
        } else {
          // Refused by the server (outside the radius, too large …): it answered, so the phone's
          // copy goes; this page still shows why, with 重试.
          captures.delete(c.client_uuid);
          await kept(removeCapture(c.client_uuid));
          row.fail(err, () => {
            captures.set(c.client_uuid, entry);
            return send(entry);
          });
          onChange();
        }
      } finally {
        entry.sending = null;
      }
    })();
    return entry.sending;
  }

  /** A capture as taken (`shot` from captureLive): kept on the phone first, then sent. */
  async function capture(item, kind, shot) {
    const sha256 = await sha256Hex(shot.blob);
    const taken = { itemKey: item.key, kind, blob: shot.blob, mime: shot.mime, sha256, capturedAt: shot.capturedAt, fix: null };
    let stored;
    try {
      // The copies of attached captures give way when the phone is short of room.
      stored = await addCapture(key, taken).catch(() => dropCopies().then(() => addCapture(key, taken)));
    } catch {
      storeFailed();
      // Not on the phone: this page still holds it, under a UUID of its own.
      stored = { ...taken, client_uuid: crypto.randomUUID(), item_key: item.key, size: shot.blob.size, captured_at: shot.capturedAt.toISOString(), upload_url: null };
    }
    const entry = showRow(stored, shot.notice);
    onChange();
    await send(entry);
  }

  /** This phone's copies of the captures already attached, to show (before the form). */
  async function open() {
    for (const c of await capturesOf(key).catch(() => [])) {
      if (c.evidence_id != null && c.blob && !copies.has(c.evidence_id)) copies.set(c.evidence_id, URL.createObjectURL(c.blob));
    }
  }

  /** After a reload: the captures kept on the phone, shown 待上传 and sent. */
  async function resume() {
    for (const c of await capturesOf(key)) {
      if (c.evidence_id != null || captures.has(c.client_uuid)) continue;
      const entry = showRow(c);
      entry.row.wait(KEPT, () => send(entry));
    }
    onChange();
    sendAll();
  }

  function sendAll() {
    clearTimeout(timer);
    if (!navigator.onLine) return Promise.resolve();
    return Promise.all([...captures.values()].map(send));
  }

  const waiting = () => ({ answers: answers.size, captures: captures.size });

  return {
    keep,
    /** The inspection as the server last showed it, for a reload without network. */
    keepShown: (inspection) => kept(keepOnline(key, base, inspection, owner)),
    /** The page's notice, the truth of what is kept (`lost`: the page's no-network text);
     * null when there is nothing to say. */
    notice(lost) {
      const what = waitingText(waiting());
      if (navigator.onLine) return notKept && what ? NOT_KEPT : null;
      if (notKept) return NOT_KEPT;
      return what ? `${lost}本机待上传：${what}。` : lost;
    },
    capture,
    open,
    resume,
    sendAll,
    /** The server's evidence as the page shows it: from this phone's copy when it has one
     * (no download, and shown without network); without network, what it has no copy of
     * with no `url` (the form says 已上传，联网后可查看). */
    shown: (evidence) => evidence.map((e) => (copies.has(e.id) ? { ...e, url: copies.get(e.id) } : navigator.onLine ? e : { ...e, url: null })),
    /** Whether this phone shows evidence `id` from its own copy. */
    hasCopy: (id) => copies.has(id),
    /** Evidence `id` deleted on the server: this phone's copy goes. */
    forget(id) {
      URL.revokeObjectURL(copies.get(id));
      copies.delete(id);
      return kept(forgetCopy(key, id));
    },
    /** How much waits: answers (items, the flags as one), captures. */
    waiting,
  };
}
