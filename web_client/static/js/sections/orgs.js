// 机构与用户: the org tree of the user's jurisdiction and the users of the selected org.
// Administrators (org.manage, user.manage) run the bank's set-up here: new orgs below their
// own (自动加入 plans follow), renames, users with their roles, password resets,
// deactivation, and each org's 异常处理人.
import { ApiError, api } from "../api.js";
import { clear, formatTime, h, show } from "../dom.js";
import { actions, field, modal, runForm, select } from "../forms.js";
import { ORG_KIND_LABELS, ROLE_LABELS, rolesText } from "../labels.js";

const LEVEL = { province: 0, branch: 1, sub_branch: 2 };
const HANDLER = "exception_handler";

function buildTree(orgs) {
  const byId = new Map(orgs.map((org) => [org.id, { ...org, children: [] }]));
  const roots = [];
  for (const node of byId.values()) {
    const parent = node.parent_id !== null ? byId.get(node.parent_id) : undefined;
    (parent ? parent.children : roots).push(node);
  }
  return { roots, byId };
}

function textInput(value, attrs = {}) {
  return h("input", { type: "text", value: value ?? "", autocomplete: "off", ...attrs });
}

/** Roles the caller may hand out: never more than an administrator holds (as the server). */
function grantable(me) {
  if (me.roles.includes("system_admin")) return Object.keys(ROLE_LABELS);
  if (me.roles.includes("org_admin")) return Object.keys(ROLE_LABELS).filter((r) => r !== "system_admin");
  return [];
}

function roleBoxes(me, checked) {
  const boxes = grantable(me)
    .filter((role) => role !== "enterprise_contact") // contacts join by invite, never log in
    .map((role) =>
      h(
        "label",
        { class: "check" },
        h("input", { type: "checkbox", value: role, checked: checked.includes(role) }),
        ROLE_LABELS[role],
      ),
    );
  const group = h("div", { class: "check-group", role: "group", "aria-label": "角色" }, boxes);
  group.value = () => [...group.querySelectorAll("input:checked")].map((box) => box.value);
  return group;
}

/** 新建下级机构 under `parent`. Resolves with the new org, or null when cancelled. */
function createOrg(parent) {
  return new Promise((resolve) => {
    const kinds = Object.keys(LEVEL).filter((kind) => kind !== "province" && LEVEL[kind] >= LEVEL[parent.kind]);
    const form = h(
      "form",
      { class: "form", novalidate: true },
      h("p", { class: "hint" }, `上级机构：${parent.name}。新机构按本行「自动加入」规则自动加入检查计划。`),
      field("name", "机构名称", textInput("", { maxlength: "100", placeholder: "例如：裕华支行" })),
      field("code", "机构编号", textInput("", { maxlength: "32", placeholder: "例如：SJZ-YH" }), "字母、数字、- 或 _，全行唯一"),
      field("kind", "机构层级", select(kinds.map((k) => [k, ORG_KIND_LABELS[k]]), kinds[kinds.length - 1])),
      ...actions("新建机构", () => dialog.close()),
    );
    const dialog = modal("新建下级机构", form);
    dialog.classList.remove("dialog-wide");
    let saved = null;
    dialog.addEventListener("close", () => resolve(saved));
    const collect = () => ({
      name: form.elements.name.value.trim(),
      code: form.elements.code.value.trim(),
      kind: form.elements.kind.value,
      parent_id: parent.id,
    });
    runForm(dialog, form, collect, async (body) => (saved = await api("/api/v1/orgs", { method: "POST", body })), () => {});
    dialog.showModal();
    form.elements.name.focus();
  });
}

