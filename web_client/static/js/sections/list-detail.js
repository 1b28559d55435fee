// What the sections with a filtered list and one record's detail share (异常处理, 整改意见,
// 检查点, 检查任务): the jurisdiction's orgs as a filter, and the switch between the list and
// an open record whose id is in the address (#/section/{id}), so a link or a reload opens it
// again.
import { api } from "../api.js";
import { h } from "../dom.js";

/** The orgs of the caller's jurisdiction, or null after showing why they could not be had. */
export async function jurisdictionOrgs(container, onError) {
  try {
    return await api("/api/v1/orgs");
  } catch (err) {
    onError(err, container);
    return null;
  }
}

/** The orgs as options, indented by depth below the topmost. */
export function orgOptions(orgs) {
  const depth = (org) => org.path.split("/").filter(Boolean).length;
  const top = Math.min(...orgs.map(depth));
  return orgs.map((org) => h("option", { value: String(org.id) }, `${"　".repeat(depth(org) - top)}${org.name}`));
}

/** 机构 filter: 全部辖区 or one org (and the orgs below it). */
export function orgFilter(orgs, props = {}) {
  return h("select", { "aria-label": "机构", ...props }, h("option", { value: "" }, "全部辖区"), orgOptions(orgs));
}

/**
 * The list ⇄ detail switch of a section. `renderDetail(detailView, id, context)` draws the
 * record with `context()`'s members and an `onBack` that shows the list again and calls
 * `reload` (the section's list); `afterOpen` runs once a record is drawn. Pushes go to
 * `refresh(id)`: the open record is drawn again, else the list reloads (once for a burst).
 */
export function listAndDetail({ section, listView, detailView, renderDetail, reload, context = () => ({}), afterOpen = () => {} }) {
  let openId = null;
  let pending = null;

  function showList() {
    openId = null;
    detailView.hidden = true;
    listView.hidden = false;
    if (window.location.hash !== `#/${section}`) history.replaceState(null, "", `#/${section}`);
  }

  const detailContext = () => ({
    ...context(),
    onBack: async () => {
      showList();
      await reload();
    },
  });

  async function openDetail(id) {
    openId = Number(id);
    listView.hidden = true;
    detailView.hidden = false;
    if (window.location.hash !== `#/${section}/${id}`) history.replaceState(null, "", `#/${section}/${id}`);
    await renderDetail(detailView, openId, detailContext());
    afterOpen();
  }

  function refresh(id) {
    if (openId !== null && openId === id) {
      renderDetail(detailView, id, detailContext());
      return;
    }
    clearTimeout(pending);
    pending = setTimeout(() => {
      if (!listView.hidden) reload();
    }, 150);
  }

  /** Open the record the address names (the rest of the hash is its id), if any. */
  async function openFromPath(path) {
    if (/^\d+$/.test(path || "")) await openDetail(Number(path));
  }

  return { openDetail, openFromPath, refresh, showList };
}

/** 上一页 / 下一页 under a paged list: `go(offset)` loads a page, `shown(page)` follows each
 * page shown ({offset, items, total}); `summary(page, unit)` says 共 N 条，第 a–b 条. */
export function pager(size, go) {
  const prev = h("button", { type: "button", class: "btn" }, "上一页");
  const next = h("button", { type: "button", class: "btn" }, "下一页");
  let offset = 0;
  prev.addEventListener("click", () => go(Math.max(0, offset - size)));
  next.addEventListener("click", () => go(offset + size));
  return {
    node: h("div", { class: "table-foot pager" }, prev, next),
    shown(page) {
      offset = page.offset;
      prev.disabled = page.offset === 0;
      next.disabled = page.offset + page.items.length >= page.total;
    },
  };
}

export function pageSummary(page, unit, after = "") {
  const last = Math.min(page.offset + page.items.length, page.total);
  return page.total ? `共 ${page.total} ${unit}，第 ${page.offset + 1}–${last} ${unit}${after}` : `共 0 ${unit}`;
}
