// A dialog with a small form (comment, date, choice…) for one action: the server checks
// every rule; its per-field errors appear under the fields and what was typed is kept.
import { ApiError } from "../api.js";
import { h, show } from "../dom.js";

let counter = 0;

function control(field, id) {
  const common = { id, name: field.name, "aria-describedby": `${id}-error` };
  if (field.kind === "textarea") {
    return h("textarea", { ...common, rows: field.rows || 4, maxlength: field.maxlength || 2000, placeholder: field.placeholder }, field.value || "");
  }
  if (field.kind === "select") {
    return h(
      "select",
      common,
      field.options.map(([value, label]) => h("option", { value: String(value), selected: String(value) === String(field.value ?? "") }, label)),
    );
  }
  return h("input", {
    ...common,
    type: field.kind || "text",
    value: field.value ?? "",
    min: field.min,
    maxlength: field.maxlength,
    placeholder: field.placeholder,
    autocomplete: "off",
  });
}

/**
 * Ask for `fields` ([{name, label, kind: text|textarea|select|date|number, options, value,
 * hint, required}]) and call `send(values)`; resolves with its result, or null when
 * cancelled. `intro` is shown above the fields.
 */
export function formDialog({ title, intro, fields, submitLabel, send, wide = false }) {
  return new Promise((resolve) => {
    const prefix = `fd${++counter}`;
    const formError = h("p", { class: "form-error", role: "alert", hidden: true });
    const submit = h("button", { type: "submit", class: "btn btn-primary" }, submitLabel);
    const cancel = h("button", { type: "button", class: "btn" }, "取消");
    const form = h(
      "form",
      { class: "form", novalidate: true },
      intro ? h("p", { class: "hint" }, intro) : null,
      fields.map((field) => {
        const id = `${prefix}-${field.name}`;
        return h(
          "div",
          { class: "field" },
          h("label", { class: "field-label", for: id }, field.label),
          control(field, id),
          field.hint ? h("span", { class: "hint" }, field.hint) : null,
          h("span", { class: "field-error", id: `${id}-error`, "data-error-for": field.name, hidden: true }),
        );
      }),
      formError,
      h("div", { class: "dialog-actions" }, cancel, submit),
    );
    const dialog = h("dialog", { class: `dialog${wide ? " dialog-wide" : ""}`, "aria-label": title }, h("h2", {}, title), form);
    let result = null;
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(result);
    });
    cancel.addEventListener("click", () => dialog.close());

    const showErrors = (errors) => {
      let any = false;
      for (const span of form.querySelectorAll("[data-error-for]")) {
        const message = errors[span.dataset.errorFor] || "";
        show(span, message);
        form.elements[span.dataset.errorFor]?.setAttribute("aria-invalid", message ? "true" : "false");
        any = any || Boolean(message);
      }
      return any;
    };

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const values = {};
      const missing = {};
      for (const field of fields) {
        const raw = form.elements[field.name].value;
        values[field.name] = field.kind === "select" || field.kind === "date" ? raw : raw.trim();
        if (field.required && !values[field.name]) missing[field.name] = `请填写${field.label}`;
      }
      show(formError, "");
      if (showErrors(missing)) return;
      submit.disabled = true;
      try {
        result = await send(values);
        dialog.close();
      } catch (err) {
        submit.disabled = false;
        const shown = err instanceof ApiError && showErrors(err.fieldErrors);
        show(formError, err instanceof ApiError ? (shown ? "请修改标出的项目" : err.detail) : "操作失败，请稍后再试");
      }
    });
    document.body.append(dialog);
    dialog.showModal();
    form.querySelector("textarea, input, select")?.focus();
  });
}

/** Labels for timestamps and answers. */
export function answerText(answer) {
  if (answer === null || answer === undefined || answer === "") return "—";
  if (answer === true) return "是";
  if (answer === false) return "否";
  if (Array.isArray(answer)) return answer.join("、");
  if (typeof answer === "object") {
    return Object.entries(answer)
      .map(([key, value]) => `${key}：${answerText(value)}`)
      .join("；");
  }
  return String(answer);
}

export function ensureStylesheet() {
  if (document.querySelector('link[href="/static/css/anomalies.css"]')) return;
  document.head.append(h("link", { rel: "stylesheet", href: "/static/css/anomalies.css" }));
}