function renameOrg(org) {
  return new Promise((resolve) => {
    const form = h("form", { class: "form", novalidate: true }, field("name", "机构名称", textInput(org.name, { maxlength: "100" })), ...actions("保存", () => dialog.close()));
    const dialog = modal(`修改机构名称：${org.name}`, form);
    dialog.classList.remove("dialog-wide");
    let saved = null;
    dialog.addEventListener("close", () => resolve(saved));
    const send = async (body) => (saved = await api(`/api/v1/orgs/${org.id}`, { method: "PATCH", body }));
    runForm(dialog, form, () => ({ name: form.elements.name.value.trim() }), send, () => {});
    dialog.showModal();
  });
}

/**
 * 新建用户 / 编辑用户. `user` is null for a new one; `presetRoles` pre-ticks roles (设置异常处理人).
 * An edit sends only what changed. Resolves with the saved user, or null when cancelled.
 */
function editUser({ me, user, org, orgs, presetRoles = [] }) {
  return new Promise((resolve) => {
    const self = user && user.id === me.id;
    const roles = roleBoxes(me, user ? user.roles : presetRoles);
    const orgPicker = select(orgs.map((o) => [String(o.id), `${o.name}（${ORG_KIND_LABELS[o.kind]}）`]), String(user ? user.org_id : org.id));
    const fields = [
      user ? null : field("username", "用户名", textInput("", { maxlength: "64", placeholder: "登录用，例如：zhang.san" }), "字母、数字、点、- 或 _"),
      field("display_name", "姓名", textInput(user?.display_name, { maxlength: "64" })),
      field("org_id", "所属机构", orgPicker, self ? "不能调整自己的所属机构" : null),
      user ? null : field("password", "初始密码", h("input", { type: "password", autocomplete: "new-password" }), "至少 10 位；请当面或电话告知本人，首次登录后修改"),
      field("roles", "角色", roles, self ? "不能修改自己的角色" : null),
    ];
    const form = h("form", { class: "form", novalidate: true }, fields, ...actions(user ? "保存修改" : "新建用户", () => dialog.close()));
    if (self) {
      orgPicker.disabled = true;
      for (const box of roles.querySelectorAll("input")) box.disabled = true;
    }
    const dialog = modal(user ? `编辑用户：${user.display_name}` : `新建用户（${org.name}）`, form);
    dialog.classList.remove("dialog-wide");
    let saved = null;
    dialog.addEventListener("close", () => resolve(saved));
    const collect = () => {
      const body = {
        display_name: form.elements.display_name.value.trim(),
        org_id: Number(orgPicker.value),
        roles: roles.value(),
      };
      if (!user) return { ...body, username: form.elements.username.value.trim(), password: form.elements.password.value };
      const changed = {};
      if (body.display_name !== user.display_name) changed.display_name = body.display_name;
      if (!self && body.org_id !== user.org_id) changed.org_id = body.org_id;
      if (!self && [...body.roles].sort().join() !== [...user.roles].sort().join()) changed.roles = body.roles;
      return changed;
    };
    const send = async (body) => {
      if (user && !Object.keys(body).length) return (saved = user);
      saved = await api(user ? `/api/v1/users/${user.id}` : "/api/v1/users", { method: user ? "PATCH" : "POST", body });
      return saved;
    };
    runForm(dialog, form, collect, send, () => {});
    dialog.showModal();
  });
}

