// 修改密码 dialog. The server checks the rules; its per-field errors appear under the fields.
import { ApiError, api, goToLogin } from "./api.js";
import { show } from "./dom.js";

export function setupPasswordDialog(openButton) {
  const dialog = document.getElementById("password-dialog");
  const form = document.getElementById("password-form");
  const submit = document.getElementById("password-submit");
  const formError = document.getElementById("password-error");
  const success = document.getElementById("password-success");
  const fields = ["current_password", "new_password", "confirm_password"];

  const errorNode = (name) => form.querySelector(`[data-error-for="${name}"]`);
  const input = (name) => form.elements.namedItem(name);

  function resetMessages() {
    for (const name of fields) {
      show(errorNode(name), "");
      input(name).removeAttribute("aria-invalid");
    }
    show(formError, "");
    show(success, "");
  }

  function fieldError(name, message) {
    show(errorNode(name), message);
    input(name).setAttribute("aria-invalid", "true");
  }

  openButton.addEventListener("click", () => {
    form.reset();
    resetMessages();
    submit.disabled = false;
    submit.hidden = false;
    dialog.showModal();
    input("current_password").focus();
  });
  document.getElementById("password-cancel").addEventListener("click", () => dialog.close());

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    resetMessages();
    const values = Object.fromEntries(fields.map((name) => [name, input(name).value]));
    let invalid = false;
    for (const name of fields) {
      if (!values[name]) {
        fieldError(name, "必填");
        invalid = true;
      }
    }
    if (!invalid && values.new_password !== values.confirm_password) {
      fieldError("confirm_password", "两次输入的新密码不一致");
      invalid = true;
    }
    if (invalid) return;
    submit.disabled = true;
    try {
      await api("/api/v1/auth/password", {
        method: "POST",
        body: { current_password: values.current_password, new_password: values.new_password },
      });
      form.reset();
      show(success, "密码已修改。您在其他设备上的登录已全部失效。");
      submit.hidden = true;
      document.getElementById("password-cancel").textContent = "关闭";
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        goToLogin("expired");
        return;
      }
      const byField = err instanceof ApiError ? err.fieldErrors : {};
      let shown = false;
      for (const name of fields) {
        if (byField[name]) {
          fieldError(name, byField[name]);
          shown = true;
        }
      }
      if (!shown) show(formError, err instanceof ApiError ? err.detail : "修改失败，请稍后再试");
      submit.disabled = false;
    }
  });

  dialog.addEventListener("close", () => {
    document.getElementById("password-cancel").textContent = "取消";
  });
}
