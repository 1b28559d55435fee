// Building DOM from data. Text always goes in as text nodes (never innerHTML), so names
// and audit details coming from the server cannot inject markup.

/**
 * h("tr", {class: "row", onclick: fn, "data-id": 3}, "text", childNode, [more, children])
 */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else if (child instanceof Node) node.appendChild(child);
    else node.appendChild(document.createTextNode(String(child)));
  }
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function show(node, text) {
  node.textContent = text;
  node.hidden = !text;
}

const dateTime = new Intl.DateTimeFormat("zh-CN", {
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hour12: false,
});

export function formatTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : dateTime.format(date);
}

/** A record's history (异常, 整改意见), oldest first: each event's time, then what
 * `describe(event)` says — `what` (who · what happened) and the nodes `below` it. */
export function timeline(testId, events, describe) {
  return h(
    "ol",
    { class: "timeline", "data-testid": testId },
    events.map((e) => {
      const { what, below = [] } = describe(e);
      return h("li", { "data-kind": e.kind }, h("span", { class: "when" }, formatTime(e.at)), h("span", { class: "what" }, what), below);
    }),
  );
}
