// Live capture (现场实时采集) and upload of evidence. Photos come from the camera through a
// canvas, videos and audio clips from MediaRecorder: there is no file picker, so nothing
// from the phone's gallery can stand in for what is in front of the inspector. Each file
// goes up with its SHA-256 (the server recomputes it), its capture time and GPS fix. The
// size limit (LOANCHECK_EVIDENCE_MAX_MB, the server's Tus-Max-Size) is kept while capturing:
// a recording stops before it passes it, a photo over it is refused before it is kept.
import { api } from "./api.js";
import { h } from "./dom.js";
import { target } from "./offline-target.js";
import { tusUpload } from "./tus-upload.js";
import { sizeText } from "./upload-progress.js";

const VIDEO_TYPES = ["video/webm;codecs=vp8,opus", "video/webm", "video/mp4"];
const AUDIO_TYPES = ["audio/webm;codecs=opus", "audio/webm", "audio/ogg;codecs=opus", "audio/mp4"];
const LIMIT_SECONDS = { video: 60, audio: 180 };
const LIMIT_KEY = "loancheck.evidenceMaxBytes";
// A recording stops once it (and two more slices like its largest) would pass this share of
// the limit: what comes after the stop (the last slice) then still fits.
export const STOP_AT = 0.95;
const SLICE_MS = 500;

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

/**
 * The largest file the server takes, in bytes (`Tus-Max-Size` of `OPTIONS /api/v1/uploads`,
 * i.e. LOANCHECK_EVIDENCE_MAX_MB), remembered on the phone for captures without network;
 * null when it was never known.
 */
export async function evidenceLimit() {
  try {
    const response = await fetch("/api/v1/uploads", { method: "OPTIONS", credentials: "same-origin", cache: "no-store" });
    const bytes = Number(response.headers.get("Tus-Max-Size"));
    if (response.ok && bytes > 0) {
      window.localStorage.setItem(LIMIT_KEY, String(bytes));
      return bytes;
    }
  } catch {
    // no network: the limit the phone was last told
  }
  const known = Number(window.localStorage.getItem(LIMIT_KEY));
  return known > 0 ? known : null;
}

