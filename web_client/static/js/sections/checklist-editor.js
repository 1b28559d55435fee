// One checklist template: its versions (a published one never changes), the draft being
// edited (sections and items: add, remove, reorder), a preview as the inspector sees it,
// save, publish, discard, archive. Server errors are shown next to the field they name.
import { ApiError, api } from "../api.js";
import { clear, formatTime, h, show } from "../dom.js";
import { TYPE_LABELS, cleanItem, itemSettings, newItem } from "./checklist-item.js";
import { renderPreview } from "./checklist-preview.js";

const TEMPLATES = "/api/v1/checklist-templates";
const STATUS_LABELS = { draft: "草稿", published: "已发布" };

function move(list, index, delta) {
  const target = index + delta;
  if (target < 0 || target >= list.length) return false;
  [list[index], list[target]] = [list[target], list[index]];
  return true;
}

/** Replace a node's children, skipping the absent ones (null would become "null"). */
function fill(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

function smallButton(label, onClick, attrs = {}) {
  const button = h("button", { type: "button", class: "btn btn-small", ...attrs }, label);
  button.addEventListener("click", onClick);
  return button;
}

export async function renderTemplateEditor(container, { onError, templateId }) {
  const base = `${TEMPLATES}/${templateId}`;
  const state = { template: null, viewing: null, draft: null, preview: false, dirty: false };
  let openItems = new WeakSet(); // item objects whose settings are unfolded
  const head = h("div", { class: "cl-head" });
  const toolbar = h("div", { class: "cl-toolbar" });
  const status = h("p", { class: "form-success", role: "status", hidden: true });
  const alert = h("div", { class: "form-error cl-problems", role: "alert", hidden: true });
  const body = h("div", { class: "cl-body" });
  const card = h("section", { class: "card" }, head, toolbar, status, alert, body);
  container.append(h("a", { class: "cl-back", href: "#/checklists" }, "← 返回模板列表"), card);
  window.addEventListener("beforeunload", (event) => {
    if (state.dirty && container.isConnected) event.preventDefault();
  });

  const say = (text) => show(status, text);
  const editing = () => state.draft !== null && state.viewing === null;

  function changed() {
    state.dirty = true;
    say("有未保存的修改");
  }

  async function load(showNumber) {
    const template = await api(base);
    state.template = template;
    state.dirty = false;
    state.viewing = null;
    state.draft = null;
    if (template.can_manage && template.status === "active" && template.draft && showNumber === undefined) {
      const version = await api(`${base}/versions/${template.draft.number}`);
      state.draft = { number: version.number, revision: version.revision, sections: version.sections };
    } else {
      const last = template.versions[template.versions.length - 1];
      const number = showNumber ?? template.published?.number ?? last?.number;
      if (number) state.viewing = await api(`${base}/versions/${number}`);
    }
    draw();
  }

  async function view(number) {
    if (state.draft && state.draft.number === number) {
      state.viewing = null;
    } else {
      try {
        state.viewing = await api(`${base}/versions/${number}`);
      } catch (err) {
        showProblem(err);
        return;
      }
    }
    draw();
  }

  function drawHead() {
    const t = state.template;
    const current = editing() ? state.draft.number : state.viewing?.number;
    fill(
      head,
      h("div", { class: "card-head" }, h("h2", {}, t.name), h("span", { class: "badge" }, t.org_name), t.status === "archived" ? h("span", { class: "badge badge-off" }, "已归档") : null),
      t.description ? h("p", { class: "muted" }, t.description) : null,
      h(
        "div",
        { class: "cl-versions", role: "group", "aria-label": "版本" },
        t.versions.map((v) =>
          smallButton(`第 ${v.number} 版 · ${STATUS_LABELS[v.status]}`, () => view(v.number), {
            "aria-pressed": String(v.number === current),
            "data-version": v.number,
            title: v.published_at ? `发布于 ${formatTime(v.published_at)}` : `更新于 ${formatTime(v.updated_at)}`,
          }),
        ),
        state.draft && !t.draft
          ? smallButton(`新草稿（保存后为第 ${state.draft.number} 版）`, () => view(state.draft.number), { "aria-pressed": String(editing()) })
          : null,
      ),
    );
  }

  function drawToolbar() {
    const t = state.template;
    const manage = t.can_manage && t.status === "active";
    clear(toolbar);
    if (editing()) {
      fill(
        toolbar,
        smallButton("编辑", () => { state.preview = false; draw(); }, { "aria-pressed": String(!state.preview) }),
        smallButton("预览", () => { state.preview = true; draw(); }, { "aria-pressed": String(state.preview) }),
        h("span", { class: "cl-spacer" }),
        t.draft ? smallButton("放弃草稿", discard) : null,
        smallButton("保存草稿", save, { class: "btn" }),
        smallButton("发布", publish, { class: "btn btn-primary" }),
      );
    } else if (state.viewing) {
      toolbar.append(h("span", { class: "muted" }, state.viewing.status === "published" ? `第 ${state.viewing.number} 版，发布于 ${formatTime(state.viewing.published_at)}；已发布的版本不可修改` : `第 ${state.viewing.number} 版（草稿）`), h("span", { class: "cl-spacer" }));
      if (manage && state.draft) toolbar.append(smallButton("继续编辑草稿", () => view(state.draft.number)));
      else if (manage) toolbar.append(smallButton("编辑新版本", startDraft, { class: "btn btn-primary" }));
      if (manage) toolbar.append(smallButton("归档", archive));
    }
  }

  function drawBody() {
    clear(body);
    if (editing()) body.append(state.preview ? renderPreview(state.draft.sections) : editor());
    else if (state.viewing) body.append(renderPreview(state.viewing.sections));
    else body.append(h("p", { class: "empty" }, "该模板还没有版本"));
  }

  function draw() {
    drawHead();
    drawToolbar();
    drawBody();
  }

  function uniqueKey() {
    const keys = new Set(state.draft.sections.flatMap((s) => s.items.map((i) => i.key)));
    let n = keys.size + 1;
    while (keys.has(`item_${n}`)) n += 1;
    return `item_${n}`;
  }

  function shapeChanged() {
    changed();
    drawBody();
  }

  function itemCard(section, s, item, i) {
    const path = `sections.${s}.items.${i}`;
    const summary = h("summary", {});
    const refresh = () => {
      fill(
        summary,
        h("span", { class: "cl-item-title" }, `${i + 1}. ${item.label || "（未命名检查项）"}`),
        h("span", { class: "badge" }, TYPE_LABELS[item.type] || item.type),
        item.required ? h("span", { class: "badge" }, "必填") : null,
        item.anomaly_rule ? h("span", { class: "badge badge-soon" }, `预警：${item.anomaly_rule.label || "未命名"}`) : null,
        h("span", { class: "mono muted" }, item.key),
      );
    };
    refresh();
    const actions = {
      changed: () => { changed(); refresh(); },
      rerender: shapeChanged,
    };
    const details = h(
      "details",
      { class: "cl-item", "data-path": path, open: openItems.has(item) },
      summary,
      h(
        "div",
        { class: "cl-item-body" },
        itemSettings(item, path, actions),
        h(
          "div",
          { class: "cl-row" },
          smallButton("上移", () => move(section.items, i, -1) && shapeChanged(), { disabled: i === 0 }),
          smallButton("下移", () => move(section.items, i, 1) && shapeChanged(), { disabled: i === section.items.length - 1 }),
          smallButton("删除检查项", () => { section.items.splice(i, 1); shapeChanged(); }),
        ),
      ),
    );
    details.addEventListener("toggle", () => (details.open ? openItems.add(item) : openItems.delete(item)));
    return details;
  }

  function sectionCard(section, s) {
    const sections = state.draft.sections;
    const title = h("input", { type: "text", maxlength: "100", "data-path": `sections.${s}.title`, "aria-label": `分区 ${s + 1} 名称` });
    title.value = section.title;
    title.addEventListener("input", () => { section.title = title.value; changed(); });
    return h(
      "fieldset",
      { class: "cl-section", "data-path": `sections.${s}` },
      h(
        "div",
        { class: "cl-row cl-section-head" },
        h("span", { class: "cl-label" }, `分区 ${s + 1}`),
        title,
        smallButton("上移", () => move(sections, s, -1) && shapeChanged(), { disabled: s === 0 }),
        smallButton("下移", () => move(sections, s, 1) && shapeChanged(), { disabled: s === sections.length - 1 }),
        smallButton("删除分区", () => { sections.splice(s, 1); shapeChanged(); }),
      ),
      h("span", { class: "field-error", hidden: true }),
      h("div", { class: "cl-items", "data-path": `sections.${s}.items` }, section.items.map((item, i) => itemCard(section, s, item, i))),
      smallButton("添加检查项", () => {
        const item = newItem(uniqueKey());
        section.items.push(item);
        openItems.add(item);
        shapeChanged();
      }),
    );
  }

  function editor() {
    return h(
      "div",
      { class: "cl-editor", "data-path": "sections" },
      state.draft.sections.map(sectionCard),
      h("span", { class: "field-error", hidden: true }),
      smallButton("添加分区", () => {
        state.draft.sections.push({ title: "新分区", items: [] });
        shapeChanged();
      }),
    );
  }

  function startDraft() {
    const sections = structuredClone(state.viewing.sections);
    const next = Math.max(0, ...state.template.versions.map((v) => v.number)) + 1;
    state.draft = { number: next, revision: null, sections };
    state.viewing = null;
    state.preview = false;
    say("已基于当前版本创建新草稿，保存后生效");
    draw();
  }

  function where(path) {
    const match = /^sections\.(\d+)(?:\.items\.(\d+))?/.exec(path);
    const section = match && state.draft?.sections[Number(match[1])];
    if (!section) return "";
    const item = match[2] !== undefined ? section.items[Number(match[2])] : null;
    return `分区「${section.title}」${item ? ` · 检查项「${item.label || item.key}」` : ""}`;
  }

  /** Server messages name other places by path ("已用于 sections.0.items.1"): say where. */
  function humanize(message) {
    return message.replace(/sections\.\d+(\.items\.\d+)?/g, (path) => where(path) || path);
  }

  function markField(path, message) {
    let parts = path.split(".");
    while (parts.length) {
      const node = body.querySelector(`[data-path="${parts.join(".")}"]`);
      if (node) {
        for (let open = node.closest("details"); open; open = open.parentElement?.closest("details")) open.open = true;
        const holder = node.closest(".cl-field, fieldset, .cl-editor") || node;
        const span = holder.querySelector(":scope > .field-error");
        if (span) show(span, span.hidden ? message : `${span.textContent}；${message}`);
        if (node.matches("input, select, textarea")) node.setAttribute("aria-invalid", "true");
        return;
      }
      parts = parts.slice(0, -1);
    }
  }

  function showProblem(err) {
    if (err instanceof ApiError && err.status === 401) {
      onError(err, alert);
      return;
    }
    const errors = err instanceof ApiError ? err.problem.errors || [] : [];
    if (errors.length && editing() && state.preview) {
      state.preview = false;
      draw();
    }
    const headline = errors.length ? "未能保存或发布，请修改以下问题：" : err instanceof ApiError ? err.detail : "操作失败，请稍后再试";
    clear(alert).append(h("p", {}, headline));
    if (errors.length) {
      const located = errors.map((e) => ({ path: e.field.replace(/^(body|draft)\./, ""), message: humanize(e.message) }));
      alert.append(h("ul", {}, located.map((e) => h("li", {}, [where(e.path), e.message].filter(Boolean).join("：")))));
      for (const e of located) markField(e.path, e.message);
    }
    alert.hidden = false;
    show(status, "");
  }

  async function run(task) {
    for (const button of toolbar.querySelectorAll("button")) button.disabled = true;
    alert.hidden = true;
    try {
      await task();
    } catch (err) {
      showProblem(err);
    } finally {
      for (const button of toolbar.querySelectorAll("button")) button.disabled = false;
    }
  }

  async function saveDraft() {
    const draft = state.draft;
    const payload = { sections: draft.sections.map((s) => ({ title: s.title, items: s.items.map(cleanItem) })) };
    if (draft.revision !== null) payload.revision = draft.revision;
    const version = await api(`${base}/draft`, { method: "PUT", body: payload });
    state.template = await api(base);
    // The server's copy replaces ours: keep the same items unfolded.
    const open = new Set(draft.sections.flatMap((s) => s.items.filter((i) => openItems.has(i)).map((i) => i.key)));
    openItems = new WeakSet(version.sections.flatMap((s) => s.items.filter((i) => open.has(i.key))));
    state.draft = { number: version.number, revision: version.revision, sections: version.sections };
    state.dirty = false;
    draw();
    return version;
  }

  function save() {
    return run(async () => {
      const version = await saveDraft();
      say(`草稿已保存（第 ${version.number} 版，第 ${version.revision} 次修订）`);
    });
  }

  function publish() {
    return run(async () => {
      if (state.dirty || state.draft.revision === null) await saveDraft();
      const version = await api(`${base}/publish`, { method: "POST", body: { revision: state.draft.revision } });
      await load(version.number);
      say(`已发布第 ${version.number} 版，新的检查将使用此版本`);
    });
  }

  function discard() {
    if (!window.confirm("放弃草稿后，未发布的修改将全部丢失。确定放弃吗？")) return undefined;
    return run(async () => {
      await api(`${base}/draft`, { method: "DELETE" });
      await load();
      say("草稿已放弃");
    });
  }

  function archive() {
    if (!window.confirm("归档后不能再用此模板开始新的检查（已开始的检查不受影响）。确定归档吗？")) return undefined;
    return run(async () => {
      await api(`${base}/archive`, { method: "POST" });
      await load();
      say("模板已归档");
    });
  }

  try {
    await load();
  } catch (err) {
    card.remove(); // nothing to show: the console says why (e.g. 检查模板不存在)
    throw err;
  }
}
