// The checklist as an inspector answers it (现场检查 / 企业自检 / 远程巡检): one control per item
// type, what must be done (规定动作), the evidence each item needs (验证方式) with what was
// captured so far, and the inspector's own anomaly flag (标记异常). Used by the on-site page
// and the remote call page; the console shows the same form read-only.
import { h, show } from "./dom.js";

export const EVIDENCE_LABELS = { photo: "照片", video: "视频", audio: "录音" };
const EVIDENCE_UNITS = { photo: "张", video: "段", audio: "段" };
const UNAVAILABLE = "已上传，联网后可查看";
// Every item can take photos, video and audio (the deck); 验证方式 says what it requires.
export const CAPTURE_KINDS = [["photo", "拍照"], ["video", "录像"], ["audio", "录音"]];
export const CONCLUSION_LABELS = { normal: "正常", watch: "关注", close_watch: "强烈关注", exit: "退出" };

let uid = 0;

function optionsOf(item) {
  if (item.type === "yes_no") return [[true, "是"], [false, "否"]];
  if (item.type === "conclusion") return Object.entries(CONCLUSION_LABELS);
  return (item.choices || []).map((choice) => [choice, choice]);
}

function isBlank(value) {
  if (value === undefined || value === null) return true;
  if (typeof value === "string") return !value.trim();
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === "object") return Object.values(value).every(isBlank);
  return false;
}

function numberInput(thing, label, value, disabled) {
  return h(
    "span",
    { class: "if-number" },
    h("input", {
      type: "number",
      inputmode: "decimal",
      "aria-label": label,
      step: thing.decimals ? String(10 ** -thing.decimals) : "1",
      min: thing.min ?? undefined,
      max: thing.max ?? undefined,
      value: value ?? undefined,
      disabled,
    }),
    thing.unit ? h("span", { class: "if-unit" }, thing.unit) : null,
  );
}

/** What a number box holds that is no number at all (the browser keeps it from us). */
export class BadInput {
  constructor(label) {
    this.message = `${label}：应为数字`;
  }
}

function readNumber(input, label) {
  if (input.validity?.badInput) return new BadInput(label);
  const raw = input.value.trim();
  if (!raw) return undefined;
  const number = Number(raw);
  return Number.isFinite(number) ? number : raw; // the server names what is wrong
}

