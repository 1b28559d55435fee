// The video call core shared by the inspector's page and the contact's phone page:
// Socket.IO `/call` signaling, one RTCPeerConnection per other participant with the W3C
// "perfect negotiation" pattern, ICE restarts, rejoining after a network drop, and
// connection-quality figures from getStats. Pages listen to its events and draw.
//
// Events (CustomEvent.detail): "state" (the snapshot below), "remotestream"
// {participantId, stream, peer}, "peermedia" {participantId, audio, video, facing},
// "peerstate" {participantId, peer, state: "joined" | "reconnecting" | "back" | "left",
// reason}, "stats" (stats), "joined" {rejoin}, "ended" {reason}, "error" {code, message, fatal}.
// The same snapshot is readable (read-only) as window.loancheckCall, for support and tests.
import { PeerLink } from "./peer-link.js";

const JOIN_TIMEOUT_MS = 10000;
const STATS_EVERY_MS = 2000;
const DEVICE_KEY = "loancheck.device_id";
// Refusals a retry can fix (the server was busy or the socket changed under us); any other
// join_call or handshake refusal (link expired, call ended, no permission…) is final.
const RETRYABLE_CODES = new Set(["internal_error", "rate_limited", "not_joined", "already_joined", "connect_error"]);
const JOIN_RETRY_MS = 2000;
const OUTBOX_MAX = 200;

/** A random id for this browser, kept in localStorage (the invite binds to it). */
export function deviceId() {
  let id = null;
  try {
    id = window.localStorage.getItem(DEVICE_KEY);
  } catch {
    // storage blocked (private mode): a per-page id still works until the page reloads
  }
  if (!id || !/^[A-Za-z0-9_-]{16,64}$/.test(id)) {
    const bytes = crypto.getRandomValues(new Uint8Array(16)); // randomUUID needs https
    id = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    try {
      window.localStorage.setItem(DEVICE_KEY, id);
    } catch {
      // see above
    }
  }
  return id;
}

function errorOf(response, fallback) {
  const error = (response && response.error) || {};
  return {
    code: error.code || "error",
    message: error.detail || error.message || fallback,
  };
}

/** What to tell a person whose getUserMedia failed. */
export function mediaErrorText(err) {
  const name = err && err.name;
  if (!window.isSecureContext || !navigator.mediaDevices) {
    return "当前浏览器无法使用摄像头（需要 https 安全连接或更新浏览器），请换用系统浏览器打开此链接。";
  }
  if (name === "NotAllowedError" || name === "SecurityError") {
    return "浏览器未允许使用摄像头和麦克风，请在浏览器的权限设置中允许后刷新页面。";
  }
  if (name === "NotFoundError" || name === "OverconstrainedError") return "未找到可用的摄像头或麦克风。";
  if (name === "NotReadableError" || name === "AbortError") {
    return "摄像头或麦克风正被其他应用占用，请关闭其他应用（如相机、通话）后重试。";
  }
  return "无法打开摄像头和麦克风，请刷新页面后重试。";
}

/** "良好" / "一般" / "较差" from round-trip time and packet loss. */
export function qualityOf(stats) {
  if (!stats || stats.rttMs === null) return { level: "unknown", text: "检测中" };
  if (stats.rttMs < 200 && stats.lossPercent < 2) return { level: "good", text: "良好" };
  if (stats.rttMs < 500 && stats.lossPercent < 8) return { level: "fair", text: "一般" };
  return { level: "poor", text: "较差" };
}

