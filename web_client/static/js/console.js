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
import { renderPlaceholder } from "./sections/placeholder.js";
import { renderPlans } from "./sections/plans.js";
import { renderRectifications } from "./sections/rectifications.js";
import { renderRemote } from "./sections/remote.js";
import { renderTasks } from "./sections/tasks.js";
import { renderUnlocks } from "./sections/unlocks.js";

const SECTIONS = [
  { id: "checkpoints", title: "检查点", render: renderCheckpoints },
  { id: "checklists", title: "检查模板", render: renderChecklists },
  { id: "plans", title: "检查计划", render: renderPlans },
  { id: "tasks", title: "检查任务", render: renderTasks },
  { id: "remote", title: "远程巡检", render: renderRemote },
  { id: "inspections", title: "检查记录", render: renderInspections },
  { id: "unlocks", title: "明白纸解锁", render: renderUnlocks },
  { id: "anomalies", title: "异常处理", render: renderAnomalies, badge: "anomalies" },
  { id: "rectifications", title: "整改意见", render: renderRectifications, badge: "rectifications" },
  { id: "supervision", title: "实时监管", summary: "实时查看辖区内进行中的巡检和异常提醒。" },
  { id: "orgs", title: "机构与用户", render: renderOrgs },
  { id: "audit", title: "审计日志", render: renderAudit },
];
const DEFAULT_SECTION = "orgs";

const content = document.getElementById("content");
const navList = document.getElementById("nav-list");

function showError(err, where) {
  if (err instanceof ApiError && err.status === 401) {
    goToLogin("expired");
    return;
  }
  const detail = err instanceof ApiError ? err.detail : "加载失败，请稍后再试";
  where.append(h("p", { class: "alert", role: "alert" }, detail));
}

/** The section of the hash "#/id" or "#/id/rest", and the rest (e.g. a record id). */
function currentSection() {
  const [id, ...rest] = window.location.hash.replace(/^#\/?/, "").split("/");
  const section = SECTIONS.find((s) => s.id === id);
  if (!section) return { section: SECTIONS.find((s) => s.id === DEFAULT_SECTION), path: "" };
  return { section, path: rest.join("/") };
}

let rendering = 0;
async function route(me) {
  const { section, path } = currentSection();
  for (const link of navList.querySelectorAll("a")) {
    if (link.dataset.section === section.id) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${section.title} · 贷后检查远程巡检平台`;
  const token = ++rendering;
  const view = h("div", { class: "view", "data-section": section.id });
  clear(content).append(view);
  if (section.render) {
    try {
      await section.render(view, { me, onError: showError, path });
    } catch (err) {
      if (token === rendering) showError(err, view);
    }
  } else {
    renderPlaceholder(view, section);
  }
}

function renderNav() {
  for (const section of SECTIONS) {
    navList.append(
      h(
        "li",
        {},
        h(
          "a",
          { href: `#/${section.id}`, "data-section": section.id },
          h("span", {}, section.title),
          section.badge ? h("span", { class: "nav-badge", "data-badge": section.badge, hidden: true }) : null,
          section.render ? null : h("span", { class: "nav-soon" }, "即将上线"),
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
  renderNav();
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
