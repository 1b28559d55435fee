// The console shell: who is logged in, the product's sections, the live connection.
import { ApiError, api, goToLogin } from "./api.js";
import { clear, h } from "./dom.js";
import { rolesText } from "./labels.js";
import { setupPasswordDialog } from "./password.js";
import { setupInbox } from "./inbox.js";
import { connectConsole } from "./realtime.js";
import { renderAnomalies } from "./sections/anomalies.js";
import { renderAudit } from "./sections/audit.js";
import { renderCheckpoints } from "./sections/checkpoints.js";
import { renderChecklists } from "./sections/checklists.js";
import { renderInspections } from "./sections/inspections.js";
import { renderOrgs } from "./sections/orgs.js";
import { renderPlans } from "./sections/plans.js";
import { renderRectifications } from "./sections/rectifications.js";
import { renderRemote } from "./sections/remote.js";
import { renderSupervision } from "./sections/supervision.js";
import { renderTasks } from "./sections/tasks.js";
import { renderUnlocks } from "./sections/unlocks.js";

// Each section needs one permission (GET /auth/me lists the caller's): the navigation shows
// only those the user may open, and a link to another answers with a refusal, not an empty
// table.
const SECTIONS = [
  { id: "checkpoints", title: "检查点", render: renderCheckpoints, permission: "checkpoint.read" },
  { id: "checklists", title: "检查模板", render: renderChecklists, permission: "checklist.read" },
  { id: "plans", title: "检查计划", render: renderPlans, permission: "plan.read" },
  { id: "tasks", title: "检查任务", render: renderTasks, permission: "task.read" },
  { id: "remote", title: "远程巡检", render: renderRemote, permission: "remote.read" },
  { id: "inspections", title: "检查记录", render: renderInspections, permission: "inspection.read" },
  { id: "unlocks", title: "明白纸解锁", render: renderUnlocks, permission: "sheet.unlock" },
  { id: "anomalies", title: "异常处理", render: renderAnomalies, permission: "anomaly.read", badge: "anomalies" },
  { id: "rectifications", title: "整改意见", render: renderRectifications, permission: "rectification.read", badge: "rectifications" },
  { id: "supervision", title: "实时监管", render: renderSupervision, permission: "supervision.read" },
  { id: "orgs", title: "机构与用户", render: renderOrgs, permission: "org.read" },
  { id: "audit", title: "审计日志", render: renderAudit, permission: "audit.read" },
];

// Where each role starts its day, first match wins for users with several roles: managers
// on 实时监管, reviewers on what waits for review, handlers on their inbox, inspectors on
// 我的任务 (overdue first). A target the user may not open is passed over.
// On a phone an inspector starts on the phone page of 我的任务 (/field: it works offline, and
// its cards fit the screen); the console stays one link away, and a link into the console
// (with its own hash) is never redirected.
const LANDINGS = [
  { role: "system_admin", hash: "#/supervision" },
  { role: "org_admin", hash: "#/supervision" },
  { role: "reviewer", hash: "#/inspections?state=submitted" },
  { role: "exception_handler", hash: "#/anomalies" },
  { role: "inspector", hash: "#/tasks", phone: "/field" },
];
// A phone: a touch screen as narrow as one (a tablet or a narrow desktop window is not).
const PHONE = "(pointer: coarse) and (max-width: 700px)";

const content = document.getElementById("content");
const navList = document.getElementById("nav-list");

function showError(err, where) {
  if (err instanceof ApiError && err.status === 401) {
    goToLogin("expired");
    return;
  }
  let detail = err instanceof ApiError ? err.detail : "加载失败，请稍后再试";
  if (err instanceof ApiError && err.status === 403) detail = `没有权限：${detail}`;
  where.append(h("p", { class: "alert", role: "alert" }, detail));
}

function permitted(me, section) {
  return !section.permission || me.permissions.includes(section.permission);
}