/** API 令牌: the user's live tokens (never their secret), each revocable at once. */
async function manageTokens(user) {
  const body = h("div", { "data-testid": "user-tokens" }, h("p", { class: "loading" }, "加载中…"));
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const close = h("button", { type: "button", class: "btn" }, "关闭");
  const dialog = modal(`API 令牌：${user.display_name}`, body, error, h("div", { class: "dialog-actions" }, close));
  dialog.classList.remove("dialog-wide");
  close.addEventListener("click", () => dialog.close());
  dialog.showModal();
  async function load() {
    let tokens;
    try {
      tokens = await api(`/api/v1/users/${user.id}/tokens`);
    } catch (err) {
      show(error, err instanceof ApiError ? err.detail : "加载失败，请稍后再试");
      clear(body);
      return;
    }
    if (!tokens.length) {
      clear(body).append(h("p", { class: "empty" }, "该用户没有有效的 API 令牌"));
      return;
    }
    clear(body).append(
      h(
        "table",
        { class: "table" },
        h("thead", {}, h("tr", {}, ["名称", "创建时间", "最近使用", "到期时间", ""].map((t) => h("th", { scope: "col" }, t)))),
        h(
          "tbody",
          {},
          tokens.map((token) =>
            h(
              "tr",
              {},
              h("td", {}, token.name),
              h("td", { class: "nowrap" }, formatTime(token.created_at)),
              h("td", { class: "nowrap" }, token.last_used_at ? formatTime(token.last_used_at) : "从未使用"),
              h("td", { class: "nowrap" }, formatTime(token.expires_at)),
              h("td", {}, h("button", { type: "button", class: "btn btn-small", onclick: () => revoke(token) }, "吊销")),
            ),
          ),
        ),
      ),
    );
  }
  async function revoke(token) {
    show(error, "");
    try {
      await api(`/api/v1/users/${user.id}/tokens/${token.id}`, { method: "DELETE" });
    } catch (err) {
      show(error, err instanceof ApiError ? err.detail : "吊销失败，请稍后再试");
    }
    await load();
  }
  await load();
}

/** 重置密码: the user's sessions end; resolves true when done. */
function resetPassword(user) {
  return new Promise((resolve) => {
    const form = h(
      "form",
      { class: "form", novalidate: true },
      h("p", { class: "hint" }, `重置后 ${user.display_name} 的所有登录会话与 API 令牌立即失效，需用新密码重新登录。`),
      field("password", "新密码", h("input", { type: "password", autocomplete: "new-password" }), "至少 10 位"),
      ...actions("重置密码", () => dialog.close()),
    );
    const dialog = modal(`重置密码：${user.display_name}`, form);
    dialog.classList.remove("dialog-wide");
    let done = false;
    dialog.addEventListener("close", () => resolve(done));
    const send = async (body) => {
      await api(`/api/v1/users/${user.id}`, { method: "PATCH", body });
      done = true;
    };
    runForm(dialog, form, () => ({ password: form.elements.password.value }), send, () => {});
    dialog.showModal();
  });
}

