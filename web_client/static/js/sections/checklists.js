// 检查模板: the checklist templates the user can use (their org's, the province's, those of
// their jurisdiction). Administrators create them and open one (#/checklists/{id}) to edit
// its draft, preview and publish it.
import { ApiError, api } from "../api.js";
import { clear, formatTime, h, show } from "../dom.js";
import { renderTemplateEditor } from "./checklist-editor.js";

const TEMPLATES = "/api/v1/checklist-templates";

function ensureStylesheet() {
  if (document.querySelector('link[href="/static/css/checklists.css"]')) return;
  document.head.append(h("link", { rel: "stylesheet", href: "/static/css/checklists.css" }));
}

function createForm(onError) {
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const nameError = h("span", { class: "field-error", "data-error-for": "name", hidden: true });
  const name = h("input", { id: "cl-new-name", name: "name", type: "text", maxlength: "100", required: true, autocomplete: "off", placeholder: "例如：制造业企业贷后检查" });
  const description = h("input", { id: "cl-new-description", name: "description", type: "text", maxlength: "500", autocomplete: "off" });
  const form = h(
    "form",
    { class: "cl-create", novalidate: true, "aria-label": "新建检查模板" },
    h("div", { class: "field" }, h("label", { class: "field-label", for: "cl-new-name" }, "模板名称"), name, nameError),
    h("div", { class: "field" }, h("label", { class: "field-label", for: "cl-new-description" }, "说明（可选）"), description),
    h("button", { class: "btn btn-primary", type: "submit" }, "新建模板"),
    error,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = { name: name.value.trim(), description: description.value.trim() };
    show(nameError, values.name ? "" : "请填写模板名称");
    show(error, "");
    if (!values.name) return;
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    try {
      const created = await api(TEMPLATES, { method: "POST", body: values });
      window.location.hash = `#/checklists/${created.id}`;
    } catch (err) {
      submit.disabled = false;
      if (err instanceof ApiError && err.status === 401) {
        onError(err, error);
        return;
      }
      if (err instanceof ApiError) show(nameError, err.fieldErrors.name || "");
      show(error, err instanceof ApiError ? err.detail : "新建失败，请稍后再试");
    }
  });
  return form;
}

function versionText(summary, empty) {
  if (!summary) return h("span", { class: "muted" }, empty);
  const when = summary.published_at || summary.updated_at;
  return h("span", {}, `第 ${summary.number} 版`, h("span", { class: "muted" }, ` · ${formatTime(when)}`));
}

function table(templates) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "table cl-table", "data-testid": "checklist-templates" },
      h("thead", {}, h("tr", {}, ["模板名称", "所属机构", "当前版本", "草稿", "状态", "操作"].map((t) => h("th", { scope: "col" }, t)))),
      h(
        "tbody",
        {},
        templates.map((t) =>
          h(
            "tr",
            { "data-template": t.id },
            h("td", {}, h("a", { class: "link", href: `#/checklists/${t.id}` }, t.name), t.description ? h("div", { class: "muted cl-description" }, t.description) : null),
            h("td", {}, t.org_name),
            h("td", { class: "nowrap" }, versionText(t.published, "未发布")),
            h("td", { class: "nowrap" }, versionText(t.draft, "—")),
            h("td", {}, h("span", { class: t.status === "active" ? "badge badge-ok" : "badge badge-off" }, t.status === "active" ? "启用" : "已归档")),
            h("td", {}, h("a", { class: "btn", href: `#/checklists/${t.id}` }, t.can_manage && t.status === "active" ? "编辑" : "查看")),
          ),
        ),
      ),
    ),
  );
}

async function renderList(container, { me, onError }) {
  const canManage = me.permissions.includes("checklist.manage");
  const body = h("div", {});
  const archived = h("input", { type: "checkbox", id: "cl-archived" });
  container.append(
    h(
      "section",
      { class: "card" },
      h("div", { class: "card-head" }, h("h2", {}, "检查模板"), h("span", { class: "muted" }, "检查项、规定动作、验证方式与预警指标；发布后的版本不可修改")),
      canManage ? createForm(onError) : null,
      h("div", { class: "filters" }, h("label", { class: "cl-check", for: "cl-archived" }, archived, "显示已归档的模板")),
      body,
    ),
  );

  async function load() {
    clear(body).append(h("p", { class: "loading" }, "加载中…"));
    let templates;
    try {
      templates = await api(`${TEMPLATES}${archived.checked ? "?include_archived=true" : ""}`);
    } catch (err) {
      clear(body);
      onError(err, body);
      return;
    }
    clear(body).append(templates.length ? table(templates) : h("p", { class: "empty" }, "暂无检查模板"));
  }
  archived.addEventListener("change", load);
  await load();
}

export async function renderChecklists(container, { me, onError, path }) {
  ensureStylesheet();
  const id = Number.parseInt(path || "", 10);
  if (id > 0) {
    await renderTemplateEditor(container, { me, onError, templateId: id });
    return;
  }
  await renderList(container, { me, onError });
}