/** A control for an item (or a group's sub-field) and how to read its answer back. */
function control(item, value, disabled) {
  const name = `if-${++uid}`;
  switch (item.type) {
    case "yes_no":
    case "single_choice":
    case "conclusion": {
      const node = h(
        "div",
        { class: "if-choices", role: "radiogroup", "aria-label": item.label },
        optionsOf(item).map(([option, label]) =>
          h("label", { class: "if-check" }, h("input", { type: "radio", name, value: String(option), checked: value === option, disabled }), label),
        ),
      );
      const read = () => {
        const chosen = node.querySelector("input:checked");
        if (!chosen) return undefined;
        return optionsOf(item).find(([option]) => String(option) === chosen.value)[0];
      };
      return { node, read };
    }
    case "multi_choice": {
      const picked = new Set(Array.isArray(value) ? value : []);
      const node = h(
        "div",
        { class: "if-choices", role: "group", "aria-label": item.label },
        optionsOf(item).map(([option, label]) =>
          h("label", { class: "if-check" }, h("input", { type: "checkbox", value: option, checked: picked.has(option), disabled }), label),
        ),
      );
      const read = () => [...node.querySelectorAll("input:checked")].map((input) => input.value);
      return { node, read };
    }
    case "number": {
      const node = numberInput(item, item.label, value, disabled);
      return { node, read: () => readNumber(node.querySelector("input"), item.label) };
    }
    case "text": {
      const node = h("textarea", { rows: "2", maxlength: String(item.max_length || 500), "aria-label": item.label, disabled });
      node.value = typeof value === "string" ? value : "";
      return { node, read: () => node.value };
    }
    case "group": {
      const current = value && typeof value === "object" ? value : {};
      const parts = (item.fields || []).map((field) => {
        const label = `${item.label}·${field.label}`;
        let node;
        let read;
        if (field.type === "number") {
          node = numberInput(field, label, current[field.key], disabled);
          read = () => readNumber(node.querySelector("input"), field.label);
        } else if (field.type === "text") {
          node = h("input", { type: "text", "aria-label": label, maxlength: String(field.max_length || 500), disabled });
          node.value = current[field.key] ?? "";
          read = () => node.value;
        } else {
          const was = current[field.key];
          node = h(
            "select",
            { "aria-label": label, disabled },
            h("option", { value: "" }, "请选择"),
            h("option", { value: "true", selected: was === true }, "是"),
            h("option", { value: "false", selected: was === false }, "否"),
          );
          read = () => (node.value === "" ? undefined : node.value === "true");
        }
        // A refused sub-field is marked right under it (e.g. 人数：应为整数).
        const error = h("span", { class: "field-error if-suberror", hidden: true, "data-error-for": `${item.key}.${field.key}` });
        return { field, node: h("div", { class: "if-subfield" }, h("label", {}, h("span", {}, field.label), node), error), read, error };
      });
      const read = () => {
        const answer = {};
        for (const part of parts) {
          const v = part.read();
          if (v instanceof BadInput) return Object.assign(v, { subKey: part.field.key });
          if (!isBlank(v)) answer[part.field.key] = v;
        }
        return answer;
      };
      const least = item.min_filled || 1;
      const hint = least >= parts.length ? "各项均需填写" : `至少填写 ${least} 项`;
      const subErrors = Object.fromEntries(parts.map((p) => [p.field.key, p.error]));
      return { node: h("div", { class: "if-group" }, parts.map((p) => p.node), h("span", { class: "hint" }, hint)), read, subErrors };
    }
    default:
      return { node: null, read: () => undefined };
  }
}

/** The item an error names: its `item_key`, else the key after "answers" in its field. */
export function itemKeyOf(error) {
  return error.item_key || String(error.field).replace(/^body\./, "").split(".")[1];
}

function requirementText(evidence) {
  return Object.entries(EVIDENCE_LABELS)
    .filter(([kind]) => (evidence?.[kind] || 0) > 0)
    .map(([kind, label]) => `${label} ${evidence[kind]} ${EVIDENCE_UNITS[kind]}`)
    .join("、");
}

/** The question before a capture is deleted, in plain Chinese: 「删除这张照片？」; `waiting`
 * when it has not gone up yet (kept on the phone: it is then never sent). */
export function removeQuestion(kind, { waiting = false } = {}) {
  const what = `这${EVIDENCE_UNITS[kind]}${EVIDENCE_LABELS[kind]}`;
  return waiting ? `删除${what}？它还没有上传，删除后将从本手机移除，不会再上传。` : `删除${what}？`;
}

/** Why a capture the server holds cannot be deleted now: only the server can, so not offline. */
export function removeOfflineText(kind) {
  return `这${EVIDENCE_UNITS[kind]}${EVIDENCE_LABELS[kind]}已上传到服务器，没有网络时不能删除，请联网后再删除。`;
}

/** A thumbnail / player for one piece of evidence; without a `url` (on the server, and this
 * phone has no copy and no network) a placeholder that says so. */
export function evidenceMedia(item) {
  if (!item.url) {
    const label = `${EVIDENCE_LABELS[item.kind]}：${UNAVAILABLE}`;
    const [where, when] = UNAVAILABLE.split("，"); // a line each in the thumbnail's place
    return h("div", { class: "if-unavailable", role: "img", "aria-label": label }, h("strong", {}, EVIDENCE_LABELS[item.kind]), h("span", {}, `${where}，`), h("span", {}, when));
  }
  if (item.kind === "photo") return h("img", { src: item.url, alt: `${item.item_key} 照片`, loading: "lazy" });
  if (item.kind === "video") return h("video", { src: item.url, controls: true, preload: "metadata", playsinline: true });
  return h("audio", { src: item.url, controls: true, preload: "metadata" });
}