// "50 MB" for the server's limits (whole megabytes), the exact size for anything smaller.
const limitText = (bytes) => (bytes >= 1024 * 1024 ? `${Number((bytes / 1024 / 1024).toFixed(1))} MB` : sizeText(bytes));

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
 * `{blob, mime, capturedAt, notice}` or null when cancelled. `maxBytes` is the size limit
 * (by default the server's): a recording stops before it passes it and keeps what was
 * recorded (`notice` says so), a photo over it is refused and can be taken again.
 */
export async function captureLive(kind, { maxBytes } = {}) {
  const limit = maxBytes === undefined ? await evidenceLimit() : maxBytes;
  const constraints =
    kind === "audio"
      ? { audio: true }
      : { audio: kind === "video", video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } } };
  const stream = await navigator.mediaDevices.getUserMedia(constraints);
  const preview = h("video", { class: "cap-preview", autoplay: true, playsinline: true, muted: true, hidden: kind === "audio" });
  preview.srcObject = stream;
  const status = h("p", { class: "cap-status", role: "status", "data-testid": "capture-status" }, kind === "audio" ? "麦克风已打开" : "");
  const limitHint = limit ? h("p", { class: "hint cap-limit" }, `单个文件不超过 ${limitText(limit)}`) : null;
  const shoot = h("button", { type: "button", class: "btn btn-primary btn-block", "data-testid": "capture-shoot" }, kind === "photo" ? "拍照" : kind === "video" ? "开始录像" : "开始录音");
  const cancel = h("button", { type: "button", class: "btn btn-block" }, "取消");
  const dialog = h("dialog", { class: "dialog cap-dialog", "aria-label": "现场取证" }, preview, status, limitHint, h("div", { class: "cap-actions" }, shoot, cancel));
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
          if (limit && blob.size > limit) {
            // Refused now, not after an upload: the dialog stays open for another shot.
            status.textContent = `照片 ${sizeText(blob.size)}，超过单个文件上限 ${limitText(limit)}，未保存，请重新拍摄`;
            status.classList.add("cap-refused");
            return;
          }
          stop();
          resolve({ blob, mime: "image/jpeg", capturedAt, notice: "" });
        } catch (err) {
          stop();
          reject(err);
        }
      });
      return;
    }
    let recorder = null;
    let timer = null;
    let atLimit = false;
    let recorded = 0; // bytes of the slices so far
    let largest = 0; // the largest slice, to foresee the next one
    const chunks = [];
    const what = kind === "video" ? "录像" : "录音";
    shoot.addEventListener("click", () => {
      if (recorder) {
        if (recorder.state !== "inactive") recorder.stop();
        return;
      }
      const type = pickType(kind === "video" ? VIDEO_TYPES : AUDIO_TYPES);
      recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
      const capturedAt = new Date();
      recorder.addEventListener("dataavailable", (event) => {
        if (!event.data.size) return;
        chunks.push(event.data);
        recorded += event.data.size;
        largest = Math.max(largest, event.data.size);
        if (limit && !atLimit && recorded + 2 * largest >= limit * STOP_AT && recorder.state !== "inactive") {
          atLimit = true;
          recorder.stop();
        }
      });
      recorder.addEventListener("stop", () => {
        clearInterval(timer);
        const mime = (recorder.mimeType || type || (kind === "video" ? "video/webm" : "audio/webm")).split(";")[0];
        // Never past the limit: a last slice larger than foreseen is left out.
        while (limit && chunks.length > 1 && chunks.reduce((sum, c) => sum + c.size, 0) > limit) chunks.pop();
        const blob = new Blob(chunks, { type: mime });
        const notice = atLimit ? `${what}已达单个文件上限 ${limitText(limit)}，已自动停止，已录制的 ${sizeText(blob.size)} 已保留` : "";
        stop();
        resolve({ blob, mime, capturedAt, notice });
      });
      recorder.start(SLICE_MS);
      shoot.textContent = kind === "video" ? "停止录像" : "停止录音";
      let seconds = 0;
      timer = setInterval(() => {
        seconds += 1;
        status.textContent = limit ? `录制中 ${seconds} 秒 · ${sizeText(recorded)} / ${limitText(limit)}` : `录制中 ${seconds} 秒`;
        if (seconds >= LIMIT_SECONDS[kind] && recorder.state !== "inactive") recorder.stop();
      }, 1000);
    });
  });
}

/**
 * Upload a capture and attach it to its item at `base` (an inspection, or a self-check
 * link). `job` is `{itemKey, kind, blob, mime, capturedAt, fix, onProgress(bytes)}`; `fix`
 * is the GPS fix of the capture (null beside a remote call). The file goes by tus
 * (resumable, checksummed) to the page's target (offline-target.js: staff `/api/v1/uploads`,
 * a self-check link its own `/api/v1/self-checks/{token}/uploads` with the phone's
 * X-Device-Id) and is then attached (`{base}/evidence/from-upload`). The job keeps what a retry
 * needs (its SHA-256, its UUID, the tus upload's address, told to `job.onCreated(url)`):
 * calling again with the same job, or one with the same UUID after a reload, goes on from
 * where the server stands and attaches it once (the evidence row carries that UUID). Problems throw ApiError (or NetworkError).
 * `job.signal` (an AbortSignal) stops the file's upload (UploadAborted); the attach, once asked, is not stopped.
 */
export async function uploadEvidence(base, job) {
  job.sha256 = job.sha256 || (await sha256Hex(job.blob));
  const about = {
    item_key: job.itemKey,
    kind: job.kind,
    sha256: job.sha256,
    captured_at: job.capturedAt.toISOString(),
    device_id: deviceId(),
  };
  job.clientUuid = job.clientUuid || crypto.randomUUID();
  const uploadId = await tusUpload(
    { client_uuid: job.clientUuid, sha256: job.sha256, mime: job.mime, blob: job.blob, upload_url: job.uploadUrl },
    {
      onCreated: async (url) => {
        job.uploadUrl = url;
        if (job.onCreated) await job.onCreated(url);
      },
      onProgress: (bytes) => job.onProgress && job.onProgress(bytes),
      signal: job.signal,
    },
  );
  return api(`${base}/evidence/from-upload`, { method: "POST", body: { ...about, upload_id: uploadId, fix: job.fix || null }, headers: target().headers() });
}