export async function renderOrgs(container, { me, onError }) {
  const canManageOrgs = me.permissions.includes("org.manage");
  const canManageUsers = me.permissions.includes("user.manage");
  const tree = h("ul", { class: "org-tree", role: "tree", "aria-label": "机构树" });
  const orgHead = h("div", { class: "org-head" });
  const usersTitle = h("h3", {}, "用户");
  const usersBody = h("div", { class: "users-body" });
  const notice = h("p", { class: "form-success", role: "status", hidden: true });
  const message = h("p", { class: "form-error", role: "alert", hidden: true });
  container.append(
    h(
      "section",
      { class: "card" },
      h("div", { class: "card-head" }, h("h2", {}, "机构与用户"), h("span", { class: "muted" }, canManageUsers ? "辖区内的机构、用户、角色与异常处理人" : "辖区内的机构及其用户")),
      notice,
      message,
      h(
        "div",
        { class: "split" },
        h("div", { class: "split-side" }, h("h3", {}, "机构"), tree),
        h("div", { class: "split-main" }, orgHead, usersTitle, usersBody),
      ),
    ),
  );

  let orgs;
  let byId;
  const buttons = new Map();
  let selected = null;

  async function loadTree(selectId) {
    try {
      orgs = await api("/api/v1/orgs");
    } catch (err) {
      onError(err, tree);
      return;
    }
    const built = buildTree(orgs);
    byId = built.byId;
    buttons.clear();
    clear(tree).append(...built.roots.map(renderNode));
    const start = byId.get(selectId) || byId.get(me.org.id) || built.roots[0];
    if (start) await select_(start);
  }

  function said(text) {
    show(message, "");
    show(notice, text);
  }

  function failed(err, fallback) {
    show(notice, "");
    show(message, err instanceof ApiError ? err.detail : fallback);
  }

  function renderOrgHead(org, handlers) {
    const tools = [];
    if (canManageOrgs) {
      tools.push(
        h("button", { type: "button", class: "btn", onclick: async () => {
          const created = await createOrg(org);
          if (!created) return;
          let joined = [];
          try {
            const plans = await api(`/api/v1/plans?org_id=${created.id}`);
            joined = (Array.isArray(plans) ? plans : plans.items).filter((p) => p.org_id === created.id && p.auto_created);
          } catch {
            // The org exists; the plan list is only for the notice.
          }
          said(joined.length ? `已新建机构「${created.name}」，并自动加入检查计划：${joined.map((p) => p.name).join("、")}` : `已新建机构「${created.name}」`);
          await loadTree(created.id);
        } }, "新建下级机构"),
        h("button", { type: "button", class: "btn", onclick: async () => {
          const renamed = await renameOrg(org);
          if (!renamed) return;
          said(`机构已改名为「${renamed.name}」`);
          await loadTree(org.id);
        } }, "修改名称"),
      );
    }
    if (canManageUsers) {
      tools.push(h("button", { type: "button", class: "btn btn-primary", onclick: () => addUser(org, []) }, "新建用户"));
    }
    const handlerLine = handlers.length
      ? h("span", {}, handlers.map((u) => u.display_name).join("、"))
      : h("span", { class: "badge badge-unset" }, "未设置");
    clear(orgHead).append(
      h("div", { class: "org-title" }, h("strong", {}, org.name), h("span", { class: `badge badge-kind kind-${org.kind}` }, ORG_KIND_LABELS[org.kind]), h("span", { class: "mono muted" }, org.code)),
      h(
        "p",
        { class: "org-handlers", "data-testid": "org-handlers" },
        "异常处理人：",
        handlerLine,
        handlers.length ? null : h("span", { class: "muted" }, "（本机构的异常将交由上级机构的处理人）"),
        canManageUsers ? h("button", { type: "button", class: "btn btn-small", onclick: () => appointHandler(org) }, "设置异常处理人") : null,
      ),
      // Element.append would write a null as the text "null".
      tools.length ? h("div", { class: "org-tools" }, tools) : "",
    );
  }

  async function addUser(org, presetRoles) {
    const created = await editUser({ me, user: null, org, orgs, presetRoles });
    if (!created) return;
    said(`已新建用户 ${created.display_name}（${created.username}）`);
    await select_(byId.get(created.org_id) || org);
  }

  /** Give the 异常处理人 role to a user of this org, or create one with it. */
  async function appointHandler(org) {
    let users;
    try {
      users = (await api(`/api/v1/users?org_id=${org.id}`)).filter((u) => u.org_id === org.id && u.is_active && !u.roles.includes(HANDLER));
    } catch (err) {
      failed(err, "加载失败，请稍后再试");
      return;
    }
    const picker = select([["", "新建一个用户…"], ...users.map((u) => [String(u.id), `${u.display_name}（${u.username}）`])], "");
    const form = h(
      "form",
      { class: "form", novalidate: true },
      h("p", { class: "hint" }, `${org.name}及下辖机构的新异常将推送给异常处理人；已在等待处理人的异常会立即转给他们。`),
      field("user", "用户", picker),
      ...actions("设为异常处理人", () => dialog.close()),
    );
    const dialog = modal(`设置异常处理人：${org.name}`, form);
    dialog.classList.remove("dialog-wide");
    let result = null;
    dialog.addEventListener("close", async () => {
      if (result === "new") await addUser(org, [HANDLER]);
      else if (result) {
        said(`${result.display_name} 已设为${org.name}的异常处理人`);
        await select_(org);
      }
    });
    runForm(
      dialog,
      form,
      () => picker.value,
      async (id) => {
        if (!id) return (result = "new");
        const user = users.find((u) => String(u.id) === id);
        result = await api(`/api/v1/users/${id}`, { method: "PATCH", body: { roles: [...user.roles, HANDLER] } });
        return result;
      },
      () => {},
    );
    dialog.showModal();
  }

  async function toggleActive(user) {
    const body = { is_active: !user.is_active };
    try {
      await api(`/api/v1/users/${user.id}`, { method: "PATCH", body });
      said(user.is_active ? `已停用 ${user.display_name}，其登录会话已结束` : `已启用 ${user.display_name}`);
    } catch (err) {
      failed(err, "操作失败，请稍后再试");
    }
    await select_(selected);
  }

  function userActions(user) {
    if (!canManageUsers) return null;
    const self = user.id === me.id;
    return h(
      "td",
      { class: "row-actions" },
      h("button", { type: "button", class: "btn btn-small", onclick: async () => {
        const saved = await editUser({ me, user, org: selected, orgs });
        if (saved && saved !== user) {
          said(`已保存 ${saved.display_name}`);
          await select_(selected);
        }
      } }, "编辑"),
      h("button", { type: "button", class: "btn btn-small", onclick: async () => {
        if (await resetPassword(user)) said(`已重置 ${user.display_name} 的密码`);
      } }, "重置密码"),
      h("button", { type: "button", class: "btn btn-small", onclick: () => manageTokens(user) }, "API 令牌"),
      self ? null : h("button", { type: "button", class: "btn btn-small", onclick: () => toggleActive(user) }, user.is_active ? "停用" : "启用"),
    );
  }

  async function select_(org) {
    selected = org;
    for (const [id, button] of buttons) button.setAttribute("aria-selected", String(id === org.id));
    usersTitle.textContent = `${org.name} 及下辖机构的用户`;
    clear(usersBody).append(h("p", { class: "loading" }, "加载中…"));
    let users;
    try {
      users = await api(`/api/v1/users?org_id=${encodeURIComponent(org.id)}`);
    } catch (err) {
      clear(usersBody);
      onError(err, usersBody);
      return;
    }
    renderOrgHead(org, users.filter((u) => u.org_id === org.id && u.is_active && u.roles.includes(HANDLER)));
    clear(usersBody);
    if (users.length === 0) {
      usersBody.append(h("p", { class: "empty" }, "该机构暂无用户"));
      return;
    }
    const heads = ["用户名", "姓名", "所属机构", "角色", "状态"];
    if (canManageUsers) heads.push("操作");
    usersBody.append(
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "table", "data-testid": "users-table" },
          h("thead", {}, h("tr", {}, heads.map((t) => h("th", { scope: "col" }, t)))),
          h(
            "tbody",
            {},
            users.map((user) =>
              h(
                "tr",
                { "data-username": user.username },
                h("td", { class: "mono" }, user.username),
                h("td", {}, user.display_name),
                h("td", {}, byId.get(user.org_id)?.name ?? `#${user.org_id}`),
                h("td", {}, rolesText(user.roles)),
                h("td", {}, h("span", { class: user.is_active ? "badge badge-ok" : "badge badge-off" }, user.is_active ? "启用" : "停用")),
                userActions(user),
              ),
            ),
          ),
        ),
      ),
    );
  }

  function renderNode(node) {
    const button = h(
      "button",
      { type: "button", class: "org-node", role: "treeitem", "aria-selected": "false", onclick: () => select_(node) },
      h("span", { class: "org-name" }, node.name),
      h("span", { class: `badge badge-kind kind-${node.kind}` }, ORG_KIND_LABELS[node.kind] || node.kind),
      h("span", { class: "org-code mono" }, node.code),
    );
    buttons.set(node.id, button);
    const item = h("li", {}, button);
    if (node.children.length) item.append(h("ul", { role: "group" }, node.children.map(renderNode)));
    return item;
  }

  await loadTree(me.org.id);
}
