// 我的任务 on the phone (/field): the offline package (离线包) of the inspector's open tasks,
// fetched at every online visit and kept in the phone's store, so that the list, the
// checkpoints' names and addresses, the map links and each task's form are there without
// network. 开始检查 opens the on-site page expecting the task's checkpoint.
import { ApiError, api } from "./api.js";
import { h, show } from "./dom.js";
import { mapLinks, onSiteLink } from "./navigation.js";
import { NO_WORKER, installShell, isOffline } from "./offline-shell.js";
import { storePackage, storedPackage } from "./offline-store.js";
import { storageStatus } from "./storage-quota.js";

const PACKAGE = "/api/v1/offline/package";
const STATE_LABELS = { overdue: "已逾期", pending: "待检查", in_progress: "进行中" };
const OFFLINE_PACKAGE = "当前无网络：以下是手机上保存的离线包，可照常开始检查；联网后将自动更新。";
const NO_PACKAGE = "当前无网络，且本机还没有离线包：请在有网络时打开本页面一次。";

const $ = (id) => document.getElementById(id);
const DAY_MS = 86_400_000;

function toLogin() {
  window.location.replace(`/login?next=${encodeURIComponent("/field")}`);
}

/** 「离线包更新于 HH:MM」, with the day when it is not today. */
function updatedText(iso) {
  const at = new Date(iso);
  const time = at.toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit", hour12: false });
  const sameDay = at.toDateString() === new Date().toDateString();
  return `离线包更新于 ${sameDay ? "" : `${at.getMonth() + 1}月${at.getDate()}日 `}${time}`;
}

/** Days past the due date, counted on the phone's calendar (the package may be old). */
function daysLate(dueDate) {
  const [y, m, d] = dueDate.split("-").map(Number);
  const now = new Date();
  return Math.round((Date.UTC(now.getFullYear(), now.getMonth(), now.getDate()) - Date.UTC(y, m - 1, d)) / DAY_MS);
}

function stateText(task) {
  if (task.state !== "overdue") return STATE_LABELS[task.state] || task.state;
  const late = daysLate(task.due_date);
  return late > 0 ? `已逾期 ${late} 天` : STATE_LABELS.overdue;
}

function taskNode(task, templateOf) {
  const site = task.checkpoint;
  const nav = site.navigation;
  return h(
    "li",
    { class: `card field-task${task.state === "overdue" ? " is-overdue" : ""}`, "data-testid": "task", "data-code": site.code, "data-state": task.state },
    h("div", { class: "field-task-head" }, h("h2", {}, site.name), h("span", { class: `badge${task.state === "overdue" ? " badge-overdue" : ""}` }, stateText(task))),
    h("p", {}, `${site.customer_name} · ${site.address || "地址未登记"}`),
    h("p", { class: "muted" }, `${task.plan_name} · 检查周期 ${task.period_start} 至 ${task.due_date}`),
    h("p", { class: "muted" }, `标签编号 ${site.code} · 误差范围 ${site.radius_m} 米 · ${site.org_name}`),
    task.checklist_problem ? h("p", { class: "field-error" }, `检查表无法离线使用：${task.checklist_problem}`) : null,
    h(
      "div",
      { class: "field-actions" },
      h("a", { class: "btn btn-primary", href: onSiteLink(site.id, templateOf.get(task.checklist_version_id)), "data-action": "start" }, "开始检查"),
      mapLinks(nav),
    ),
    nav ? null : h("p", { class: "muted" }, "尚未定位（首次现场扫码后绑定位置），暂无法导航"),
  );
}

function render(pkg) {
  $("package-time").textContent = updatedText(pkg.generated_at);
  if (pkg.who) $("who").textContent = pkg.who;
  const templateOf = new Map(pkg.checklists.map((c) => [c.id, c.template_id]));
  const rows = pkg.tasks.map((task) => taskNode(task, templateOf));
  if (!rows.length) rows.push(h("li", { class: "card muted" }, "暂无待检查的任务"));
  if (pkg.truncated) rows.push(h("li", { class: "notice" }, `离线包只包含最紧急的 ${pkg.tasks.length} 项任务（共 ${pkg.total} 项），其余请联网后在电脑端查看。`));
  $("tasks").replaceChildren(...rows);
}

async function showStorage() {
  const status = await storageStatus().catch(() => null);
  const node = $("storage");
  if (!status) return;
  show(node, status.text);
  node.classList.toggle("is-warning", status.warning);
}

/** Fetch the package and keep it; the stored one when there is no network. */
async function refresh({ manual = false } = {}) {
  const button = $("refresh");
  button.disabled = true;
  button.textContent = "正在更新…";
  show($("page-error"), "");
  try {
    const [pkg, me] = await Promise.all([api(PACKAGE), api("/api/v1/auth/me")]);
    const kept = { ...pkg, who: me.display_name || me.username };
    await storePackage(kept);
    show($("offline-notice"), "");
    $("field-more").hidden = false;
    render(kept);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return toLogin();
    if (!isOffline(err) && !(err instanceof ApiError && err.status === 0)) {
      show($("page-error"), err.message);
      return;
    }
    $("field-more").hidden = true; // the console needs the network
    const stored = await storedPackage();
    if (stored) {
      render(stored);
      show($("offline-notice"), OFFLINE_PACKAGE);
    } else show($("offline-notice"), NO_PACKAGE);
    if (manual) show($("page-error"), "当前无网络，无法更新离线包，请联网后再试。");
  } finally {
    button.disabled = false;
    button.textContent = "更新离线包";
    document.body.classList.remove("is-loading");
    showStorage();
  }
}

function start() {
  $("refresh").addEventListener("click", () => refresh({ manual: true }));
  window.addEventListener("online", () => refresh());
  installShell().then((problem) => {
    if (problem === NO_WORKER) show($("page-error"), problem);
  });
  refresh();
}

start();
