// The QR labels of checkpoints as the phone reads them: the shape of a label (its URL or its
// payload, as inspection_api/checkpoints/qr.py signs it) and the camera watched until a QR
// code shows. Only the server can tell whether a label's signature is genuine.

// A label's payload: 1.{id}.{generation}.{signature}.
const LABEL_PAYLOAD = /^1\.([1-9]\d{0,9})\.[1-9]\d{0,9}\.[A-Za-z0-9_-]{22}$/;
const LABEL_PATH = "/s/";

/** The text of a path segment; as it stands when it is no valid %-encoding. */
export function decodedOr(segment) {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The checkpoint id a scanned text names if it has the shape of one of our labels (the
 * label URL, from any host, or its payload), else null. */
export function labelCheckpointId(text) {
  let payload = text.trim();
  if (payload.length > 200) return null;
  if (payload.includes("/")) {
    let path;
    try {
      path = new URL(payload, window.location.origin).pathname;
    } catch {
      return null;
    }
    if (!path.includes(LABEL_PATH)) return null;
    // As the server reads it: no decoding, a payload is URL-safe text.
    payload = path.slice(path.lastIndexOf(LABEL_PATH) + LABEL_PATH.length).replace(/^\/+|\/+$/g, "");
  }
  const match = LABEL_PAYLOAD.exec(payload);
  return match ? Number(match[1]) : null;
}

/** Show `stream` in `video` and read its frames (jsQR) until a QR code shows: resolves with
 * its text, the camera stopped and the video hidden again. */
export function readQr(video, stream) {
  video.srcObject = stream;
  video.hidden = false;
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (!video.videoWidth) return;
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      context.drawImage(video, 0, 0);
      const found = window.jsQR(context.getImageData(0, 0, canvas.width, canvas.height).data, canvas.width, canvas.height);
      if (!found || !found.data) return;
      clearInterval(timer);
      for (const track of stream.getTracks()) track.stop();
      video.hidden = true;
      video.srcObject = null;
      resolve(found.data);
    }, 250);
  });
}
