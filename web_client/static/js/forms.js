// Dialog forms: a modal built on demand and removed when closed, labelled fields with their
// error line, and a submit that shows the server's per-field errors under the fields and
// keeps what was typed.
import { ApiError } from "./api.js";
import { h, show } from "./dom.js";

export function modal(title, ...content) {
  const dialog = h("dialog", { class: "dialog dialog-wide", "aria-label": title }, h("h2", {}, title), ...content);
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  return dialog;
}

/** A labelled field; `input` gets id `field-NAME` and the name the server's errors use. */
export function field(name, label, input, hint) {
  input.id = `field-${name}`;
  input.name = name;
  input.setAttribute("aria-describedby", `field-${name}-error`);
  return h(
    "div",
    { class: "field" },
    h("label", { class: "field-label", for: input.id }, label),
    input,
    hint ? h("span", { class: "hint" }, hint) : null,
    h("span", { class: "field-error", id: `field-${name}-error`, "data-error-for": name, hidden: true }),
  );
}

export function select(options, value) {
  return h(
    "select",
    {},
    options.map(([code, label]) => h("option", { value: code, selected: code === (value ?? "") }, label)),
  );
}

export function showFieldErrors(form, errors) {
  let shown = false;
  for (const span of form.querySelectorAll("[data-error-for]")) {
    const message = errors[span.dataset.errorFor] || "";
    show(span, message);
    // A radio group's name gives a RadioNodeList, which has no attributes to set.
    form.elements[span.dataset.errorFor]?.setAttribute?.("aria-invalid", message ? "true" : "false");
    shown = shown || Boolean(message);
  }
  return shown;
}

/**
 * Submit a dialog form: `collect()` gives the body, `send(body)` calls the API and its
 * result resolves the promise; a refusal shows its field errors and keeps what was typed.
 */
export function runForm(dialog, form, collect, send, resolve) {
  const formError = form.querySelector(".form-error");
  const submit = form.querySelector("button[type=submit]");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showFieldErrors(form, {});
    show(formError, "");
    submit.disabled = true;
    try {
      const result = await send(collect());
      resolve(result);
      dialog.close();
    } catch (err) {
      submit.disabled = false;
      const errors = err instanceof ApiError ? err.fieldErrors : {};
      const fieldShown = showFieldErrors(form, errors);
      show(formError, err instanceof ApiError ? (fieldShown ? "请修改标出的项目" : err.detail) : "保存失败，请稍后再试");
    }
  });
}

export function actions(submitLabel, onCancel) {
  return [
    h("p", { class: "form-error", role: "alert", hidden: true }),
    h(
      "div",
      { class: "dialog-actions" },
      h("button", { type: "button", class: "btn", onclick: onCancel }, "取消"),
      h("button", { type: "submit", class: "btn btn-primary" }, submitLabel),
    ),
  ];
}
