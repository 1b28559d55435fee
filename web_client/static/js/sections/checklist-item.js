// One checklist item (检查项) in the template editor: its common settings, the settings of its
// type, the evidence requirement (验证方式) and the anomaly rule (预警指标). The item object
// is the API's JSON, edited in place; `cleanItem` drops what its type does not use.
import { h } from "../dom.js";

export const TYPE_LABELS = {
  yes_no: "是/否",
  single_choice: "单选",
  multi_choice: "多选",
  number: "数值",
  text: "文本",
  group: "分组填写",
  conclusion: "初步结论",
};
export const SUB_TYPE_LABELS = { number: "数值", text: "文本", yes_no: "是/否" };
export const CONCLUSION_LABELS = { normal: "正常", watch: "关注", close_watch: "强烈关注", exit: "退出" };
export const SEVERITY_LABELS = { low: "一般", medium: "较重", high: "严重" };
export const EVIDENCE_LABELS = { photo: "照片", video: "视频", audio: "录音" };
const OP_LABELS = {
  equals: "答案为",
  one_of: "答案包含以下任一项",
  below: "数值低于",
  above: "数值高于",
  outside: "数值超出范围",
};
const RULE_OPS = {
  yes_no: ["equals"],
  single_choice: ["equals", "one_of"],
  conclusion: ["equals", "one_of"],
  multi_choice: ["one_of"],
  number: ["below", "above", "outside"],
};

/** The answers a choice or conclusion item offers: [value, label]. */
export function optionsOf(item) {
  if (item.type === "conclusion") return Object.entries(CONCLUSION_LABELS);
  if (item.type === "yes_no") return [[true, "是"], [false, "否"]];
  return (item.choices || []).map((c) => [c, c]);
}

export function newItem(key, type = "yes_no") {
  return retype({ key, label: "", type, required: true, help: "", required_action: "", evidence: { photo: 0, video: 0, audio: 0 } }, type);
}

/** Switch an item to another type: keep the common settings, start the type's own fresh. */
function retype(item, type) {
  for (const name of ["choices", "unit", "min", "max", "decimals", "max_length", "fields", "min_filled", "anomaly_rule"]) delete item[name];
  item.type = type;
  if (type === "single_choice" || type === "multi_choice") item.choices = ["选项一", "选项二"];
  if (type === "number") item.decimals = 0;
  if (type === "text") item.max_length = 500;
  if (type === "group") {
    item.fields = [{ key: "a", label: "", type: "number", decimals: 0 }];
    item.min_filled = 1;
  }
  if (type === "conclusion") item.required = true;
  return item;
}

