// The enterprise contact's page (phone): open the invite, tap 加入视频, show the site with
// the rear camera. The server checked the link before serving this page.
import { ApiError, api } from "./api.js";
import { Call, mediaErrorText, qualityOf } from "./call.js";
import { formatTime, show } from "./dom.js";

const $ = (id) => document.getElementById(id);
const token = decodeURIComponent(window.location.pathname.split("/")[2] || "");
const ui = {
  join: $("join-button"),
  lobbyError: $("lobby-error"),
  help: $("camera-help"),
  stage: $("stage"),
  localVideo: $("local-video"),
  remoteVideo: $("remote-video"),
  banner: $("reconnect-banner"),
  message: $("stage-message"),
  quality: $("quality"),
  audio: $("toggle-audio"),
  video: $("toggle-video"),
  switchCamera: $("switch-camera"),
  leave: $("leave"),
};

let facing = "environment"; // the site, not the face
let call = null;
let wakeLock = null;
let peerMediaNote = "";

function showView(view) {
  document.body.dataset.view = view;
  $("lobby").hidden = view !== "lobby";
  $("in-call").hidden = view !== "call";
  $("ended").hidden = view !== "ended";
}

async function loadInvite() {
  let info;
  try {
    info = await api(`/api/v1/invites/${encodeURIComponent(token)}`);
  } catch (err) {
    $("session-title").textContent = "无法加入视频巡检";
    show(ui.lobbyError, err instanceof ApiError ? err.detail : "加载失败，请检查网络后刷新页面");
    return;
  }
  document.title = `${info.enterprise_name} · 远程视频巡检`;
  $("session-title").textContent = info.enterprise_name;
  $("session-enterprise").textContent = info.title !== info.enterprise_name ? info.title : "";
  $("greeting").textContent = `${info.contact_name}，您好！客户经理邀请您通过视频展示企业现场情况。`;
  $("expires").textContent = `邀请有效期至 ${formatTime(info.expires_at)}`;
  ui.join.disabled = false;
}

function cameraConstraints(facingMode) {
  return { facingMode: { ideal: facingMode }, width: { ideal: 1280 }, height: { ideal: 720 } };
}

async function openMedia() {
  const audio = { echoCancellation: true, noiseSuppression: true };
  try {
    return await navigator.mediaDevices.getUserMedia({ audio, video: cameraConstraints(facing) });
  } catch (err) {
    if (err.name !== "OverconstrainedError" && err.name !== "NotFoundError") throw err;
  }
  return navigator.mediaDevices.getUserMedia({ audio: true, video: true });
}

function showLocal(stream) {
  ui.localVideo.srcObject = null; // the stream keeps its identity when a track is swapped
  ui.localVideo.srcObject = stream;
  ui.localVideo.classList.toggle("video-mirror", facing === "user");
}

async function keepAwake() {
  try {
    wakeLock = await navigator.wakeLock.request("screen");
  } catch {
    wakeLock = null; // not supported or refused: the screen may dim, the call goes on
  }
}

function onState({ detail: snapshot }) {
  ui.stage.dataset.phase = snapshot.phase;
  const dropped =
    snapshot.phase === "reconnecting" ||
    (snapshot.phase === "joined" && ["disconnected", "failed"].includes(snapshot.iceConnectionState));
  let banner = dropped ? "网络不稳定，正在重新连接…" : "";
  if (!banner && snapshot.peerReconnecting) banner = "客户经理网络不稳定，请稍候…";
  show(ui.banner, banner);
  let message = "";
  if (snapshot.phase === "connecting") message = "正在连接…";
  else if (snapshot.phase === "joined" && !snapshot.peers.some((p) => p.kind !== "recorder")) message = "等待客户经理加入…";
  else if (snapshot.phase === "joined" && snapshot.connectionState !== "connected" && !snapshot.framesDecoded) {
    message = "正在建立视频连接…";
  }
  show(ui.message, message || peerMediaNote);
}

function onStats({ detail: stats }) {
  const quality = qualityOf(stats);
  ui.quality.dataset.level = quality.level;
  ui.quality.textContent = `网络${quality.text}`;
}

function onPeerMedia({ detail }) {
  peerMediaNote = detail.video === false ? "客户经理已关闭摄像头" : "";
  if (call) onState({ detail: call.snapshot });
}

