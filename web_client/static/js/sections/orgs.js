// 机构与用户: the org tree of the user's jurisdiction, and the users of the selected org.
import { api } from "../api.js";
import { clear, h } from "../dom.js";
import { ORG_KIND_LABELS, rolesText } from "../labels.js";

function buildTree(orgs) {
  const byId = new Map(orgs.map((org) => [org.id, { ...org, children: [] }]));
  const roots = [];
  for (const node of byId.values()) {
    const parent = node.parent_id !== null ? byId.get(node.parent_id) : undefined;
    (parent ? parent.children : roots).push(node);
  }
  return { roots, byId };
}

export async function renderOrgs(container, { me, onError }) {
  const tree = h("ul", { class: "org-tree", role: "tree", "aria-label": "机构树" });
  const usersTitle = h("h3", {}, "用户");
  const usersBody = h("div", { class: "users-body" });
  container.append(
    h(
      "section",
      { class: "card" },
      h("div", { class: "card-head" }, h("h2", {}, "机构与用户"), h("span", { class: "muted" }, "辖区内的机构及其用户")),
      h(
        "div",
        { class: "split" },
        h("div", { class: "split-side" }, h("h3", {}, "机构"), tree),
        h("div", { class: "split-main" }, usersTitle, usersBody),
      ),
    ),
  );

  let orgs;
  try {
    orgs = await api("/api/v1/orgs");
  } catch (err) {
    onError(err, tree);
    return;
  }
  const { roots, byId } = buildTree(orgs);
  const buttons = new Map();

  async function select(org) {
    for (const [id, button] of buttons) {
      button.setAttribute("aria-selected", String(id === org.id));
    }
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
    clear(usersBody);
    if (users.length === 0) {
      usersBody.append(h("p", { class: "empty" }, "该机构暂无用户"));
      return;
    }
    usersBody.append(
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "table", "data-testid": "users-table" },
          h("thead", {}, h("tr", {}, ["用户名", "姓名", "所属机构", "角色", "状态"].map((t) => h("th", { scope: "col" }, t)))),
          h(
            "tbody",
            {},
            users.map((user) =>
              h(
                "tr",
                {},
                h("td", { class: "mono" }, user.username),
                h("td", {}, user.display_name),
                h("td", {}, byId.get(user.org_id)?.name ?? `#${user.org_id}`),
                h("td", {}, rolesText(user.roles)),
                h(
                  "td",
                  {},
                  h("span", { class: user.is_active ? "badge badge-ok" : "badge badge-off" }, user.is_active ? "启用" : "停用"),
                ),
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
      { type: "button", class: "org-node", role: "treeitem", "aria-selected": "false", onclick: () => select(node) },
      h("span", { class: "org-name" }, node.name),
      h("span", { class: `badge badge-kind kind-${node.kind}` }, ORG_KIND_LABELS[node.kind] || node.kind),
      h("span", { class: "org-code mono" }, node.code),
    );
    buttons.set(node.id, button);
    const item = h("li", {}, button);
    if (node.children.length) {
      item.append(h("ul", { role: "group" }, node.children.map(renderNode)));
    }
    return item;
  }

  tree.append(...roots.map(renderNode));
  const start = byId.get(me.org.id) || roots[0];
  if (start) await select(start);
}
