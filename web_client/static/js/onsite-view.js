// What the on-site page (onsite-page.js) shows in its fixed places: the checkpoint, the fix
// and its verdict, a refusal's details, and the end (提交 done). No state of its own.
import { ApiError } from "./api.js";
import { h, show } from "./dom.js";
import { CONCLUSION_LABELS, EVIDENCE_LABELS } from "./inspection-form.js";
import { mapLinks } from "./navigation.js";

const $ = (id) => document.getElementById(id);

/** The fix's accuracy, and the distance to the checkpoint when known. */
export function showFix(fix, distance, radius) {
  if (fix) $("fix-accuracy").textContent = `±${Math.round(fix.accuracy)} 米`;
  if (distance !== undefined && distance !== null) {
    $("fix-distance").textContent = `${Math.round(distance)} 米（允许范围 ${radius} 米）`;
  }
}

/** A line under the fix: `tone` info (in progress), ok (green) or error (a refusal). */
export function status(text, tone = "info") {
  const line = $("locate-status");
  line.className = { info: "notice", ok: "form-success", error: "alert" }[tone];
  line.dataset.tone = tone;
  show(line, text);
}

/** Where a check-in was refused for distance: the numbers in the facts and the line. */
export function showRefusal(err) {
  const problem = (err instanceof ApiError && err.problem) || {};
  if (problem.distance_m === undefined || problem.distance_m === null) {
    status(err instanceof Error ? err.message : "操作失败，请稍后再试", "error");
    return;
  }
  showFix(null, problem.distance_m, problem.radius_m);
  status(`距检查点 ${Math.round(problem.distance_m)} 米，允许范围 ${problem.radius_m} 米：请到检查点现场后重新定位`, "error");
}

/** The problem's detail, then what it names: fields, missing evidence. */
export function problemNodes(err) {
  const problem = (err instanceof ApiError && err.problem) || {};
  const nodes = [h("p", {}, err.message)];
  const lines = [];
  for (const e of problem.errors || []) lines.push(e.message);
  for (const m of problem.missing || []) lines.push(`「${m.item_label}」还缺${EVIDENCE_LABELS[m.kind]} ${m.missing}`);
  if (lines.length) nodes.push(h("ul", {}, lines.map((line) => h("li", {}, line))));
  return nodes;
}

/** The checkpoint's name, enterprise, address and 导航 (once its position is bound). */
export function showSite(detail) {
  const site = detail.checkpoint;
  $("site-title").textContent = site.name;
  $("site-meta").textContent = `${site.customer_name} · ${site.address || site.code}`;
  if (site.navigation === undefined) return; // an inspection's summary of its checkpoint
  const links = mapLinks(site.navigation, { small: true });
  $("site-nav").replaceChildren(...(links ? [links] : []));
  $("site-nav").hidden = !links;
}

/** The end: `{title, summary}` as given, else the submitted inspection's number, conclusion,
 * evidence and findings; 返回任务 / 继续扫码 under it unless `actions` is false (a contact). */
export function showDone(done, { actions = true } = {}) {
  $("form-step").hidden = true;
  $("locate-step").hidden = true;
  $("done-step").hidden = false;
  $("done-actions").hidden = !actions;
  if (done.title) {
    $("done-title").textContent = done.title;
    $("done-summary").textContent = done.summary;
    return;
  }
  const conclusion = CONCLUSION_LABELS[done.conclusion] || "—";
  show($("done-number"), `检查记录编号：${done.id}`);
  $("done-summary").textContent = `检查结论：${conclusion}；取证 ${done.evidence.length} 项；发现 ${done.findings.length} 项异常。`;
  $("done-findings").replaceChildren(...done.findings.map((f) => h("li", {}, `${f.item_label}：${f.indicator}${f.note ? `（${f.note}）` : ""}`)));
}
