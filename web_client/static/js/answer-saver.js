// Autosave of an inspection form, answer by answer (现场检查, 企业自检, 远程巡检): an item is
// sent on its own shortly after it changes, and the server merges it into what it has
// (PATCH answers: {key: value | null}). A refused answer is marked beside its field with the
// server's message while every other one is saved; each item shows 保存中… / 已保存 / 未保存.
// One request at a time, so the answers of two quick edits never overtake each other.
import { ApiError } from "./api.js";
import { BadInput, itemKeyOf } from "./inspection-form.js";

const RETRY_MS = 5000;

/**
 * `form` is what renderInspectionForm returned; `send(body)` PATCHes the body and resolves
 * with the inspection; `extras` are further fields saved whole when touched (e.g. flags,
 * rectification_opinion: name → read()); `onStatus(text)` gets the page's summary,
 * `onSaved(inspection)` the inspection as stored, `onFail(err)` what is not an item's fault.
 * `keep` (the on-site page) keeps each change on the phone until the server answered for
 * it: `put(changes)` at once when given, `answered(body)` once saved or refused for good;
 * while the server cannot be reached, its items say 待上传.
 */
export function answerSaver({ form, send, extras = {}, delay = 600, keep = null, onStatus = () => {}, onSaved = () => {}, onFail = () => {} }) {
  const timers = new Map(); // key → its debounce timer
  const ready = new Set(); // keys (and extras) due to be sent
  const refused = new Map(); // key → its refusals
  let inFlight = null;
  let wake = null;
  let failed = false;

  function summary() {
    if (failed && keep) {
      // Unreachable: what waits for the next try is on the phone, and says so.
      for (const key of ready) if (!(key in extras) && !timers.has(key)) form.setItemState(key, "pending");
    }
    if (failed && keep && ready.size) onStatus(`${ready.size} 项已保存在本机，联网后自动上传`);
    else if (inFlight || timers.size || ready.size) onStatus("保存中…");
    else if (refused.size) onStatus(`${refused.size} 项未保存`);
    else if (failed) onStatus("保存失败，稍后自动重试");
    else onStatus("已保存");
  }

  /** `key` (an item, or the name of an extra) changed: send it after `delay`. */
  function touch(key) {
    if (keep) {
      const value = key in extras ? extras[key]() : form.answerOf(key);
      if (!(value instanceof BadInput)) keep.put(key in extras ? { [key]: value } : { answers: { [key]: value } });
    }
    clearTimeout(timers.get(key));
    if (!(key in extras)) form.setItemState(key, "saving");
    timers.set(
      key,
      setTimeout(() => {
        timers.delete(key);
        ready.add(key);
        pump();
      }, delay),
    );
    summary();
  }

  function bodyOf(keys) {
    const body = {};
    for (const key of keys) {
      if (key in extras) {
        body[key] = extras[key]();
        continue;
      }
      const value = form.answerOf(key);
      if (value instanceof BadInput) {
        // Nothing the server could take: say so here, and keep what it has.
        const field = value.subKey ? `answers.${key}.${value.subKey}` : `answers.${key}`;
        refused.set(key, [{ field, message: value.message }]);
        form.setItemState(key, "error", refused.get(key));
        continue;
      }
      (body.answers ||= {})[key] = value;
    }
    return body;
  }

  function settle(keys, errors) {
    for (const key of keys) {
      if (key in extras || timers.has(key) || ready.has(key)) continue; // changed again meanwhile
      const mine = errors.filter((e) => itemKeyOf(e) === key);
      if (mine.length) refused.set(key, mine);
      else refused.delete(key);
      form.setItemState(key, mine.length ? "error" : "saved", mine);
    }
  }

  async function sendOnce(keys) {
    const body = bodyOf(keys);
    if (!Object.keys(body).length) return;
    try {
      onSaved(await send(body));
      failed = false;
      settle(keys, []);
      keep?.answered(body);
    } catch (err) {
      const problem = err instanceof ApiError ? err.problem || {} : {};
      // Answered for good (saved, or refused for a reason no retry changes): the phone's copy
      // goes. Logged out, the copy stays for after the login.
      if (err instanceof ApiError && err.status >= 400 && err.status < 500 && ![401, 408, 429].includes(err.status)) keep?.answered(body);
      if (problem.code === "answers_refused") {
        failed = false;
        onSaved(problem.inspection);
        settle(keys, problem.errors || []);
        const other = (problem.errors || []).filter((e) => !e.item_key);
        if (other.length) onFail(new Error(other.map((e) => e.message).join("；")));
        return;
      }
      if (err instanceof ApiError && err.status === 422 && problem.errors) {
        settle(keys, problem.errors); // refused whole (e.g. a flag's note too long)
        onFail(err);
        return;
      }
      if (err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 429) {
        // Refused for a reason no retry changes (submitted meanwhile, link revoked, logged out).
        settle(keys, keys.map((key) => ({ item_key: key, message: err.message })));
        onFail(err);
        return;
      }
      // No answer, or the server's trouble (offline, 5xx, 429): keep them and try again.
      failed = true;
      for (const key of keys) ready.add(key);
      clearTimeout(wake);
      wake = setTimeout(pump, RETRY_MS);
      if (!keep) onFail(err); // kept: its items say 待上传, nothing is lost
    }
  }

  /** Send what is due, unless a request is out (its end sends what came due meanwhile). */
  function pump() {
    if (inFlight || !ready.size) {
      summary();
      return inFlight || Promise.resolve();
    }
    const keys = [...ready];
    ready.clear();
    inFlight = sendOnce(keys).finally(() => {
      inFlight = null;
      if (ready.size && !failed) pump();
      else summary();
    });
    summary();
    return inFlight;
  }

  /** Send every change now; true when all is saved (nothing refused, nothing failed). */
  async function flush() {
    for (const [key, timer] of timers) {
      clearTimeout(timer);
      ready.add(key);
    }
    timers.clear();
    failed = false;
    while (inFlight || ready.size) {
      await (inFlight || pump());
      if (failed) break;
    }
    summary();
    return !failed && !refused.size;
  }

  // A phone leaving the page (another app, the lock screen) may never come back to it: send
  // what is waiting for its debounce now.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden" && timers.size) flush();
  });

  return { touch, flush, refusedKeys: () => [...refused.keys()] };
}