function numberOrNull(text) {
  if (text === "" || text === null || text === undefined) return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

function cleanTyped(thing) {
  const out = { key: thing.key, label: thing.label, type: thing.type };
  if (thing.type === "number") {
    if (thing.unit) out.unit = thing.unit;
    for (const name of ["min", "max"]) if (thing[name] !== null && thing[name] !== undefined) out[name] = thing[name];
    out.decimals = thing.decimals ?? 0;
  }
  if (thing.type === "text") out.max_length = thing.max_length ?? 500;
  return out;
}

function cleanRule(rule) {
  const out = { op: rule.op, label: rule.label, severity: rule.severity || "medium" };
  if (rule.op === "one_of") out.values = rule.values || [];
  else if (rule.op === "outside") Object.assign(out, { min: rule.min ?? null, max: rule.max ?? null });
  else out.value = rule.value ?? null;
  return out;
}

/** The item as the API wants it: only the settings its type uses. */
export function cleanItem(item) {
  const out = {
    ...cleanTyped(item),
    required: Boolean(item.required),
    help: item.help || "",
    required_action: item.required_action || "",
    evidence: { photo: 0, video: 0, audio: 0, ...item.evidence },
  };
  if (item.type === "single_choice" || item.type === "multi_choice") out.choices = item.choices || [];
  if (item.type === "group") {
    out.fields = (item.fields || []).map(cleanTyped);
    out.min_filled = item.min_filled ?? 1;
  }
  if (item.anomaly_rule) out.anomaly_rule = cleanRule(item.anomaly_rule);
  return out;
}

let uid = 0;

/** A labelled control bound to `path` (the API's error path below the form). */
function control(label, path, input, { wide = false, hint = "" } = {}) {
  const id = `cl-${++uid}`;
  input.id = id;
  input.dataset.path = path;
  return h(
    "div",
    { class: wide ? "cl-field cl-wide" : "cl-field" },
    h("label", { for: id }, label),
    input,
    hint ? h("span", { class: "hint" }, hint) : null,
    h("span", { class: "field-error", hidden: true }),
  );
}

function textInput(value, onInput, attrs = {}) {
  const input = h("input", { type: "text", autocomplete: "off", ...attrs });
  input.value = value ?? "";
  input.addEventListener("input", () => onInput(input.value));
  return input;
}

function numberInput(value, onInput, attrs = {}) {
  const input = h("input", { type: "number", inputmode: "decimal", ...attrs });
  input.value = value ?? "";
  input.addEventListener("input", () => onInput(numberOrNull(input.value)));
  return input;
}

function selectInput(options, value, onChange) {
  const select = h("select", {}, options.map(([v, label]) => h("option", { value: String(v) }, label)));
  select.value = String(value);
  select.addEventListener("change", () => onChange(select.value));
  return select;
}

function textArea(value, onInput, rows = 2) {
  const area = h("textarea", { rows: String(rows) });
  area.value = value ?? "";
  area.addEventListener("input", () => onInput(area.value));
  return area;
}

function checkbox(label, checked, onChange, path) {
  const input = h("input", { type: "checkbox" });
  input.checked = Boolean(checked);
  if (path) input.dataset.path = path;
  input.addEventListener("change", () => onChange(input.checked));
  return h("label", { class: "cl-check" }, input, label);
}

function typedSettings(thing, path, changed) {
  const set = (name) => (value) => {
    thing[name] = value;
    changed();
  };
  if (thing.type === "number") {
    return [
      control("单位", `${path}.unit`, textInput(thing.unit, (v) => set("unit")(v.trim() || null), { maxlength: "16", placeholder: "如 万元" })),
      control("最小值", `${path}.min`, numberInput(thing.min, set("min"))),
      control("最大值", `${path}.max`, numberInput(thing.max, set("max"))),
      control("小数位数", `${path}.decimals`, numberInput(thing.decimals, set("decimals"), { min: "0", max: "6", step: "1" })),
    ];
  }
  if (thing.type === "text") {
    return [control("最多字数", `${path}.max_length`, numberInput(thing.max_length, set("max_length"), { min: "1", max: "5000" }))];
  }
  return [];
}

function groupFields(item, path, { changed, rerender }) {
  const rows = (item.fields || []).map((field, index) => {
    const fieldPath = `${path}.fields.${index}`;
    const remove = h("button", { type: "button", class: "btn btn-small", "aria-label": `删除子项 ${index + 1}` }, "删除");
    remove.addEventListener("click", () => {
      item.fields.splice(index, 1);
      rerender();
    });
    const type = selectInput(Object.entries(SUB_TYPE_LABELS), field.type, (value) => {
      item.fields[index] = { key: field.key, label: field.label, type: value, ...(value === "number" ? { decimals: 0 } : {}), ...(value === "text" ? { max_length: 500 } : {}) };
      rerender();
    });
    return h(
      "div",
      { class: "cl-subfield" },
      control("子项标识", `${fieldPath}.key`, textInput(field.key, (v) => { field.key = v.trim(); changed(); }, { maxlength: "40" })),
      control("子项名称", `${fieldPath}.label`, textInput(field.label, (v) => { field.label = v; changed(); }, { maxlength: "200" })),
      control("子项类型", `${fieldPath}.type`, type),
      typedSettings(field, fieldPath, changed),
      remove,
    );
  });
  const add = h("button", { type: "button", class: "btn btn-small" }, "添加子项");
  add.addEventListener("click", () => {
    const keys = new Set((item.fields || []).map((f) => f.key));
    let n = (item.fields || []).length + 1;
    while (keys.has(`f${n}`)) n += 1;
    item.fields = [...(item.fields || []), { key: `f${n}`, label: "", type: "number", decimals: 0 }];
    rerender();
  });
  return h(
    "fieldset",
    { class: "cl-group", "data-path": `${path}.fields` },
    h("legend", {}, "子项"),
    rows,
    h("div", { class: "cl-row" }, add, control("至少填写几项", `${path}.min_filled`, numberInput(item.min_filled, (v) => { item.min_filled = v; changed(); }, { min: "1", step: "1" }))),
    h("span", { class: "field-error", hidden: true }),
  );
}

function ruleSettings(item, path, { changed }, redraw) {
  const ops = RULE_OPS[item.type];
  if (!ops) return null;
  const rulePath = `${path}.anomaly_rule`;
  const rule = item.anomaly_rule;
  const toggle = checkbox("启用异常规则（预警指标）", Boolean(rule), (on) => {
    item.anomaly_rule = on ? { op: ops[0], label: "", severity: "medium", value: item.type === "yes_no" ? true : null } : undefined;
    if (!on) delete item.anomaly_rule;
    changed();
    redraw();
  }, rulePath);
  const error = h("span", { class: "field-error", hidden: true });
  if (!rule) return h("fieldset", { class: "cl-rule" }, h("legend", {}, "异常规则"), toggle, error);
  const setRule = (name) => (value) => {
    rule[name] = value;
    changed();
  };
  const op = selectInput(ops.map((o) => [o, OP_LABELS[o]]), rule.op, (value) => {
    item.anomaly_rule = { op: value, label: rule.label, severity: rule.severity };
    changed();
    redraw();
  });
  const parts = [control("触发条件", `${rulePath}.op`, op)];
  const options = optionsOf(item);
  if (rule.op === "equals") {
    const choices = [["", "请选择"], ...options];
    const select = selectInput(choices, rule.value ?? "", (value) => {
      rule.value = item.type === "yes_no" ? value === "true" : value || null;
      changed();
    });
    parts.push(control("触发答案", `${rulePath}.value`, select));
  } else if (rule.op === "one_of") {
    const chosen = new Set(rule.values || []);
    const boxes = options.map(([value, label]) =>
      checkbox(label, chosen.has(value), (on) => {
        rule.values = options.map(([v]) => v).filter((v) => (v === value ? on : (rule.values || []).includes(v)));
        changed();
      }),
    );
    parts.push(h("div", { class: "cl-field cl-wide", "data-path": `${rulePath}.values` }, h("span", { class: "cl-label" }, "触发答案（任一）"), h("div", { class: "cl-checks" }, boxes), h("span", { class: "field-error", hidden: true })));
  } else if (rule.op === "outside") {
    parts.push(control("下限", `${rulePath}.min`, numberInput(rule.min, setRule("min"))));
    parts.push(control("上限", `${rulePath}.max`, numberInput(rule.max, setRule("max"))));
  } else {
    parts.push(control("阈值", `${rulePath}.value`, numberInput(rule.value, setRule("value"))));
  }
  parts.push(control("预警指标名称", `${rulePath}.label`, textInput(rule.label, setRule("label"), { maxlength: "100", placeholder: "如 他行授信逾期" })));
  parts.push(control("严重程度", `${rulePath}.severity`, selectInput(Object.entries(SEVERITY_LABELS), rule.severity || "medium", setRule("severity"))));
  return h("fieldset", { class: "cl-rule" }, h("legend", {}, "异常规则"), toggle, error, h("div", { class: "cl-grid" }, parts));
}

/** The settings form of one item; `changed()` after an edit, `rerender()` after a change of shape. */
export function itemSettings(item, path, actions) {
  const { changed, rerender } = actions;
  const set = (name) => (value) => {
    item[name] = value;
    changed();
  };
  const type = selectInput(Object.entries(TYPE_LABELS), item.type, (value) => {
    if (value === item.type) return;
    retype(item, value);
    rerender();
  });
  const common = h(
    "div",
    { class: "cl-grid" },
    control("标识（英文，用于答案）", `${path}.key`, textInput(item.key, (v) => set("key")(v.trim()), { maxlength: "40", pattern: "[a-z][a-z0-9_]*" })),
    control("检查项名称", `${path}.label`, textInput(item.label, set("label"), { maxlength: "200" }), { wide: true }),
    control("类型", `${path}.type`, type),
    h("div", { class: "cl-field" }, checkbox("必填", item.required, set("required"), `${path}.required`), h("span", { class: "field-error", hidden: true })),
    control("填写说明", `${path}.help`, textArea(item.help, set("help")), { wide: true }),
    control("规定动作", `${path}.required_action`, textArea(item.required_action, set("required_action")), { wide: true, hint: "检查员必须完成的动作（检查规范）" }),
  );
  const evidence = h(
    "fieldset",
    { class: "cl-evidence" },
    h("legend", {}, "验证方式（至少需要）"),
    h(
      "div",
      { class: "cl-row" },
      Object.entries(EVIDENCE_LABELS).map(([kind, label]) =>
        control(label, `${path}.evidence.${kind}`, numberInput(item.evidence?.[kind] ?? 0, (v) => {
          item.evidence = { ...item.evidence, [kind]: v ?? 0 };
          changed();
        }, { min: "0", max: "20", step: "1" })),
      ),
    ),
  );
  const specific = [];
  if (item.type === "single_choice" || item.type === "multi_choice") {
    const area = textArea((item.choices || []).join("\n"), (text) => {
      item.choices = text.split("\n").map((c) => c.trim()).filter(Boolean);
      changed();
      drawRule(); // the rule offers the new choices
    }, 3);
    specific.push(control("选项（每行一个）", `${path}.choices`, area, { wide: true }));
  }
  specific.push(...typedSettings(item, path, changed));
  const ruleBox = h("div", { class: "cl-rule-box" });
  function drawRule() {
    const focused = ruleBox.contains(document.activeElement);
    ruleBox.replaceChildren(...[ruleSettings(item, path, actions, drawRule)].filter(Boolean));
    if (focused) ruleBox.querySelector("select, input")?.focus();
  }
  drawRule();
  return [
    common,
    specific.length ? h("div", { class: "cl-grid" }, specific) : null,
    item.type === "group" ? groupFields(item, path, actions) : null,
    evidence,
    ruleBox,
  ];
}
