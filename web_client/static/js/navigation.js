// 导航: a checkpoint's map links (Baidu BD-09, Amap GCJ-02), as the server builds them from
// its bound position (`navigation` of a checkpoint, null until the first on-site scan).
import { h } from "./dom.js";

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
