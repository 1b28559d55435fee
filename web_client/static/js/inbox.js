// 消息: the unread badges in the navigation and a short notice for each new notification,
// kept current from the /console pushes; open sections subscribe with onPush() to refresh
// what they show when something in it changes.
import { api } from "./api.js";
import { h } from "./dom.js";

// supervision_changed: an inspection landed in the jurisdiction (实时监管 refreshes);
// sheet_unlock_updated: a 明白纸 unlock request was made or decided.
const PUSHES = ["notification_created", "notifications_changed", "anomaly_updated", "supervision_changed", "sheet_unlock_updated"];
const BADGE_PUSHES = new Set(["notification_created", "notifications_changed"]);
const listeners = new Set();
const NOTICE_MS = 8000;

/** `fn(event, data)` for every push; returns the function that stops it. */
export function onPush(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Like onPush, for a section: stops by itself once `container` has left the page. */
export function onPushWhileShown(container, fn) {
  const stop = onPush((event, data) => {
    if (!container.isConnected) {
      stop();
      return;
    }
    fn(event, data);
  });
  return stop;
}

let counting = null;
export async function refreshBadges() {
  // One request at a time; a push arriving meanwhile asks again once it is done.
  if (counting) {
    counting.again = true;
    return;
  }
  counting = { again: false };
  try {
    const counts = await api("/api/v1/notifications/unread-count");
    for (const badge of document.querySelectorAll("[data-badge]")) {
      const unread = counts[badge.dataset.badge] || 0;
      badge.textContent = unread > 99 ? "99+" : String(unread);
      badge.title = `${unread} 条未读消息`;
      badge.hidden = unread === 0;
    }
  } catch {
    // The console shows its own connection state; the next push or reconnect tries again.
  } finally {
    const again = counting.again;
    counting = null;
    if (again) refreshBadges();
  }
}

function linkOf(note) {
  if (note.anomaly_id) return `#/anomalies/${note.anomaly_id}`;
  if (note.rectification_id) return `#/rectifications/${note.rectification_id}`;
  if (note.kind && note.kind.startsWith("sheet_unlock")) return "#/unlocks";
  return null;
}

function showNotice(note) {
  let tray = document.getElementById("notice-tray");
  if (!tray) {
    tray = h("div", { id: "notice-tray", class: "notice-tray", role: "status", "aria-live": "polite" });
    document.body.append(tray);
  }
  const href = linkOf(note);
  const notice = h(
    "div",
    { class: "notice-card", "data-kind": note.kind },
    h("strong", {}, note.title),
    note.body ? h("span", {}, note.body) : null,
    href ? h("a", { href, onclick: () => notice.remove() }, "查看") : null,
  );
  tray.append(notice);
  setTimeout(() => notice.remove(), NOTICE_MS);
}

export function setupInbox(socket) {
  if (!socket) {
    refreshBadges();
    return;
  }
  for (const event of PUSHES) {
    socket.on(event, (data) => {
      if (BADGE_PUSHES.has(event)) refreshBadges();
      if (event === "notification_created") showNotice(data);
      for (const fn of [...listeners]) fn(event, data);
    });
  }
  // Counted when the socket is connected, not before as well (the console asked twice):
  // no push can slip in between the count and the subscription, and after a reconnect
  // it counts what arrived while the connection was down. Without a connection the
  // badges are counted all the same.
  socket.on("connect", refreshBadges);
  socket.once("connect_error", refreshBadges);
}
