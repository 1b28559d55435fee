// Live capture (现场实时采集) and upload of evidence. Photos come from the camera through a
// canvas, videos and audio clips from MediaRecorder: there is no file picker, so nothing
// from the phone's gallery can stand in for what is in front of the inspector. Each file
// goes up with its SHA-256 (the server recomputes it), its capture time and GPS fix.
import { ApiError } from "./api.js";
import { h } from "./dom.js";

const VIDEO_TYPES = ["video/webm;codecs=vp8,opus", "video/webm", "video/mp4"];
const AUDIO_TYPES = ["audio/webm;codecs=opus", "audio/webm", "audio/ogg;codecs=opus", "audio/mp4"];
const LIMIT_SECONDS = { video: 60, audio: 180 };

export function deviceId() {
  const KEY = "loancheck.device";
  let id = window.localStorage.getItem(KEY);
  if (!id) {
    const bytes = crypto.getRandomValues(new Uint8Array(12));
    id = `web-${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
    window.localStorage.setItem(KEY, id);
  }
  return id;
}

export async function sha256Hex(blob) {
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export function mediaErrorText(err) {
  if (err && (err.name === "NotAllowedError" || err.name === "SecurityError")) return "未获得摄像头或麦克风权限，请在浏览器设置中允许后重试";
  if (err && err.name === "NotFoundError") return "未找到摄像头或麦克风";
  return "无法打开摄像头或麦克风，请稍后重试";
}

function pickType(candidates) {
  if (typeof MediaRecorder === "undefined") return "";
  return candidates.find((type) => MediaRecorder.isTypeSupported(type)) || "";
}

/** A JPEG of what a <video> shows now (a camera preview or the remote party's video). */
export function grabFrame(video, quality = 0.9) {
  const canvas = h("canvas", { width: String(video.videoWidth), height: String(video.videoHeight) });
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("截图失败"))), "image/jpeg", quality);
  });
}

/**
 * Open the capture dialog for `kind` (photo / video / audio); resolves with
 * `{blob, mime, capturedAt}` or null when cancelled.
 */
export async function captureLive(kind) {
  const constraints =
    kind === "audio"
      ? { audio: true }
      : { audio: kind === "video", video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } } };
  const stream = await navigator.mediaDevices.getUserMedia(constraints);
  const preview = h("video", { class: "cap-preview", autoplay: true, playsinline: true, muted: true, hidden: kind === "audio" });
  preview.srcObject = stream;
  const status = h("p", { class: "cap-status", role: "status" }, kind === "audio" ? "麦克风已打开" : "");
  const shoot = h("button", { type: "button", class: "btn btn-primary btn-block", "data-testid": "capture-shoot" }, kind === "photo" ? "拍照" : kind === "video" ? "开始录像" : "开始录音");
  const cancel = h("button", { type: "button", class: "btn btn-block" }, "取消");
  const dialog = h("dialog", { class: "dialog cap-dialog", "aria-label": "现场取证" }, preview, status, h("div", { class: "cap-actions" }, shoot, cancel));
  document.body.append(dialog);
  dialog.showModal();
  const stop = () => {
    for (const track of stream.getTracks()) track.stop();
    dialog.close();
    dialog.remove();
  };
  return new Promise((resolve, reject) => {
    cancel.addEventListener("click", () => {
      stop();
      resolve(null);
    });
    dialog.addEventListener("cancel", () => {
      stop();
      resolve(null);
    });
    if (kind === "photo") {
      shoot.addEventListener("click", async () => {
        try {
          if (!preview.videoWidth) await new Promise((ready) => preview.addEventListener("loadeddata", ready, { once: true }));
          const capturedAt = new Date();
          const blob = await grabFrame(preview);
          stop();
          resolve({ blob, mime: "image/jpeg", capturedAt });
        } catch (err) {
          stop();
          reject(err);
        }
      });
      return;
    }
    let recorder = null;
    let timer = null;
    const chunks = [];
    shoot.addEventListener("click", () => {
      if (recorder) {
        recorder.stop();
        return;
      }
      const type = pickType(kind === "video" ? VIDEO_TYPES : AUDIO_TYPES);
      recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
      const capturedAt = new Date();
      recorder.addEventListener("dataavailable", (event) => event.data.size && chunks.push(event.data));
      recorder.addEventListener("stop", () => {
        clearInterval(timer);
        const mime = (recorder.mimeType || type || (kind === "video" ? "video/webm" : "audio/webm")).split(";")[0];
        stop();
        resolve({ blob: new Blob(chunks, { type: mime }), mime, capturedAt });
      });
      recorder.start(1000);
      shoot.textContent = kind === "video" ? "停止录像" : "停止录音";
      let seconds = 0;
      timer = setInterval(() => {
        seconds += 1;
        status.textContent = `录制中 ${seconds} 秒`;
        if (seconds >= LIMIT_SECONDS[kind]) recorder.stop();
      }, 1000);
    });
  });
}

/**
 * POST a capture to `${base}/evidence` (an inspection or a self-check link). `fix` is the GPS
 * fix of the capture (null beside a remote call). Problems throw ApiError.
 */
export async function uploadEvidence(base, { itemKey, kind, blob, mime, capturedAt, fix, headers = {} }) {
  const params = new URLSearchParams({
    item_key: itemKey,
    kind,
    sha256: await sha256Hex(blob),
    captured_at: capturedAt.toISOString(),
    device_id: deviceId(),
  });
  if (fix) {
    params.set("latitude", String(fix.latitude));
    params.set("longitude", String(fix.longitude));
    params.set("accuracy", String(fix.accuracy));
    params.set("fix_captured_at", fix.captured_at);
  }
  let response;
  try {
    response = await fetch(`${base}/evidence?${params}`, {
      method: "POST",
      body: blob,
      credentials: "same-origin",
      headers: { "Content-Type": mime, Accept: "application/json", "Accept-Language": "zh-CN", ...headers },
    });
  } catch {
    throw new ApiError(0, { detail: "上传失败：无法连接服务器，请检查网络后重试" });
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, data || {});
  return data;
}
