import { h } from "../dom.js";

export function renderPlaceholder(container, section) {
  container.append(
    h(
      "section",
      { class: "card placeholder" },
      h("span", { class: "badge badge-soon" }, "即将上线"),
      h("h2", {}, section.title),
      h("p", {}, section.summary),
      h("p", { class: "muted" }, "该功能正在建设中，上线后将在此处提供。"),
    ),
  );
}
