// A small tus 1.0.0 client for /api/v1/uploads (creation, creation-with-upload, checksum):
// create the upload with the capture's UUID and SHA-256 (a file of one chunk goes up with
// it, checked against that SHA-256), then PATCH chunks at the server's offset, each with its
// SHA-1 (Upload-Checksum). After a cut it asks HEAD where the server stands and goes on from
// there, so a file is never re-sent from zero. Creating the same UUID twice is the same upload.
// A capture deleted on the phone while it goes up stops at once (an AbortSignal).
import { ApiError } from "./api.js";
import { target } from "./offline-target.js";

const TUS = { "Tus-Resumable": "1.0.0", "Accept-Language": "zh-CN" };
export const CHUNK_BYTES = 5 * 1024 * 1024; // what the server advertises (Upload-Chunk-Size)

/** No network (the request never got an answer): retry later, nothing is lost. */
export class NetworkError extends Error {
  constructor() {
    super("无法连接服务器，联网后将自动重试");
  }
}

/** Stopped on purpose (the capture was deleted on the phone): nothing to retry. */
export class UploadAborted extends Error {
  constructor() {
    super("上传已取消");
  }
}

const stopped = (signal) => (signal?.aborted ? new UploadAborted() : new NetworkError());

function b64(text) {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

async function sha1Base64(blob) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", await blob.arrayBuffer()));
  return btoa(String.fromCharCode(...digest));
}

async function problemOf(response) {
  const data = await response.json().catch(() => null);
  return new ApiError(response.status, data && typeof data === "object" ? data : {});
}

async function call(url, method, headers = {}, signal = undefined) {
  try {
    return await fetch(url, { method, headers: { ...TUS, ...target().headers(), ...headers }, credentials: "same-origin", cache: "no-store", signal });
  } catch {
    throw stopped(signal);
  }
}

/** Send `chunk` through XHR, which reports the bytes sent as they go; resolves with the XHR
 * when the status is one of `ok`. `signal` aborts it. */
function send(method, url, headers, chunk, onBytes, ok, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new UploadAborted());
      return;
    }
    const xhr = new XMLHttpRequest();
    signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.open(method, url);
    for (const [name, value] of Object.entries({ ...TUS, ...target().headers(), ...headers })) xhr.setRequestHeader(name, value);
    xhr.setRequestHeader("Content-Type", "application/offset+octet-stream");
    xhr.upload.addEventListener("progress", (event) => onBytes(event.loaded));
    xhr.addEventListener("load", () => {
      if (ok.includes(xhr.status)) {
        resolve(xhr);
        return;
      }
      let problem = {};
      try {
        problem = JSON.parse(xhr.responseText) || {};
      } catch {
        // not JSON: the status says enough
      }
      reject(new ApiError(xhr.status, problem));
    });
    xhr.addEventListener("error", () => reject(stopped(signal)));
    xhr.addEventListener("abort", () => reject(stopped(signal)));
    xhr.send(chunk);
  });
}

/** PATCH one chunk at `offset`; resolves with the server's new offset. */
async function patch(url, offset, chunk, checksum, onBytes, signal) {
  const headers = { "Upload-Offset": String(offset), "Upload-Checksum": `sha1 ${checksum}` };
  const xhr = await send("PATCH", url, headers, chunk, (bytes) => onBytes(offset + bytes), [204], signal);
  return Number(xhr.getResponseHeader("Upload-Offset"));
}

async function serverOffset(url, signal) {
  const response = await call(url, "HEAD", {}, signal);
  // Gone (or never ours): create it again. 410 is a self-check link that closed: a HEAD
  // answer has no body, the creation's answer says why.
  if (response.status === 404 || response.status === 410) return null;
  if (!response.ok) throw new ApiError(response.status, {});
  return Number(response.headers.get("Upload-Offset"));
}

// The Blob's size; the size recorded at capture once the Blob was dropped after the sync.
const sizeOf = (capture) => (capture.blob ? capture.blob.size : capture.size);

function hexBase64(hex) {
  return btoa(String.fromCharCode(...hex.match(/../g).map((byte) => parseInt(byte, 16))));
}

async function create(capture, onProgress, signal) {
  const metadata = [
    ["client_uuid", capture.client_uuid],
    ["sha256", capture.sha256],
    ["filetype", capture.mime],
  ]
    .map(([key, value]) => `${key} ${b64(value)}`)
    .join(",");
  const headers = { "Upload-Length": String(sizeOf(capture)), "Upload-Metadata": metadata };
  if (capture.blob && capture.blob.size <= CHUNK_BYTES && /^[0-9a-f]{64}$/i.test(capture.sha256 || "")) {
    // A file of one chunk (every photo) goes up with its creation: one request, checked
    // against the SHA-256 taken at capture (tus creation-with-upload). Creating the same
    // UUID again (an answer lost) is answered with the same upload.
    headers["Upload-Checksum"] = `sha256 ${hexBase64(capture.sha256)}`;
    const xhr = await send("POST", target().uploads, headers, capture.blob, onProgress, [200, 201], signal);
    return { url: xhr.getResponseHeader("Location"), offset: Number(xhr.getResponseHeader("Upload-Offset") || 0) };
  }
  const response = await call(target().uploads, "POST", headers, signal);
  if (response.status !== 201 && response.status !== 200) throw await problemOf(response);
  return { url: response.headers.get("Location"), offset: Number(response.headers.get("Upload-Offset") || 0) };
}

/**
 * Send `capture` (from the offline store) whole. `onCreated(url)` is told the upload's
 * address (keep it to resume), `onProgress(bytes)` the bytes the server holds or is being
 * sent; `signal` stops it (UploadAborted). Resolves with the upload id; throws NetworkError
 * (retry later) or ApiError (refused).
 */
export async function tusUpload(capture, { onCreated = () => {}, onProgress = () => {}, signal = undefined } = {}) {
  if (signal?.aborted) throw new UploadAborted();
  let url = capture.upload_url;
  let offset = url ? await serverOffset(url, signal) : null;
  if (offset === null) {
    ({ url, offset } = await create(capture, onProgress, signal));
    await onCreated(url);
  }
  const length = sizeOf(capture);
  onProgress(offset);
  // A file confirmed by the server has no Blob left on the phone (dropped to save space):
  // nothing to send while the server holds every byte.
  if (offset < length && !capture.blob) throw new Error("文件已从本机删除，无法重新上传");
  while (offset < length) {
    if (signal?.aborted) throw new UploadAborted();
    const chunk = capture.blob.slice(offset, offset + CHUNK_BYTES);
    try {
      offset = await patch(url, offset, chunk, await sha1Base64(chunk), onProgress, signal);
    } catch (err) {
      // The server has another offset (a chunk whose answer was lost): ask and go on.
      if (!(err instanceof ApiError && err.status === 409 && err.problem.code === "upload_offset_mismatch")) throw err;
      offset = await serverOffset(url, signal);
      if (offset === null) throw err;
    }
    onProgress(offset);
  }
  return url.split("/").pop();
}

/** Drop an upload that will never be attached (tus termination); false when the server
 * could not be asked or would not (it stays then, unattached). */
export async function terminateUpload(url) {
  try {
    return (await call(url, "DELETE")).ok;
  } catch {
    return false;
  }
}
