// 检查点: the checkpoints of the jurisdiction (borrower sites with a QR label and a GPS
// position). Filters by org, status and exit-point type, search, pages; select rows to print
// their QR labels, or print the labels of a whole org; open one for details and actions.
import { ApiError, api } from "../api.js";
import { clear, h, show } from "../dom.js";
import { renderDetail, positionBadge, statusBadge } from "./checkpoint-detail.js";
import {
  CLASSIFICATION_LABELS,
  EXIT_REASON_LABELS,
  downloadFile,
  editCheckpoint,
  ensureStylesheet,
} from "./checkpoint-dialogs.js";
import { jurisdictionOrgs, listAndDetail, orgFilter, pageSummary, pager } from "./list-detail.js";

const PAGE = 20;
const STATUS_FILTERS = [["", "全部"], ["active", "在检"], ["exited", "退出点"]];

export async function renderCheckpoints(container, { me, onError, path }) {
  ensureStylesheet();
  const canManage = me.permissions.includes("checkpoint.manage");
  const orgs = await jurisdictionOrgs(container, onError);
  if (!orgs) return;
  const subBranches = orgs.filter((org) => org.kind === "sub_branch");
  const state = { org_id: "", status: "", exit_reason: "", q: "", offset: 0 };
  const selected = new Set();
  let defaultRadius = null; // the global 误差范围, from the list's pages

  const listView = h("div", { class: "checkpoints-list" });
  const detailView = h("div", { class: "checkpoints-detail", hidden: true });
  container.append(listView, detailView);

  const orgSelect = orgFilter(orgs, { id: "cp-filter-org" });
  const statusButtons = STATUS_FILTERS.map(([value, label]) =>
    h("button", { type: "button", class: "btn", "aria-pressed": String(value === ""), "data-status": value }, label),
  );
  const reasonSelect = h(
    "select",
    { "aria-label": "退出点类型", id: "cp-filter-reason" },
    h("option", { value: "" }, "全部退出类型"),
    Object.entries(EXIT_REASON_LABELS).map(([value, label]) => h("option", { value }, label)),
  );
  const search = h("input", { type: "search", placeholder: "名称、编号或企业", "aria-label": "搜索检查点", maxlength: "100" });
  const message = h("p", { class: "form-error", role: "alert", hidden: true });
  const summary = h("span", { class: "muted", "data-testid": "checkpoint-count" });
  const printSelected = h("button", { type: "button", class: "btn", disabled: true }, "打印所选标签");
  const printOrg = h("button", { type: "button", class: "btn" }, "打印本机构标签");
  const body = h("div", { class: "checkpoints-body" });
  const pages = pager(PAGE, (offset) => reload(offset));

  listView.append(
    h(
      "section",
      { class: "card" },
      h(
        "div",
        { class: "card-head" },
        h("h2", {}, "检查点"),
        h("span", { class: "muted" }, "贷款企业的检查现场：二维码标签、GPS默认位置与退出点"),
        canManage ? h("button", { type: "button", class: "btn btn-primary head-action", onclick: create }, "新建检查点") : null,
      ),
      h(
        "form",
        { class: "filter-row", role: "search", onsubmit: onSearch },
        orgSelect,
        h("div", { class: "filters", role: "group", "aria-label": "按状态筛选" }, statusButtons),
        reasonSelect,
        search,
        h("button", { type: "submit", class: "btn" }, "查询"),
      ),
      h("div", { class: "checkpoint-tools" }, summary, h("span", { class: "spacer" }), printSelected, printOrg),
      message,
      body,
      pages.node,
    ),
  );

  function onSearch(event) {
    event.preventDefault();
    reload(0);
  }

  function updatePrintButtons() {
    printSelected.disabled = selected.size === 0;
    printSelected.textContent = selected.size ? `打印所选标签（${selected.size}）` : "打印所选标签";
    const org = orgs.find((o) => String(o.id) === (state.org_id || String(me.org.id)));
    printOrg.textContent = `打印${org ? `「${org.name}」` : "本机构"}全部标签`;
  }

  async function print(path, filename) {
    show(message, "");
    try {
      await downloadFile(path, filename);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) onError(err, message);
      else show(message, err instanceof ApiError ? err.detail : "下载失败，请稍后再试");
    }
  }

  printSelected.addEventListener("click", () =>
    print(`/api/v1/checkpoints/labels.pdf?ids=${[...selected].join(",")}`, "检查点二维码标签.pdf"),
  );
  printOrg.addEventListener("click", () => {
    const orgId = state.org_id || String(me.org.id);
    const org = orgs.find((o) => String(o.id) === orgId);
    print(`/api/v1/checkpoints/labels.pdf?org_id=${orgId}`, `${org ? org.name : "检查点"}-二维码标签.pdf`);
  });

  function table(items) {
    const toggleAll = h("input", { type: "checkbox", "aria-label": "全选本页" });
    const boxes = [];
    const rows = items.map((cp) => {
      const box = h("input", { type: "checkbox", "aria-label": `选择 ${cp.code}`, checked: selected.has(cp.id) });
      box.addEventListener("change", () => {
        if (box.checked) selected.add(cp.id);
        else selected.delete(cp.id);
        updatePrintButtons();
      });
      boxes.push([box, cp.id]);
      return h(
        "tr",
        { "data-code": cp.code },
        h("td", {}, box),
        h("td", { class: "mono nowrap" }, cp.code),
        h("td", {}, h("button", { type: "button", class: "link", onclick: () => openDetail(cp.id) }, cp.name)),
        h("td", {}, cp.customer_name),
        h("td", { class: "nowrap" }, cp.org_name),
        h("td", { class: "nowrap" }, CLASSIFICATION_LABELS[cp.classification] || "—"),
        h("td", {}, statusBadge(cp)),
        h("td", {}, positionBadge(cp)),
      );
    });
    toggleAll.addEventListener("change", () => {
      for (const [box, id] of boxes) {
        box.checked = toggleAll.checked;
        if (toggleAll.checked) selected.add(id);
        else selected.delete(id);
      }
      updatePrintButtons();
    });
    const headings = ["编号", "名称", "企业/借款人", "所属支行", "五级分类", "状态", "GPS"];
    return h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "table", "data-testid": "checkpoints-table" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, toggleAll), headings.map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, rows),
      ),
    );
  }

  async function reload(offset = state.offset) {
    state.offset = offset;
    state.org_id = orgSelect.value;
    state.exit_reason = reasonSelect.value;
    state.q = search.value.trim();
    for (const button of statusButtons) button.setAttribute("aria-pressed", String(button.dataset.status === state.status));
    reasonSelect.disabled = state.status === "active";
    const query = new URLSearchParams({ offset: String(state.offset), limit: String(PAGE) });
    for (const key of ["org_id", "status", "q"]) if (state[key]) query.set(key, state[key]);
    if (state.exit_reason && state.status !== "active") query.set("exit_reason", state.exit_reason);
    clear(body).append(h("p", { class: "loading" }, "加载中…"));
    show(message, "");
    let page;
    try {
      page = await api(`/api/v1/checkpoints?${query}`);
    } catch (err) {
      clear(body);
      onError(err, body);
      return;
    }
    defaultRadius = page.default_radius_m;
    clear(body).append(page.items.length ? table(page.items) : h("p", { class: "empty" }, canManage ? "没有符合条件的检查点，可点击「新建检查点」登记" : "没有符合条件的检查点"));
    summary.textContent = pageSummary(page, "个");
    pages.shown(page);
    updatePrintButtons();
  }

  // Back from a record: the list reloads only when something was changed there.
  let stale = false;
  const view = listAndDetail({
    section: "checkpoints",
    listView,
    detailView,
    renderDetail,
    reload: async () => {
      if (!stale) return;
      stale = false;
      await reload();
    },
    context: () => ({ me, onError, subBranches, defaultRadius, onChanged: () => (stale = true) }),
  });
  const openDetail = view.openDetail;

  async function create() {
    const created = await editCheckpoint({
      checkpoint: null,
      subBranches,
      defaultOrgId: subBranches.find((o) => String(o.id) === state.org_id)?.id ?? subBranches[0]?.id,
      defaultRadius,
    });
    if (!created) return;
    await reload();
    stale = true;
    await openDetail(created.id);
  }

  for (const button of statusButtons) {
    button.addEventListener("click", () => {
      state.status = button.dataset.status;
      reload(0);
    });
  }
  orgSelect.addEventListener("change", () => reload(0));
  reasonSelect.addEventListener("change", () => {
    if (reasonSelect.value && state.status !== "exited") state.status = "exited";
    reload(0);
  });
  await reload(0);
  await view.openFromPath(path);
}
