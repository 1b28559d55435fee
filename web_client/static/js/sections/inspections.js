// 检查记录: the jurisdiction's inspections (现场检查, 企业自检, 远程巡检) with filters by state,
// kind, org and checkpoint; one opens at #/inspections/{id}. Inspectors open 企业自检 here:
// a link for the enterprise contact's phone.
import { ApiError, api } from "../api.js";
import { clear, formatTime, h, show } from "../dom.js";
import { CONCLUSION_LABELS } from "../inspection-form.js";
import { KIND_LABELS, STATE_LABELS, renderInspectionDetail, stateBadge } from "./inspection-detail.js";

const PAGE = 20;

function ensureStylesheet() {
  if (document.querySelector('link[href="/static/css/inspections.css"]')) return;
  document.head.append(h("link", { rel: "stylesheet", href: "/static/css/inspections.css" }));
}

function select(label, options, id) {
  return h("select", { "aria-label": label, id }, h("option", { value: "" }, `全部${label}`), options.map(([value, text]) => h("option", { value: String(value) }, text)));
}

async function openSelfCheck(checkpoints, onDone) {
  const located = checkpoints.filter((c) => c.latitude !== null && c.status === "active");
  const checkpoint = h("select", { name: "checkpoint_id", id: "sc-checkpoint" }, located.map((c) => h("option", { value: String(c.id) }, `${c.name}（${c.code}）`)));
  const contact = h("input", { name: "contact_name", id: "sc-contact", maxlength: "64", autocomplete: "off" });
  const expiry = h(
    "select",
    { name: "expires_in_minutes", id: "sc-expiry" },
    [[120, "2 小时"], [1440, "1 天"], [4320, "3 天"], [10080, "7 天"]].map(([v, t]) => h("option", { value: String(v), selected: v === 1440 }, t)),
  );
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const result = h("div", { hidden: true, "data-testid": "self-check-link" });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "生成自检链接");
  const form = h(
    "form",
    { class: "form", method: "dialog", novalidate: true },
    h("h2", {}, "发起企业自检"),
    h("p", { class: "hint" }, "企业联系人用手机打开链接，在检查点现场定位、填写检查表并实时拍摄取证。链接仅限一台手机使用。"),
    h("div", { class: "field" }, h("label", { class: "field-label", for: "sc-checkpoint" }, "检查点（已定位）"), checkpoint),
    h("div", { class: "field" }, h("label", { class: "field-label", for: "sc-contact" }, "企业联系人"), contact),
    h("div", { class: "field" }, h("label", { class: "field-label", for: "sc-expiry" }, "链接有效期"), expiry),
    error,
    result,
    h("div", { class: "dialog-actions" }, h("button", { type: "button", class: "btn", onclick: () => dialog.close() }, "关闭"), submit),
  );
  const dialog = h("dialog", { class: "dialog", "aria-label": "发起企业自检" }, form);
  document.body.append(dialog);
  dialog.addEventListener("close", () => dialog.remove());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    show(error, "");
    if (!contact.value.trim()) {
      show(error, "请填写企业联系人姓名");
      return;
    }
    submit.disabled = true;
    try {
      const created = await api("/api/v1/inspections/self-check", {
        method: "POST",
        body: { checkpoint_id: Number(checkpoint.value), contact_name: contact.value.trim(), expires_in_minutes: Number(expiry.value) },
      });
      const qr = URL.createObjectURL(new Blob([created.qr_svg], { type: "image/svg+xml" }));
      result.replaceChildren(
        h("img", { src: qr, alt: "自检链接二维码", width: "168", height: "168" }),
        h("input", { class: "mono", readonly: true, value: created.url, "aria-label": "自检链接（仅显示一次）" }),
        h("p", { class: "hint" }, `有效期至 ${formatTime(created.expires_at)}。通过微信或短信发送给企业联系人。`),
      );
      result.hidden = false;
      submit.hidden = true;
      onDone();
    } catch (err) {
      show(error, err instanceof ApiError ? err.detail : "生成失败，请稍后再试");
      submit.disabled = false;
    }
  });
  dialog.showModal();
}

