// 待上传 of an inspection begun online (现场检查, or a contact's 企业自检 by its link): what the
// server has not acknowledged yet is kept on the phone (offline-store.js), at once when it
// is given, so a network lost mid-session, a reload or a closed tab loses nothing. Answers
// wait as the latest value per item (answer-saver.js sends them by the usual PATCH); each
// capture waits as its Blob with its SHA-256 (taken at capture), time, fix and UUID, and
// goes by the usual tus upload and evidence/from-upload under that UUID, so a retry after
// a crash attaches it once. What the server acknowledged leaves the phone at once.
import { ApiError } from "./api.js";
import { sha256Hex, uploadEvidence } from "./capture.js";
import { EVIDENCE_LABELS, evidenceMedia } from "./inspection-form.js";
import { addCapture, answersAnswered, capturesOf, keepAnswers, keepOnline, removeCapture, updateCapture } from "./offline-store.js";
import { NetworkError } from "./tus-upload.js";
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
 * the server's row of a capture; `onChange()` whenever what waits (or the phone's keeping of
 * it) changed.
 */
export function onlineOutbox({ key, owner = null, base, form, locate, itemLabel, onAttached, onChange = () => {} }) {
  const answers = new Set(); // item keys (and "flags") waiting for the server
  const captures = new Map(); // capture UUID → {capture, row, sending}
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
    const row = uploadRow(`${EVIDENCE_LABELS[capture.kind]} · ${itemLabel(capture.item_key)}`, capture.size, { preview });
    row.note(notice);
    form().addUpload(capture.item_key, row.node);
    const entry = { capture, row, sending: null, notice, url };
    captures.set(capture.client_uuid, entry);
    return entry;
  }

  /** Up by tus and attached under its UUID; then off the phone (its Blob with it). */
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
          onCreated: (url) => kept(updateCapture(c.client_uuid, { upload_url: url })),
        };
        const added = await uploadEvidence(base, job);
        row.progress(c.size);
        captures.delete(c.client_uuid);
        await kept(removeCapture(c.client_uuid));
        row.done({ keep: Boolean(entry.notice) }); // a recording stopped at the limit says so
        URL.revokeObjectURL(entry.url);
        onAttached(added);
        onChange();
      } catch (err) {
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
      stored = await addCapture(key, taken);
    } catch {
      storeFailed();
      // Not on the phone: this page still holds it, under a UUID of its own.
      stored = { ...taken, client_uuid: crypto.randomUUID(), item_key: item.key, size: shot.blob.size, captured_at: shot.capturedAt.toISOString(), upload_url: null };
    }
    const entry = showRow(stored, shot.notice);
    onChange();
    await send(entry);
  }

  /** After a reload: the captures kept on the phone, shown 待上传 and sent. */
  async function resume() {
    for (const c of await capturesOf(key)) {
      if (captures.has(c.client_uuid)) continue;
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
    resume,
    sendAll,
    /** How much waits: answers (items, the flags as one), captures. */
    waiting,
  };
}
