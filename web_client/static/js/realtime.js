// The console's Socket.IO connection (namespace /console, WebSocket only). The handshake
// carries the session cookie; the server pushes `session_revoked` when this login ends.
import { goToLogin } from "./api.js";

const STATUS_TEXT = {
  connecting: "连接中",
  connected: "实时在线",
  reconnecting: "重新连接中",
  offline: "已断开",
};

export function connectConsole(onStatus) {
  const report = (state) => onStatus(state, STATUS_TEXT[state]);
  if (typeof window.io !== "function") {
    report("offline");
    return null;
  }
  const socket = window.io("/console", {
    transports: ["websocket"],
    query: { lang: "zh" },
    reconnectionDelayMax: 10000,
  });
  report("connecting");
  socket.on("connect", () => report("connected"));
  socket.on("disconnect", (reason) => {
    // The server ends the socket when the session is revoked; the event said why.
    report(reason === "io server disconnect" ? "offline" : "reconnecting");
  });
  socket.on("connect_error", (err) => {
    if (err && err.message === "unauthenticated") {
      goToLogin("expired");
      return;
    }
    report("reconnecting");
  });
  socket.on("session_revoked", (data) => {
    socket.disconnect();
    goToLogin(data && data.reason === "logged_out" ? "logged_out" : "revoked");
  });
  return socket;
}
