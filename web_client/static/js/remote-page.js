// 远程巡检 call page of the bank inspector (PC): invite the enterprise contact (link + QR),
// run the video call, watch its quality, end it.
import { ApiError, api, goToLogin, signedInUser } from "./api.js";
import { Call, mediaErrorText, qualityOf } from "./call.js";
import { clear, formatTime, h, show } from "./dom.js";
import { setupInspectionPanel } from "./remote-inspection.js";

const STATE_LABELS = { pending: "待开始", active: "进行中", ended: "已结束", cancelled: "已取消" };
const INVITE_STATUS = { valid: "有效", expired: "已过期", revoked: "已撤销" };
const CLOSED = new Set(["ended", "cancelled"]);

const $ = (id) => document.getElementById(id);
const sessionId = Number(window.location.pathname.split("/")[2]);
const ui = {
  error: $("page-error"),
  title: $("session-title"),
  enterprise: $("session-enterprise"),
  state: $("session-state"),
  rec: $("rec-badge"),
  stage: $("stage"),
  remoteVideo: $("remote-video"),
  localVideo: $("local-video"),
  message: $("stage-message"),
  peerLabel: $("peer-label"),
  peerMedia: $("peer-media"),
  banner: $("reconnect-banner"),
  start: $("start-call"),
  audio: $("toggle-audio"),
  video: $("toggle-video"),
  end: $("end-call"),
  quality: $("quality"),
};

let me = null;
let session = null;
let call = null;
let qrUrl = null;
// Why the contact is gone (shown instead of "waiting" until someone joins again).
let contactGone = "";

function fail(err) {
  if (err instanceof ApiError && err.status === 401) {
    goToLogin("expired");
    return;
  }
  show(ui.error, err instanceof ApiError || err instanceof Error ? err.message : "操作失败，请稍后再试");
}

function canRun() {
  return Boolean(me && me.permissions.includes("remote.run"));
}

function renderSession() {
  document.title = `${session.title} · 远程巡检`;
  ui.title.textContent = session.title;
  ui.enterprise.textContent = session.enterprise_name;
  ui.state.textContent = STATE_LABELS[session.state] || session.state;
  ui.state.className = `badge state-${session.state}`;
  const closed = CLOSED.has(session.state);
  if (!call) {
    ui.start.disabled = closed || !canRun();
    ui.message.textContent = closed
      ? `本次远程巡检${STATE_LABELS[session.state]}`
      : canRun()
        ? "尚未开始通话。可先生成邀请链接发送给企业联系人，再点击「开始通话」。"
        : "您可以查看本次远程巡检，但无权主持通话";
  }
  $("invite-submit").disabled = closed || !canRun();
  renderInvites(session.invites || []);
}

function renderInvites(invites) {
  const list = clear($("invite-list"));
  if (!invites.length) {
    list.append(h("li", { class: "muted" }, "尚未邀请企业联系人"));
    return;
  }
  for (const invite of [...invites].reverse()) {
    const revoke =
      invite.status === "valid" && canRun() && !CLOSED.has(session.state)
        ? h("button", { type: "button", class: "btn", onclick: () => revokeInvite(invite) }, "撤销")
        : null;
    list.append(
      h(
        "li",
        {},
        h("span", { class: "invite-name" }, invite.contact_name),
        h("span", { class: `badge ${invite.status === "valid" ? "badge-ok" : "badge-off"}` }, INVITE_STATUS[invite.status] || invite.status),
        invite.device_bound ? h("span", { class: "badge" }, "已在手机上打开") : null,
        h("span", { class: "muted" }, `至 ${formatTime(invite.expires_at)}`),
        revoke,
      ),
    );
  }
}

async function loadSession(pending = api(`/api/v1/remote-sessions/${sessionId}`)) {
  session = await pending;
  renderSession();
}