export class Call extends EventTarget {
  /**
   * @param {object} options
   * @param {MediaStream} options.stream  the local camera and microphone
   * @param {number} [options.sessionId]  staff join a session by id (cookie auth)
   * @param {string} [options.invite]     contacts join by invite token
   */
  constructor({ stream, sessionId = null, invite = null, facing = null }) {
    super();
    this.stream = stream;
    this.sessionId = sessionId;
    this.invite = invite;
    this.deviceId = deviceId();
    this.facing = facing;
    this.socket = null;
    this.participantId = null;
    this.polite = Boolean(invite);
    this.iceServers = [];
    this.links = new Map();
    this.outbox = [];
    this.phase = "idle"; // idle → connecting → joined ⇄ reconnecting → ended | failed
    this.joined = false;
    this.joins = 0;
    this.statsTimer = null;
    this.lastStats = null;
    this.joinsWhenOffline = null; // set while the device says it is offline
    this.onOnline = () => this.backOnline();
    this.onOffline = () => {
      this.joinsWhenOffline = this.joins;
      if (this.phase === "joined") this.setPhase("reconnecting");
    };
    this.publish();
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  log(message, err) {
    // Visible in the browser's console for support, never an error the page stops on.
    console.warn(`[call] ${message}`, err && err.message ? err.message : err);
  }

  setPhase(phase) {
    if (this.phase === "ended" || this.phase === "failed") return;
    this.phase = phase;
    this.publish();
  }

  /** Connect and join; resolves once joined the first time (rejects on a fatal refusal). */
  start() {
    if (typeof window.io !== "function") {
      return Promise.reject(Object.assign(new Error("实时通信组件加载失败，请刷新页面"), { code: "no_socket" }));
    }
    this.setPhase("connecting");
    const socket = window.io("/call", {
      transports: ["websocket"],
      query: { lang: "zh" },
      auth: this.invite ? { invite: this.invite, device_id: this.deviceId } : {},
      reconnectionDelay: 500,
      reconnectionDelayMax: 4000,
      timeout: 8000,
    });
    this.socket = socket;
    const firstJoin = new Promise((resolve, reject) => {
      this.addEventListener("joined", resolve, { once: true });
      this.addEventListener("error", (e) => {
        if (e.detail.fatal) reject(Object.assign(new Error(e.detail.message), e.detail));
      });
    });
    socket.on("connect", () => this.join());
    socket.on("disconnect", (reason) => this.onDisconnect(reason));
    socket.on("connect_error", (err) => this.onConnectError(err));
    socket.on("signal", (data) => this.onSignal(data));
    socket.on("peer_joined", (peer) => this.onPeerJoined(peer));
    socket.on("peer_reconnecting", (data) => this.markReconnecting(data && data.participant_id, true));
    socket.on("peer_reconnected", (data) => this.markReconnecting(data && data.participant_id, false));
    socket.on("peer_left", (data) => this.onPeerLeft(data));
    socket.on("media", (data) => {
      this.markReconnecting(data.participant_id, false);
      this.emit("peermedia", { participantId: data.participant_id, ...data });
    });
    socket.on("call_ended", (data) => this.finish((data && data.reason) || "ended"));
    // Removed by the bank (its invite revoked): this participant's call is over.
    socket.on("removed", () => this.finish("removed"));
    socket.on("error", (data) => this.log("server error", data));
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
    this.statsTimer = setInterval(() => this.collectStats(), STATS_EVERY_MS);
    return firstJoin;
  }

  async join() {
    const payload = { device_id: this.deviceId };
    if (this.sessionId !== null) payload.session_id = this.sessionId;
    let response;
    try {
      response = await this.socket.timeout(JOIN_TIMEOUT_MS).emitWithAck("join_call", payload);
    } catch {
      if (this.phase === "ended" || this.phase === "failed") return;
      this.log("join_call timed out; retrying on a new connection");
      this.socket.disconnect().connect();
      return;
    }
    if (!response || !response.ok) {
      const error = errorOf(response, "加入通话失败");
      const retry = RETRYABLE_CODES.has(error.code);
      this.fail(error.code, error.message, !retry);
      if (retry) setTimeout(() => this.socket && this.socket.disconnect().connect(), JOIN_RETRY_MS);
      return;
    }
    const rejoin = this.joins > 0;
    this.joins += 1;
    this.joined = true;
    this.participantId = response.participant_id;
    this.polite = Boolean(response.polite);
    this.iceServers = response.ice_servers || [];
    for (const link of this.links.values()) link.pc.setConfiguration({ iceServers: this.iceServers });
    const present = new Set();
    for (const peer of response.peers || []) {
      present.add(peer.participant_id);
      this.ensureLink(peer);
      if (peer.media) this.emit("peermedia", { participantId: peer.participant_id, ...peer.media });
    }
    // Absent from the list: gone while we were away (its peer_left was missed), or itself
    // reconnecting (held slot, it will announce itself). Media still flowing means the latter.
    for (const [id, link] of this.links) {
      if (!present.has(id) && link.pc.connectionState !== "connected") this.dropLink(id, "left");
    }
    const queued = this.outbox.splice(0);
    for (const [to, data] of queued) this.sendSignal(to, data);
    this.announceMedia();
    if (rejoin) {
      for (const link of this.links.values()) if (link.needsRestart()) link.restartIce();
    }
    this.setPhase("joined");
    this.emit("joined", { rejoin });
  }

  ensureLink(peer) {
    let link = this.links.get(peer.participant_id);
    if (!link || link.pc.connectionState === "closed") {
      link = new PeerLink(this, peer);
      this.links.set(peer.participant_id, link);
      this.publish();
    } else {
      link.peer = { ...link.peer, ...peer };
    }
    return link;
  }

  dropLink(id, reason) {
    const link = this.links.get(id);
    if (!link) return;
    const wasMain = link === this.mainLink();
    link.close();
    this.links.delete(id);
    if (wasMain) this.lastStats = null; // a new connection counts its frames from zero
    this.emit("peerstate", { participantId: id, state: "left", reason, peer: link.peer });
    this.publish();
  }

  onPeerJoined(peer) {
    const known = this.links.get(peer.participant_id);
    // A peer that reloaded its page has a new connection: ours to it is dead, start over.
    if (known && ["failed", "closed"].includes(known.pc.connectionState)) this.dropLink(peer.participant_id, "rejoined");
    // A recorder that (re)joined (another took the call over) listens on a new connection.
    else if (known && peer.kind === "recorder") known.rebuild();
    this.ensureLink(peer);
    this.markReconnecting(peer.participant_id, false);
    if (peer.media) this.emit("peermedia", { participantId: peer.participant_id, ...peer.media });
    this.emit("peerstate", { participantId: peer.participant_id, state: "joined", peer });
  }

  markReconnecting(id, reconnecting) {
    const link = this.links.get(id);
    if (!link || link.reconnecting === reconnecting) return;
    link.reconnecting = reconnecting;
    this.publish();
    this.emit("peerstate", { participantId: id, state: reconnecting ? "reconnecting" : "back", peer: link.peer });
  }

  onPeerLeft(data) {
    this.dropLink(data.participant_id, data.reason || "left");
  }

  async onSignal(data) {
    if (!data || data.from === undefined) return;
    const link = this.links.get(data.from) || this.ensureLink({ participant_id: data.from, kind: "unknown" });
    this.markReconnecting(data.from, false);
    const hadRemote = Boolean(link.pc.remoteDescription);
    const applied = await link.receive(data);
    if (!applied && hadRemote && data.description && data.description.type === "offer") {
      // An offer our connection cannot take comes from a peer that reloaded its page (new
      // DTLS identity, new m-lines): only a fresh connection can answer it.
      this.dropLink(data.from, "rejoined");
      await this.ensureLink(link.peer).receive(data);
    }
  }

  sendSignal(to, data) {
    if (!this.joined || !this.socket || !this.socket.connected) {
      // Sent after the next join_call; a long outage keeps only the newest messages.
      this.outbox.push([to, data]);
      if (this.outbox.length > OUTBOX_MAX) this.outbox.shift();
      return;
    }
    this.socket.emit("send_signal", { to, ...data }, (ack) => {
      if (ack && !ack.ok) this.log("send_signal refused", ack.error);
    });
  }

  onDisconnect(reason) {
    this.joined = false;
    if (this.phase === "ended" || this.phase === "failed") return;
    if (reason === "io server disconnect") {
      // The server closed this socket on purpose (the same participant joined from another
      // page, or abuse): reconnecting would only take the slot back and forth.
      this.fail("server_disconnect", "通话连接已被服务器断开（可能已在其他页面加入通话），请刷新页面", true);
      return;
    }
    this.setPhase("reconnecting");
  }

  onConnectError(err) {
    // A refusal by the server carries its reason in `data`; anything else is the network.
    const code = err && err.data && err.data.code ? err.data.code : "connect_error";
    if (!RETRYABLE_CODES.has(code)) {
      const message = (err.data && (err.data.detail || err.data.message)) || "无法加入通话";
      this.fail(code, message, true);
      return;
    }
    this.setPhase(this.joins > 0 ? "reconnecting" : "connecting");
  }

  /** The device is back online. A network change usually leaves the socket's TCP
   * connection dead without telling anyone (the heartbeat notices only after ~45 s), so
   * start a fresh one now and rejoin as the same participant. */
  backOnline() {
    const joinsBefore = this.joinsWhenOffline;
    this.joinsWhenOffline = null;
    if (!this.socket || joinsBefore === null || this.phase === "ended" || this.phase === "failed") return;
    if (this.socket.connected && this.joins > joinsBefore) return; // already rejoined meanwhile
    if (this.socket.connected) this.socket.disconnect();
    this.socket.connect();
  }

  fail(code, message, fatal) {
    this.emit("error", { code, message, fatal });
    if (fatal) {
      this.teardown();
      this.phase = "failed";
      this.publish();
    }
  }

  finish(reason) {
    if (this.phase === "ended") return;
    this.teardown();
    this.phase = "ended";
    this.publish();
    this.emit("ended", { reason });
  }

  teardown() {
    clearInterval(this.statsTimer);
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    for (const id of [...this.links.keys()]) {
      this.links.get(id).close();
      this.links.delete(id);
    }
    if (this.socket) {
      this.socket.off();
      this.socket.disconnect();
    }
    for (const track of this.stream ? this.stream.getTracks() : []) track.stop();
  }

  /** 结束通话 (inspector): the server ends the session and tells the room. */
  async endCall() {
    const response = await this.socket.timeout(JOIN_TIMEOUT_MS).emitWithAck("end_call", {});
    if (!response || !response.ok) throw Object.assign(new Error(errorOf(response, "结束通话失败").message), errorOf(response));
    this.finish("ended_by_me");
  }

  /** Hang up without ending the session (the contact's 退出). */
  async leave() {
    if (this.socket && this.socket.connected) {
      try {
        await this.socket.timeout(3000).emitWithAck("leave_call", {});
      } catch {
        // leaving anyway: the server times the slot out
      }
    }
    this.finish("left");
  }

  track(kind) {
    return this.stream ? this.stream.getTracks().find((t) => t.kind === kind) || null : null;
  }

  setAudio(enabled) {
    const track = this.track("audio");
    if (track) track.enabled = enabled;
    this.announceMedia();
  }

  setVideo(enabled) {
    const track = this.track("video");
    if (track) track.enabled = enabled;
    this.announceMedia();
  }

  /** Swap the camera (front ↔ rear) on every connection without renegotiating. */
  async replaceVideoTrack(track, facing) {
    const old = this.track("video");
    if (old) {
      this.stream.removeTrack(old);
      old.stop();
    }
    track.enabled = old ? old.enabled : true;
    this.stream.addTrack(track);
    this.facing = facing;
    for (const link of this.links.values()) {
      const sender = link.videoSender();
      if (sender) await sender.replaceTrack(track);
    }
    this.announceMedia();
  }

  mediaState() {
    const audio = this.track("audio");
    const video = this.track("video");
    const state = { audio: Boolean(audio && audio.enabled), video: Boolean(video && video.enabled) };
    if (this.facing) state.facing = this.facing;
    return state;
  }

  announceMedia() {
    if (!this.joined || !this.socket || !this.socket.connected) return; // sent after joining
    this.socket.emit("set_media", this.mediaState(), (ack) => {
      if (ack && !ack.ok) this.log("set_media refused", ack.error);
    });
  }

  /** The link to the other person (not the recorder): what the page shows. */
  mainLink() {
    for (const link of this.links.values()) if (link.peer.kind !== "recorder") return link;
    return null;
  }

  async collectStats() {
    const link = this.mainLink();
    if (!link) return;
    try {
      this.lastStats = await link.sample();
    } catch (err) {
      this.log("getStats failed", err);
      return;
    }
    this.publish();
    this.emit("stats", this.lastStats);
  }

  /** Refresh the read-only window.loancheckCall snapshot and tell the page. */
  publish() {
    const main = this.mainLink();
    const stats = this.lastStats;
    const snapshot = Object.freeze({
      phase: this.phase,
      participantId: this.participantId,
      polite: this.polite,
      socketConnected: Boolean(this.socket && this.socket.connected),
      joins: this.joins,
      connectionState: main ? main.pc.connectionState : "new",
      iceConnectionState: main ? main.pc.iceConnectionState : "new",
      iceRestarts: main ? main.iceRestarts : 0,
      peerReconnecting: main ? main.reconnecting : false,
      peers: Object.freeze(
        [...this.links.values()].map((l) =>
          Object.freeze({
            participantId: l.id,
            kind: l.peer.kind,
            displayName: l.peer.display_name || "",
            connectionState: l.pc.connectionState,
            signalingState: l.pc.signalingState,
            reconnecting: l.reconnecting,
          }),
        ),
      ),
      framesDecoded: stats ? stats.framesDecoded : 0, // what we receive and decode
      framesSent: stats ? stats.framesSent : 0, // what we send
      lastStats: stats ? Object.freeze({ ...stats }) : null,
    });
    this.snapshot = snapshot;
    exposeState(snapshot);
    this.emit("state", snapshot);
  }
}

let current = Object.freeze({ phase: "idle" });
Object.defineProperty(window, "loancheckCall", { get: () => current, configurable: false, enumerable: true });
function exposeState(snapshot) {
  current = snapshot;
}
