// 录像回放: a reviewer (or the inspector) replays a remote inspection's recording — one
// player per participant, with who/when/how long, and a download. The file URLs are signed
// and expire (15 min): the page fetches fresh ones when it loads, and again while the
// recording is still being made or assembled.
import { ApiError, api, goToLogin, signedInUser } from "./api.js";
import { clear, formatTime, h, show } from "./dom.js";

const SESSION_STATES = { pending: "待开始", active: "进行中", ended: "已结束", cancelled: "已取消" };
const RECORDING_STATES = { recording: "录制中", finalizing: "处理中", ready: "可回放", failed: "处理失败" };
const KINDS = { inspector: "客户经理", contact: "企业联系人", recorder: "录制服务" };
// Why a participant of a finished call has no recording (the API's missing[].reason).
const MISSING_REASONS = {
  no_media: "媒体未到达录制服务器",
  offer_refused: "录制连接请求无效，录制服务器无法应答",
  unplayable: "录制的片段均无法播放",
};
const POLL_MS = 3000;

const $ = (id) => document.getElementById(id);
const sessionId = Number(window.location.pathname.split("/")[2]);

function fail(err) {
  if (err instanceof ApiError && err.status === 401) {
    goToLogin("expired");
    return;
  }
  show($("page-error"), err instanceof Error ? err.message : "操作失败，请稍后再试");
}

function duration(seconds) {
  const total = Math.round(seconds);
  const minutes = Math.floor(total / 60);
  return `${minutes}分${String(total % 60).padStart(2, "0")}秒`;
}

function size(bytes) {
  return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

function renderSession(session) {
  document.title = `${session.title} · 录像回放`;
  $("session-title").textContent = `${session.title} · 录像回放`;
  $("session-enterprise").textContent = session.enterprise_name;
  const people = session.participants
    .filter((p) => p.kind !== "recorder")
    .map((p) => `${p.display_name}（${KINDS[p.kind] || p.kind}）`)
    .join("、");
  const facts = [
    ["巡检状态", SESSION_STATES[session.state] || session.state],
    ["开始时间", session.started_at ? formatTime(session.started_at) : "—"],
    ["结束时间", session.ended_at ? formatTime(session.ended_at) : "—"],
    ["参与人", people || "—"],
  ];
  clear($("session-facts")).append(...facts.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

// A file the browser cannot load (its address unreachable, the link expired, the object
// gone) would otherwise leave a silent black player: say so, and where it was fetched from.
const MEDIA_ERRORS = { 1: "加载被中止", 2: "网络错误", 3: "文件无法解码", 4: "文件无法访问或格式不支持" };

function loadFailed(video, notice) {
  const origin = new URL(video.currentSrc || video.src, window.location.href).origin;
  const reason = MEDIA_ERRORS[video.error?.code] || "未知原因";
  const elsewhere = origin === window.location.origin ? "" : `（录像地址 ${origin} 与本页地址不同，请检查平台的访问地址配置）`;
  show(notice, `录像无法播放：${reason}${elsewhere}。请刷新页面重试，仍然失败请联系管理员。`);
}

function player(file) {
  const notice = h("p", { class: "alert replay-error", role: "alert", hidden: true, "data-testid": "replay-error" });
  const video = h("video", {
    controls: true,
    preload: "metadata",
    playsinline: true,
    poster: file.poster_url || undefined,
    "data-testid": "replay-video",
    "data-participant": file.participant_id,
  });
  video.addEventListener("error", () => loadFailed(video, notice));
  video.src = file.url;
  const details = [
    `时长 ${duration(file.duration)}`,
    file.width && file.height ? `${file.width}×${file.height}` : null,
    file.codecs.toUpperCase(),
    size(file.size),
    file.legs > 1 ? `${file.legs} 段连接` : null,
  ].filter(Boolean);
  return h(
    "figure",
    { class: "replay-item" },
    video,
    notice,
    h(
      "figcaption",
      {},
      h("strong", {}, `${file.display_name}（${KINDS[file.kind] || file.kind}）`),
      h("span", { class: "muted" }, details.join(" · ")),
      file.warnings.length ? h("span", { class: "alert-inline" }, `注意：${file.warnings.join("；")}`) : null,
      h("span", { class: "muted mono", title: "SHA-256" }, `SHA-256 ${file.sha256.slice(0, 16)}…`),
      h("a", { class: "btn", href: file.download_url, download: "" }, "下载"),
    ),
  );
}

function missingItem(entry) {
  const kind = KINDS[entry.kind] || entry.kind;
  const reason = MISSING_REASONS[entry.reason] || entry.reason;
  return h(
    "figure",
    { class: "replay-item replay-missing", "data-testid": "replay-missing", "data-participant": entry.participant_id },
    h("div", { class: "replay-missing-screen", "aria-hidden": "true" }, "未录到画面"),
    h(
      "figcaption",
      {},
      h("strong", {}, `${kind}：未录到画面（${reason}）`),
      entry.display_name ? h("span", { class: "muted" }, entry.display_name) : null,
    ),
  );
}

function renderRecording(recording) {
  const badge = $("recording-state");
  badge.textContent = recording.state ? RECORDING_STATES[recording.state] || recording.state : "无录像";
  badge.className = `badge state-${recording.state || "none"}`;
  const message = {
    null: "本次远程巡检没有人加入通话，因此没有录像。",
    recording: "通话仍在进行，录像正在录制，通话结束后即可回放。",
    finalizing: "通话已结束，录像正在处理，请稍候…",
    failed: `录像处理失败：${recording.error || "未知原因"}。已录制的片段仍保存在存储中，请联系管理员。`,
    ready: recording.files.length
      ? ""
      : recording.missing.length
        ? "没有参与人的录像可回放，原因见下。"
        : "通话中没有收到音视频，因此没有可回放的录像。",
  }[recording.state];
  show($("recording-message"), message);
  const grid = clear($("recordings"));
  if (recording.state === "ready") grid.append(...recording.files.map(player), ...recording.missing.map(missingItem));
}

function fetchReplay() {
  return Promise.all([api(`/api/v1/remote-sessions/${sessionId}`), api(`/api/v1/remote-sessions/${sessionId}/recording`)]);
}

async function load(pending = fetchReplay()) {
  const [session, recording] = await pending;
  renderSession(session);
  renderRecording(recording);
  if (recording.state === "recording" || recording.state === "finalizing") setTimeout(() => load().catch(fail), POLL_MS);
}

async function start() {
  // Asked for together with who is signed in, not after: one round trip instead of two.
  // Without a session signedInUser goes to the login page and this 401 is dropped.
  const pending = fetchReplay();
  pending.catch(() => {});
  try {
    if (await signedInUser()) await load(pending);
  } catch (err) {
    fail(err);
  }
}

start();