async function revokeInvite(invite) {
  if (!window.confirm(`撤销发给 ${invite.contact_name} 的邀请链接？撤销后该链接立即失效，正在通话中的联系人将被移出通话。`)) return;
  try {
    await api(`/api/v1/remote-sessions/${sessionId}/invites/${invite.id}`, { method: "DELETE" });
    await loadSession();
  } catch (err) {
    fail(err);
  }
}

// ---- invites ----

function setFieldErrors(form, errors) {
  for (const span of form.querySelectorAll("[data-error-for]")) {
    const message = errors[span.dataset.errorFor] || "";
    show(span, message);
    const input = form.elements[span.dataset.errorFor];
    if (input) input.setAttribute("aria-invalid", message ? "true" : "false");
  }
}

function showQr(created) {
  const img = $("invite-qr");
  if (qrUrl) URL.revokeObjectURL(qrUrl);
  qrUrl = null;
  if (created.qr_svg) {
    // An <img> never runs what an SVG contains, and no markup enters this page.
    qrUrl = URL.createObjectURL(new Blob([created.qr_svg], { type: "image/svg+xml" }));
    img.src = qrUrl;
  } else if (created.qr_svg_url) {
    img.src = created.qr_svg_url;
  }
}

async function createInvite(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const submit = $("invite-submit");
  const contactName = form.elements.contact_name.value.trim();
  setFieldErrors(form, contactName ? {} : { contact_name: "请填写联系人姓名" });
  show($("invite-error"), "");
  if (!contactName) {
    form.elements.contact_name.focus();
    return;
  }
  submit.disabled = true;
  try {
    const created = await api(`/api/v1/remote-sessions/${sessionId}/invites`, {
      method: "POST",
      body: { contact_name: contactName, expires_in_minutes: Number(form.elements.expires_in_minutes.value) },
    });
    showQr(created);
    $("invite-url").value = created.url;
    $("invite-for").textContent = `发给 ${created.contact_name}：通过微信或短信发送链接，或请对方用手机扫描二维码。`;
    $("invite-expiry").textContent = `有效期至 ${formatTime(created.expires_at)}，仅限一台手机使用。`;
    $("copy-status").textContent = "";
    $("invite-result").hidden = false;
    form.reset();
    await loadSession();
  } catch (err) {
    if (err instanceof ApiError && err.status === 422) setFieldErrors(form, err.fieldErrors);
    if (err instanceof ApiError && err.status === 401) fail(err);
    else show($("invite-error"), err instanceof ApiError ? err.detail : "生成邀请链接失败，请稍后再试");
  } finally {
    submit.disabled = CLOSED.has(session.state) || !canRun();
  }
}

async function copyLink() {
  const input = $("invite-url");
  const status = $("copy-status");
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    input.select(); // clipboard API refused (http, permissions): the old way
    if (!document.execCommand("copy")) {
      status.textContent = "请手动复制链接";
      return;
    }
  }
  status.textContent = "已复制";
}

// ---- the call ----

async function openMedia() {
  const video = { width: { ideal: 1280 }, height: { ideal: 720 } };
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: true, video });
  } catch (err) {
    if (err.name === "NotAllowedError" || err.name === "SecurityError") throw err;
  }
  // A PC without a camera (or a microphone) still runs the call with what it has.
  for (const constraints of [{ audio: true }, { video }]) {
    try {
      return await navigator.mediaDevices.getUserMedia(constraints);
    } catch {
      // try the next
    }
  }
  return new MediaStream();
}

function updateButtons(snapshot) {
  const inCall = ["connecting", "joined", "reconnecting"].includes(snapshot.phase);
  ui.start.hidden = inCall;
  ui.audio.disabled = !inCall || !call.track("audio");
  ui.video.disabled = !inCall || !call.track("video");
  ui.end.disabled = !inCall;
}

