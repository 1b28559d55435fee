// 导航: a checkpoint's map links (Baidu BD-09, Amap GCJ-02), as the server builds them from
// its bound position (`navigation` of a checkpoint, null until the first on-site scan); and
// the link of a task's 开始检查 (我的任务 on the phone and in the console).
import { h } from "./dom.js";

/** 开始检查 of a task: the on-site page expecting its checkpoint, with the form of its plan
 * (a template id; none: the default 明白纸). */
export function onSiteLink(checkpointId, templateId = null) {
  const query = new URLSearchParams({ checkpoint: String(checkpointId) });
  if (templateId != null) query.set("template", String(templateId));
  return `/onsite?${query}`;
}

/** 百度地图导航 / 高德地图导航 links, or null while the checkpoint has no position. */
export function mapLinks(navigation, { small = false } = {}) {
  if (!navigation) return null;
  const link = (href, label) =>
    h("a", { class: small ? "btn btn-small" : "btn", href, target: "_blank", rel: "noopener noreferrer" }, label);
  return h(
    "div",
    { class: "nav-links", "data-testid": "navigation" },
    link(navigation.baidu, "百度地图导航"),
    link(navigation.amap, "高德地图导航"),
  );
}