/**
 * The whole form. `captureKinds(item)` lists the capture buttons an item shows (e.g. photo,
 * video, audio on site; a 截图取证 snapshot beside a call); `onCapture(item, kind)` runs one,
 * `onRemove(evidence)` takes a capture off; `onChange(key, what)` is told after every edit of
 * an item's answer (`what` "answer") or of its 标记异常 (`what` "flags").
 */
export function renderInspectionForm(inspection, { editable, captureKinds, onCapture, onRemove, onChange }) {
  const items = new Map();
  const flags = new Map((inspection.flags || []).map((flag) => [flag.item_key, flag.note]));
  const sections = inspection.checklist.sections.map((section) =>
    h(
      "section",
      { class: "if-section" },
      h("h3", {}, section.title),
      h(
        "ol",
        { class: "if-items" },
        section.items.map((item) => {
          const answer = control(item, inspection.answers?.[item.key], !editable);
          const error = h("p", { class: "field-error", hidden: true, "data-error-for": item.key });
          const status = h("span", { class: "if-status", "data-status-for": item.key });
          const gallery = h("div", { class: "if-evidence", "data-evidence-for": item.key });
          const uploads = h("div", { class: "if-uploads", "data-uploads-for": item.key });
          const counts = h("p", { class: "if-counts" });
          const flagBox = h("input", { type: "checkbox", checked: flags.has(item.key), disabled: !editable });
          const flagNote = h("input", { type: "text", maxlength: "500", placeholder: "说明异常情况（必填）", "aria-label": `${item.label} 异常说明`, disabled: !editable, hidden: !flags.has(item.key) });
          flagNote.value = flags.get(item.key) || "";
          flagBox.addEventListener("change", () => {
            flagNote.hidden = !flagBox.checked;
            if (flagBox.checked) flagNote.focus();
          });
          const kinds = editable && captureKinds ? captureKinds(item) : [];
          const node = h(
            "li",
            { class: "if-item", "data-key": item.key },
            h("div", { class: "if-head" }, h("span", { class: "if-label" }, item.label), item.required ? h("span", { class: "if-required", title: "必填" }, "*") : null, status),
            item.help ? h("p", { class: "hint" }, item.help) : null,
            item.required_action ? h("p", { class: "if-action" }, h("strong", {}, "规定动作："), item.required_action) : null,
            answer.node,
            error,
            requirementText(item.evidence) ? h("p", { class: "if-need" }, h("strong", {}, "验证方式："), requirementText(item.evidence)) : null,
            counts,
            gallery,
            uploads,
            kinds.length
              ? h(
                  "div",
                  { class: "if-capture" },
                  kinds.map(([kind, label]) => h("button", { type: "button", class: "btn", "data-capture": kind, onclick: () => onCapture(item, kind) }, label)),
                )
              : null,
            h("label", { class: "if-flag" }, flagBox, "标记异常"),
            flagNote,
          );
          // Each item is saved on its own: say which item changed, and whether its answer or its flag.
          const told = (what) => () => onChange && onChange(item.key, what);
          for (const type of ["input", "change"]) {
            answer.node?.addEventListener(type, told("answer"));
            flagBox.addEventListener(type, told("flags"));
            flagNote.addEventListener(type, told("flags"));
          }
          items.set(item.key, { item, answer, error, status, gallery, uploads, counts, flagBox, flagNote });
          return node;
        }),
      ),
    ),
  );
  const node = h("div", { class: "if-form", "data-testid": "inspection-form" }, sections);

  function setEvidence(evidence) {
    for (const { item, gallery, counts } of items.values()) {
      const mine = evidence.filter((e) => e.item_key === item.key);
      gallery.replaceChildren(
        ...mine.map((e) =>
          h(
            "figure",
            { class: "if-shot", "data-kind": e.kind },
            evidenceMedia(e),
            editable && onRemove ? h("button", { type: "button", class: "btn btn-ghost if-remove", "aria-label": "删除此取证", onclick: () => onRemove(e) }, "删除") : null,
          ),
        ),
      );
      const parts = Object.keys(EVIDENCE_LABELS)
        .filter((kind) => (item.evidence?.[kind] || 0) > 0 || mine.some((e) => e.kind === kind))
        .map((kind) => {
          const have = mine.filter((e) => e.kind === kind).length;
          const need = item.evidence?.[kind] || 0;
          // "照片 1/2" against a requirement; an optional capture is just counted: "照片 1".
          return need ? `${EVIDENCE_LABELS[kind]} ${have}/${need}` : `${EVIDENCE_LABELS[kind]} ${have}`;
        });
      counts.textContent = parts.length ? `已取证：${parts.join("，")}` : "";
    }
  }

  const subKeyOf = (e) => String(e.field).replace(/^body\./, "").split(".")[2];
  const controlsIn = (node) => (!node ? [] : node.matches("input, select, textarea") ? [node] : [...node.querySelectorAll("input, select, textarea")]);

  /** Each message beside its field: a group's sub-field under that sub-field, else under the item. */
  function showErrors(key, errors) {
    const { answer, error } = items.get(key);
    const bySub = answer.subErrors || {};
    const own = [];
    for (const node of Object.values(bySub)) show(node, "");
    for (const e of errors) {
      const sub = bySub[subKeyOf(e)];
      if (sub) show(sub, [sub.textContent, e.message].filter(Boolean).join("；"));
      else own.push(e.message);
    }
    show(error, own.join("；"));
    for (const input of controlsIn(answer.node)) input.removeAttribute("aria-invalid");
    for (const e of errors) {
      const sub = bySub[subKeyOf(e)];
      for (const input of controlsIn(sub ? sub.previousElementSibling : answer.node)) input.setAttribute("aria-invalid", "true");
    }
  }

  function setErrors(errors) {
    for (const key of items.keys()) showErrors(key, errors.filter((e) => itemKeyOf(e) === key));
  }

  const STATUS_TEXT = { saving: "保存中…", saved: "已保存", error: "未保存", pending: "待上传" };

  /** An item's save state: "saving", "saved", "error" (with the refusals to show), "pending"
   * (kept on the phone until there is network), or "". */
  function setItemState(key, state, errors = []) {
    const entry = items.get(key);
    if (!entry) return;
    entry.status.textContent = STATUS_TEXT[state] || "";
    entry.status.dataset.state = state;
    if (state !== "saving") showErrors(key, errors);
  }

  /** One item's answer as it would be saved: null when blank (clears it), a BadInput when
   * a number box holds no number. */
  function answerOf(key) {
    const value = items.get(key).answer.read();
    return value instanceof BadInput || !isBlank(value) ? value : null;
  }

  function flagList() {
    const list = [];
    for (const { item, flagBox, flagNote } of items.values()) {
      if (flagBox.checked && flagNote.value.trim()) list.push({ item_key: item.key, note: flagNote.value.trim() });
    }
    return list;
  }

  function collect() {
    const answers = {};
    for (const key of items.keys()) {
      const value = answerOf(key);
      if (value !== null && !(value instanceof BadInput)) answers[key] = value;
    }
    return { answers, flags: flagList() };
  }

  /** Show a file being uploaded (an upload-progress.js row) under its item. */
  function addUpload(itemKey, row) {
    items.get(itemKey)?.uploads.append(row);
  }

  setEvidence(inspection.evidence || []);
  return {
    node,
    keys: () => [...items.keys()],
    answerOf,
    flagList,
    collect,
    setEvidence,
    setErrors,
    setItemState,
    addUpload,
    itemNode: (key) => node.querySelector(`[data-key="${key}"]`),
  };
}