function onState({ detail: snapshot }) {
  ui.stage.dataset.phase = snapshot.phase;
  const inCall = ["connecting", "joined", "reconnecting"].includes(snapshot.phase);
  ui.rec.hidden = !inCall;
  updateButtons(snapshot);
  let banner = "";
  if (snapshot.phase === "reconnecting") banner = "网络不稳定，正在重新连接…";
  else if (snapshot.peerReconnecting) banner = "企业联系人网络不稳定，正在等待其重新连接…";
  else if (["disconnected", "failed"].includes(snapshot.iceConnectionState)) banner = "视频连接中断，正在恢复…";
  show(ui.banner, banner);
  let message = "";
  if (snapshot.phase === "connecting") message = "正在连接…";
  else if (inCall && !snapshot.peers.some((p) => p.kind !== "recorder")) message = contactGone || "等待企业联系人加入…";
  else if (inCall && snapshot.connectionState !== "connected" && !snapshot.framesDecoded) message = "正在建立视频连接…";
  if (inCall || message) ui.message.textContent = message;
  if (!inCall && snapshot.phase !== "idle") ui.peerLabel.hidden = true;
}

function onRemoteStream({ detail }) {
  if (detail.peer && detail.peer.kind === "recorder") return;
  if (ui.remoteVideo.srcObject !== detail.stream) ui.remoteVideo.srcObject = detail.stream;
  const name = detail.peer && detail.peer.display_name;
  show(ui.peerLabel, name ? `企业联系人：${name}` : "企业联系人");
}

function onPeerState({ detail }) {
  if (detail.peer && detail.peer.kind === "recorder") return;
  if (detail.state === "joined") contactGone = "";
  // "rejoined": the connection is being replaced, the person is still there.
  if (detail.state !== "left" || detail.reason === "rejoined") return;
  ui.remoteVideo.srcObject = null;
  show(ui.peerMedia, "");
  ui.peerLabel.hidden = true;
  const reasons = {
    timeout: "企业联系人已断开连接（超时未重连）",
    removed: "已撤销企业联系人的邀请，其已被移出通话",
  };
  contactGone = `${reasons[detail.reason] || "企业联系人已离开通话"}，可重新发送邀请链接`;
  ui.message.textContent = contactGone;
}

function onPeerMedia({ detail }) {
  const notes = [];
  if (detail.audio === false) notes.push("对方已静音");
  if (detail.video === false) notes.push("对方已关闭摄像头");
  show(ui.peerMedia, notes.join(" · "));
}

const number = new Intl.NumberFormat("zh-CN");

function renderStats(stats) {
  const set = (id, text) => {
    $(id).textContent = text;
  };
  set("stat-rtt", stats.rttMs === null ? "—" : `${stats.rttMs} ms`);
  set("stat-loss", `${stats.lossPercent.toFixed(1)} %`);
  set("stat-bitrate-in", stats.bitrateInKbps === null ? "—" : `${number.format(stats.bitrateInKbps)} kbps`);
  set("stat-bitrate-out", stats.bitrateOutKbps === null ? "—" : `${number.format(stats.bitrateOutKbps)} kbps`);
  set(
    "stat-video",
    stats.frameWidth ? `${stats.frameWidth}×${stats.frameHeight} · ${Math.round(stats.framesPerSecond)} 帧/秒` : "—",
  );
  set("stat-frames", number.format(stats.framesDecoded));
}

function onStats({ detail: stats }) {
  const quality = qualityOf(stats);
  ui.quality.dataset.level = quality.level;
  ui.quality.textContent = quality.text;
  renderStats(stats);
}

async function onEnded({ detail }) {
  ui.remoteVideo.srcObject = null;
  ui.localVideo.srcObject = null;
  ui.rec.hidden = true;
  show(ui.banner, "");
  show(ui.peerMedia, "");
  ui.peerLabel.hidden = true;
  ui.quality.dataset.level = "unknown";
  ui.quality.textContent = "未连接";
  ui.message.textContent = detail.reason === "left" ? "您已离开通话" : "通话已结束";
  call = null;
  ui.start.hidden = false;
  for (const button of [ui.audio, ui.video, ui.end]) button.disabled = true;
  try {
    await loadSession();
  } catch (err) {
    fail(err);
  }
}

