// 远程巡检: the remote inspections of the jurisdiction; inspectors open one about a checkpoint
// and go to its call page (/remote/{id}) to invite the enterprise contact and start the video.
import { ApiError, api } from "../api.js";
import { clear, formatTime, h, show } from "../dom.js";

const STATE_LABELS = { pending: "待开始", active: "进行中", ended: "已结束", cancelled: "已取消" };
const FILTERS = [["", "全部"], ["pending", "待开始"], ["active", "进行中"], ["ended", "已结束"], ["cancelled", "已取消"]];

function ensureStylesheet() {
  if (document.querySelector('link[href="/static/css/call.css"]')) return;
  document.head.append(h("link", { rel: "stylesheet", href: "/static/css/call.css" }));
}

function field(name, label, input) {
  input.id = `remote-${name}`;
  input.name = name;
  return h(
    "div",
    { class: "field" },
    h("label", { class: "field-label", for: input.id }, label),
    input,
    h("span", { class: "field-error", "data-error-for": name, hidden: true }),
  );
}

/** 新建远程巡检 about one checkpoint of the jurisdiction: its 支行 and borrower follow. */
function createForm(checkpoints, onError, preset) {
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const now = new Date();
  const checkpoint = h(
    "select",
    { required: true },
    h("option", { value: "" }, "请选择被检查企业的检查点"),
    checkpoints.map((c) => h("option", { value: String(c.id), selected: String(c.id) === preset }, `${c.customer_name} · ${c.name}（${c.code}）`)),
  );
  const title = h("input", { type: "text", maxlength: "100", required: true, autocomplete: "off", value: `${now.getFullYear()}年${now.getMonth() + 1}月远程贷后检查` });
  const form = h(
    "form",
    { class: "remote-create", novalidate: true, "aria-label": "新建远程巡检" },
    field("checkpoint_id", "被检查企业（检查点）", checkpoint),
    field("title", "巡检事项", title),
    h("button", { class: "btn btn-primary", type: "submit" }, "新建并进入"),
    error,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = { checkpoint_id: Number(checkpoint.value) || null, title: title.value.trim() };
    const missing = {};
    if (!values.checkpoint_id) missing.checkpoint_id = "请选择被检查企业的检查点";
    if (!values.title) missing.title = "请填写巡检事项";
    setFieldErrors(form, missing);
    show(error, "");
    if (Object.keys(missing).length) return;
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    try {
      const created = await api("/api/v1/remote-sessions", { method: "POST", body: values });
      window.location.assign(`/remote/${created.id}`);
    } catch (err) {
      submit.disabled = false;
      if (err instanceof ApiError && err.status === 401) {
        onError(err, error);
        return;
      }
      if (err instanceof ApiError) setFieldErrors(form, err.fieldErrors);
      show(error, err instanceof ApiError ? err.detail : "新建失败，请稍后再试");
    }
  });
  return form;
}

function setFieldErrors(form, errors) {
  for (const span of form.querySelectorAll("[data-error-for]")) {
    const message = errors[span.dataset.errorFor] || "";
    show(span, message);
    const input = form.elements[span.dataset.errorFor];
    if (input) input.setAttribute("aria-invalid", message ? "true" : "false");
  }
}

export async function renderRemote(container, { me, onError, query }) {
  ensureStylesheet();
  const canRun = me.permissions.includes("remote.run");
  let checkpoints = [];
  if (canRun) {
    try {
      checkpoints = (await api("/api/v1/checkpoints?limit=200&status=active")).items;
    } catch (err) {
      onError(err, container);
      return;
    }
  }
  const body = h("div", { class: "remote-body" });
  const filterButtons = FILTERS.map(([state, label]) =>
    h("button", { type: "button", class: "btn", "aria-pressed": String(state === ""), "data-state": state }, label),
  );
  container.append(
    h(
      "section",
      { class: "card" },
      h(
        "div",
        { class: "card-head" },
        h("h2", {}, "远程巡检"),
        h("span", { class: "muted" }, "与企业联系人视频连线查看现场，通话全程录音录像"),
      ),
      // "#/remote?checkpoint=ID" (发起远程巡检 from a task) picks that checkpoint.
      canRun ? createForm(checkpoints, onError, query?.get("checkpoint") || "") : null,
      h("div", { class: "filters", role: "group", "aria-label": "按状态筛选" }, filterButtons),
      body,
    ),
  );

  async function load(state) {
    for (const button of filterButtons) button.setAttribute("aria-pressed", String(button.dataset.state === state));
    clear(body).append(h("p", { class: "loading" }, "加载中…"));
    const query = state ? `?state=${encodeURIComponent(state)}` : "";
    let sessions;
    try {
      sessions = await api(`/api/v1/remote-sessions${query}`);
    } catch (err) {
      clear(body);
      onError(err, body);
      return;
    }
    clear(body);
    if (!sessions.length) {
      body.append(h("p", { class: "empty" }, canRun ? "暂无远程巡检，可在上方新建" : "暂无远程巡检"));
      return;
    }
    body.append(
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "table", "data-testid": "remote-sessions" },
          h("thead", {}, h("tr", {}, ["企业名称", "巡检事项", "状态", "创建时间", "操作"].map((t) => h("th", { scope: "col" }, t)))),
          h(
            "tbody",
            {},
            sessions.map((s) =>
              h(
                "tr",
                {},
                h("td", {}, s.enterprise_name),
                h("td", {}, s.title),
                h("td", {}, h("span", { class: `badge state-${s.state}` }, STATE_LABELS[s.state] || s.state)),
                h("td", { class: "nowrap" }, formatTime(s.created_at)),
                h(
                  "td",
                  {},
                  h(
                    "a",
                    { class: "btn", href: `/remote/${s.id}` },
                    canRun && (s.state === "pending" || s.state === "active") ? "进入通话" : "查看",
                  ),
                  s.state === "ended"
                    ? h("a", { class: "btn btn-ghost", href: `/replay/${s.id}`, "data-testid": "replay-link" }, "回放")
                    : null,
                ),
              ),
            ),
          ),
        ),
      ),
    );
  }

  for (const button of filterButtons) button.addEventListener("click", () => load(button.dataset.state));
  await load("");
}
