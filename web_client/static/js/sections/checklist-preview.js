// The form as an inspector sees it (预览): sections, items with their controls, what must be
// done (规定动作) and which evidence to capture (验证方式). Nothing here is submitted.
import { h } from "../dom.js";
import { EVIDENCE_LABELS, optionsOf } from "./checklist-item.js";

let uid = 0;

function choiceControls(item, multiple) {
  const name = `pv-${++uid}`;
  return h(
    "div",
    { class: "pv-choices", role: multiple ? "group" : "radiogroup", "aria-label": item.label },
    optionsOf(item).map(([value, label]) =>
      h("label", { class: "cl-check" }, h("input", { type: multiple ? "checkbox" : "radio", name, value: String(value) }), label),
    ),
  );
}

function numberControl(thing, label) {
  return h(
    "span",
    { class: "pv-number" },
    h("input", { type: "number", inputmode: "decimal", "aria-label": label, step: thing.decimals ? String(10 ** -thing.decimals) : "1", min: thing.min ?? undefined, max: thing.max ?? undefined }),
    thing.unit ? h("span", { class: "pv-unit" }, thing.unit) : null,
  );
}

function controlFor(item) {
  switch (item.type) {
    case "yes_no":
    case "single_choice":
    case "conclusion":
      return choiceControls(item, false);
    case "multi_choice":
      return choiceControls(item, true);
    case "number":
      return numberControl(item, item.label);
    case "text":
      return h("textarea", { rows: "2", maxlength: String(item.max_length || 500), "aria-label": item.label });
    case "group":
      return h(
        "div",
        { class: "pv-group" },
        (item.fields || []).map((field) =>
          h(
            "label",
            { class: "pv-subfield" },
            h("span", {}, field.label || field.key),
            field.type === "number"
              ? numberControl(field, field.label)
              : field.type === "text"
                ? h("input", { type: "text", maxlength: String(field.max_length || 500) })
                : h("select", {}, h("option", { value: "" }, "请选择"), h("option", {}, "是"), h("option", {}, "否")),
          ),
        ),
        h("span", { class: "hint" }, (item.min_filled || 1) >= (item.fields || []).length ? "各项均需填写" : `至少填写 ${item.min_filled || 1} 项`),
      );
    default:
      return null;
  }
}

function evidenceText(evidence) {
  return Object.entries(EVIDENCE_LABELS)
    .filter(([kind]) => (evidence?.[kind] || 0) > 0)
    .map(([kind, label]) => `${label} ${evidence[kind]}`)
    .join("、");
}

function previewItem(item, index) {
  const evidence = evidenceText(item.evidence);
  return h(
    "li",
    { class: "pv-item", "data-key": item.key },
    h(
      "div",
      { class: "pv-head" },
      h("span", { class: "pv-index" }, `${index + 1}.`),
      h("span", { class: "pv-label" }, item.label || "（未命名检查项）"),
      item.required ? h("span", { class: "pv-required", title: "必填" }, "*") : null,
    ),
    item.help ? h("p", { class: "hint" }, item.help) : null,
    controlFor(item),
    item.required_action ? h("p", { class: "pv-action" }, h("strong", {}, "规定动作："), item.required_action) : null,
    evidence ? h("p", { class: "pv-evidence" }, h("strong", {}, "验证方式："), `需拍摄/录制 ${evidence}（仅限现场采集）`) : null,
  );
}

/** The whole form, read from the API's JSON (`sections`). */
export function renderPreview(sections) {
  if (!sections.length) return h("p", { class: "empty" }, "该模板还没有检查项");
  return h(
    "div",
    { class: "pv-form", "data-testid": "checklist-preview" },
    sections.map((section) =>
      h(
        "section",
        { class: "pv-section" },
        h("h3", {}, section.title || "（未命名分区）"),
        section.items.length ? h("ol", { class: "pv-items" }, section.items.map(previewItem)) : h("p", { class: "empty" }, "本分区还没有检查项"),
      ),
    ),
  );
}