function onCallError({ detail }) {
  if (detail.code === "unauthenticated") {
    goToLogin("expired");
    return;
  }
  if (detail.fatal) {
    show(ui.error, detail.message);
    ui.message.textContent = "无法加入通话";
  }
}

async function startCall() {
  show(ui.error, "");
  ui.start.disabled = true;
  ui.start.textContent = "正在打开摄像头…";
  let stream;
  try {
    stream = await openMedia();
  } catch (err) {
    show(ui.error, mediaErrorText(err));
    ui.start.disabled = false;
    ui.start.textContent = "开始通话";
    return;
  }
  ui.localVideo.srcObject = stream;
  ui.localVideo.classList.add("video-mirror");
  if (!stream.getVideoTracks().length) show(ui.error, "未检测到摄像头：对方将看不到您的画面，但您可以看到对方。");
  call = new Call({ stream, sessionId });
  call.addEventListener("state", onState);
  call.addEventListener("remotestream", onRemoteStream);
  call.addEventListener("peerstate", onPeerState);
  call.addEventListener("peermedia", onPeerMedia);
  call.addEventListener("stats", onStats);
  call.addEventListener("ended", onEnded);
  call.addEventListener("error", onCallError);
  try {
    await call.start();
    await loadSession(); // pending → active
  } catch (err) {
    if (err.code !== "unauthenticated") show(ui.error, err.message);
  } finally {
    ui.start.textContent = "开始通话";
    ui.start.disabled = false;
  }
}

function toggle(button, kind) {
  if (!call) return;
  const off = button.getAttribute("aria-pressed") !== "true";
  button.setAttribute("aria-pressed", String(off));
  if (kind === "audio") {
    call.setAudio(!off);
    button.textContent = off ? "取消静音" : "静音";
  } else {
    call.setVideo(!off);
    button.textContent = off ? "打开摄像头" : "关闭摄像头";
  }
}

async function endCall() {
  const dialog = $("end-dialog");
  dialog.returnValue = "";
  dialog.showModal();
  const choice = await new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue), { once: true }));
  if (choice !== "end" || !call) return;
  ui.end.disabled = true;
  try {
    await call.endCall();
  } catch {
    // Signaling could not end it: the REST call does, and the room hears it from the server.
    try {
      await api(`/api/v1/remote-sessions/${sessionId}/end`, { method: "POST" });
      call.finish("ended_by_me");
    } catch (err) {
      ui.end.disabled = false;
      fail(err);
    }
  }
}

async function start() {
  // The session is asked for together with who is signed in, not after: one round trip
  // instead of two. Without a session signedInUser goes to the login page and this 401 is
  // dropped.
  const pending = api(`/api/v1/remote-sessions/${sessionId}`);
  pending.catch(() => {});
  try {
    me = await signedInUser();
  } catch (err) {
    fail(err);
    return;
  }
  if (!me) return;
  ui.start.addEventListener("click", startCall);
  ui.audio.addEventListener("click", () => toggle(ui.audio, "audio"));
  ui.video.addEventListener("click", () => toggle(ui.video, "video"));
  ui.end.addEventListener("click", endCall);
  $("invite-form").addEventListener("submit", createInvite);
  $("copy-link").addEventListener("click", copyLink);
  try {
    await loadSession(pending);
    // The checklist beside the call (remote-inspection.js); its failures stay in its panel.
    setupInspectionPanel({ sessionId, checkpointId: session.checkpoint_id, video: ui.remoteVideo, me, host: $("inspection-panel") }).catch(fail);
  } catch (err) {
    ui.start.disabled = true;
    $("invite-submit").disabled = true;
    ui.message.textContent = "";
    fail(err);
  }
}

start();