export async function renderInspections(container, { me, onError, path, query }) {
  ensureStylesheet();
  if (path) {
    await renderInspectionDetail(container, Number(path), { onBack: () => (window.location.hash = "#/inspections"), onError });
    return;
  }
  let orgs;
  let checkpoints;
  try {
    orgs = await api("/api/v1/orgs");
    checkpoints = (await api("/api/v1/checkpoints?limit=200")).items;
  } catch (err) {
    onError(err, container);
    return;
  }
  const state = { offset: 0 };
  const filters = {
    state: select("状态", Object.entries(STATE_LABELS), "in-filter-state"),
    kind: select("类型", Object.entries(KIND_LABELS), "in-filter-kind"),
    org_id: select("机构", orgs.map((o) => [o.id, o.name]), "in-filter-org"),
    checkpoint_id: select("检查点", checkpoints.map((c) => [c.id, `${c.name}（${c.code}）`]), "in-filter-checkpoint"),
  };
  const body = h("div");
  const summary = h("span", { class: "muted", "data-testid": "inspection-count" });
  const prev = h("button", { type: "button", class: "btn", onclick: () => load(state.offset - PAGE) }, "上一页");
  const next = h("button", { type: "button", class: "btn", onclick: () => load(state.offset + PAGE) }, "下一页");
  const canRun = me.permissions.includes("inspection.run");
  container.append(
    h(
      "section",
      { class: "card" },
      h(
        "div",
        { class: "card-head" },
        h("h2", {}, "检查记录"),
        h("span", { class: "muted" }, "现场检查、企业自检与远程巡检的检查表、取证与审核"),
        canRun ? h("button", { type: "button", class: "btn btn-primary head-action", onclick: () => openSelfCheck(checkpoints, () => load(0)) }, "发起企业自检") : null,
      ),
      h("div", { class: "filter-row", role: "search" }, Object.values(filters)),
      body,
      h("div", { class: "pager" }, summary, prev, next),
    ),
  );
  // A link may preset the filters ("#/inspections?state=submitted" is a reviewer's 待审核).
  for (const [name, control] of Object.entries(filters)) {
    const preset = query && query.get(name);
    if (preset && [...control.options].some((o) => o.value === preset)) control.value = preset;
    control.addEventListener("change", () => load(0));
  }

  async function load(offset) {
    state.offset = Math.max(0, offset);
    const query = new URLSearchParams({ offset: String(state.offset), limit: String(PAGE) });
    for (const [name, control] of Object.entries(filters)) if (control.value) query.set(name, control.value);
    let page;
    try {
      page = await api(`/api/v1/inspections?${query}`);
    } catch (err) {
      onError(err, body);
      return;
    }
    summary.textContent = `共 ${page.total} 条`;
    prev.disabled = state.offset === 0;
    next.disabled = state.offset + PAGE >= page.total;
    if (!page.items.length) {
      clear(body).append(h("p", { class: "empty" }, "没有符合条件的检查记录"));
      return;
    }
    clear(body).append(
      h(
        "table",
        { class: "table", "data-testid": "inspection-table" },
        h("thead", {}, h("tr", {}, ["检查点", "类型", "状态", "检查人员", "开始时间", "提交时间", "结论", "异常"].map((t) => h("th", {}, t)))),
        h(
          "tbody",
          {},
          page.items.map((i) =>
            h(
              "tr",
              {},
              h("td", {}, h("a", { class: "link", href: `#/inspections/${i.id}` }, i.checkpoint_name), h("div", { class: "muted" }, `${i.checkpoint_code} · ${i.org_name}`)),
              h("td", {}, KIND_LABELS[i.kind], i.offline ? h("span", { class: "badge", title: "离线检查，网络恢复后同步" }, "离线提交") : null),
              h("td", {}, stateBadge(i)),
              h("td", {}, i.inspector_name),
              h("td", {}, formatTime(i.started_at)),
              h("td", {}, i.submitted_at ? formatTime(i.submitted_at) : "—"),
              h("td", {}, CONCLUSION_LABELS[i.conclusion] || "—"),
              h("td", {}, i.findings_count ? h("span", { class: "badge state-returned" }, String(i.findings_count)) : "—"),
            ),
          ),
        ),
      ),
    );
  }
  await load(0);
}