/** The section, the rest of the path and the query of a hash "#/id/rest?key=value". */
function parseHash(hash) {
  const [route, search = ""] = hash.replace(/^#\/?/, "").split("?");
  const [id, ...rest] = route.split("/");
  return { id, path: rest.join("/"), query: new URLSearchParams(search) };
}

/** Where a user lands: by role, else the first section they may open. */
function landingOf(me) {
  for (const landing of LANDINGS) {
    const section = SECTIONS.find((s) => s.id === parseHash(landing.hash).id);
    if (me.roles.includes(landing.role) && permitted(me, section)) return landing;
  }
  const first = SECTIONS.find((s) => permitted(me, s));
  return { hash: first ? `#/${first.id}` : "" };
}

function landingHash(me) {
  return landingOf(me).hash;
}

function renderRefusal(view, title, text, me) {
  const home = landingHash(me);
  view.append(
    h(
      "section",
      { class: "card placeholder", "data-testid": "route-refused" },
      h("h2", {}, title),
      h("p", { role: "alert" }, text),
      home ? h("p", {}, h("a", { class: "link", href: home }, "返回我的首页")) : null,
    ),
  );
}

let rendering = 0;
async function route(me) {
  if (!window.location.hash.replace(/^#\/?/, "")) {
    const landing = landingOf(me);
    // No history entry either way: Back leaves the console.
    if (landing.phone && window.matchMedia(PHONE).matches) {
      window.location.replace(landing.phone);
      return;
    }
    if (landing.hash) {
      window.location.replace(landing.hash);
      return;
    }
  }
  const { id, path, query } = parseHash(window.location.hash);
  const section = SECTIONS.find((s) => s.id === id);
  for (const link of navList.querySelectorAll("a")) {
    if (section && link.dataset.section === section.id) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const token = ++rendering;
  const view = h("div", { class: "view", "data-section": section ? section.id : "" });
  clear(content).append(view);
  if (!section) {
    document.title = "页面不存在 · 贷后检查远程巡检平台";
    renderRefusal(view, "页面不存在", "您打开的地址不存在，可能链接有误或功能已调整。", me);
    return;
  }
  document.title = `${section.title} · 贷后检查远程巡检平台`;
  if (!permitted(me, section)) {
    renderRefusal(view, section.title, `您的角色没有权限使用「${section.title}」。如需使用，请联系机构管理员。`, me);
    return;
  }
  try {
    await section.render(view, { me, onError: showError, path, query });
  } catch (err) {
    if (token === rendering) showError(err, view);
  }
}

function renderNav(me) {
  for (const section of SECTIONS.filter((s) => permitted(me, s))) {
    navList.append(
      h(
        "li",
        {},
        h(
          "a",
          { href: `#/${section.id}`, "data-section": section.id },
          h("span", {}, section.title),
          section.badge ? h("span", { class: "nav-badge", "data-badge": section.badge, hidden: true }) : null,
        ),
      ),
    );
  }
}

function renderUser(me) {
  document.getElementById("user-name").textContent = me.display_name || me.username;
  document.getElementById("user-name").title = me.username;
  document.getElementById("user-org").textContent = me.org.name;
  document.getElementById("user-roles").textContent = rolesText(me.roles);
}

async function logout(button) {
  button.disabled = true;
  try {
    await api("/api/v1/auth/logout", { method: "POST" });
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) {
      button.disabled = false;
      window.alert(err instanceof ApiError ? err.detail : "退出失败，请稍后再试");
      return;
    }
  }
  goToLogin("logged_out");
}

async function start() {
  let me;
  try {
    me = await api("/api/v1/auth/me");
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      goToLogin();
      return;
    }
    clear(content);
    document.body.classList.remove("is-loading");
    showError(err, content);
    return;
  }
  renderUser(me);
  renderNav(me);
  document.body.classList.remove("is-loading");
  const logoutButton = document.getElementById("logout");
  logoutButton.addEventListener("click", () => logout(logoutButton));
  setupPasswordDialog(document.getElementById("open-password"));

  const live = document.getElementById("live-status");
  const liveText = document.getElementById("live-text");
  const socket = connectConsole((state, text) => {
    live.dataset.state = state;
    liveText.textContent = text;
  });
  setupInbox(socket); // unread badges and notices, live from the console's pushes

  window.addEventListener("hashchange", () => route(me));
  await route(me);
}

start();