function onPeerState({ detail }) {
  if (detail.state === "left" && detail.reason !== "rejoined" && (!detail.peer || detail.peer.kind !== "recorder")) {
    ui.remoteVideo.srcObject = null;
  }
}

function ended(title, text, canRejoin) {
  if (wakeLock) wakeLock.release().catch(() => undefined);
  wakeLock = null;
  ui.localVideo.srcObject = null;
  ui.remoteVideo.srcObject = null;
  $("ended-title").textContent = title;
  $("ended-text").textContent = text;
  $("rejoin").hidden = !canRejoin;
  showView("ended");
  call = null;
}

function onEnded({ detail }) {
  if (detail.reason === "left") {
    ended("您已退出视频通话", "如需继续，请点击「重新加入」。", true);
  } else if (detail.reason === "removed") {
    ended("通话已结束", "客户经理已撤销您的邀请链接，您已退出本次视频巡检。", false);
  } else {
    ended("通话已结束", "客户经理已结束本次视频巡检，感谢您的配合。", false);
  }
}

function onCallError({ detail }) {
  if (detail.fatal && call) ended("无法加入视频", detail.message, false);
}

async function join() {
  show(ui.lobbyError, "");
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    show(ui.lobbyError, mediaErrorText(null));
    ui.help.open = true;
    return;
  }
  ui.join.disabled = true;
  ui.join.textContent = "正在打开摄像头…";
  let stream;
  try {
    stream = await openMedia();
  } catch (err) {
    show(ui.lobbyError, mediaErrorText(err));
    ui.help.open = true;
    ui.join.disabled = false;
    ui.join.textContent = "加入视频";
    return;
  }
  showView("call");
  showLocal(stream);
  keepAwake();
  call = new Call({ stream, invite: token, facing });
  call.addEventListener("state", onState);
  call.addEventListener("stats", onStats);
  call.addEventListener("peermedia", onPeerMedia);
  call.addEventListener("peerstate", onPeerState);
  call.addEventListener("remotestream", ({ detail }) => {
    if (!detail.peer || detail.peer.kind !== "recorder") ui.remoteVideo.srcObject = detail.stream;
  });
  call.addEventListener("ended", onEnded);
  call.addEventListener("error", onCallError);
  try {
    await call.start();
  } catch {
    // onCallError showed why
  } finally {
    ui.join.disabled = false;
    ui.join.textContent = "加入视频";
  }
}

function toggle(button, kind) {
  if (!call) return;
  const off = button.getAttribute("aria-pressed") !== "true";
  button.setAttribute("aria-pressed", String(off));
  const label = button.querySelector(".round-label");
  if (kind === "audio") {
    call.setAudio(!off);
    label.textContent = off ? "取消静音" : "静音";
  } else {
    call.setVideo(!off);
    label.textContent = off ? "打开摄像头" : "关闭摄像头";
  }
}

async function switchCamera() {
  if (!call) return;
  const next = facing === "environment" ? "user" : "environment";
  ui.switchCamera.disabled = true;
  // Many Android phones cannot open a second camera while one is open: release it first.
  const current = call.track("video");
  if (current) current.stop();
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ video: cameraConstraints(next) });
    await call.replaceVideoTrack(stream.getVideoTracks()[0], next);
    facing = next;
  } catch (err) {
    show(ui.message, mediaErrorText(err));
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ video: cameraConstraints(facing) });
      await call.replaceVideoTrack(stream.getVideoTracks()[0], facing);
    } catch {
      // no camera at all now: the call goes on with sound
    }
  } finally {
    showLocal(call.stream);
    ui.switchCamera.disabled = false;
  }
}

async function leave() {
  if (!call || !window.confirm("确定退出视频通话？")) return;
  await call.leave();
}

ui.join.addEventListener("click", join);
ui.audio.addEventListener("click", () => toggle(ui.audio, "audio"));
ui.video.addEventListener("click", () => toggle(ui.video, "video"));
ui.switchCamera.addEventListener("click", switchCamera);
ui.leave.addEventListener("click", leave);
$("rejoin").addEventListener("click", () => window.location.reload());
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && call && (!wakeLock || wakeLock.released)) keepAwake();
});
loadInvite();
