// Scanning a checkpoint's label on the on-site page (onsite-page.js): the camera, what was
// read, and the verdict — refused, another checkpoint than the task's (the inspector
// chooses), or go on with it.
import { ApiError, api } from "./api.js";
import { mediaErrorText } from "./capture.js";
import { h, show } from "./dom.js";
import { isOffline } from "./offline-shell.js";
import { labelCheckpointId, readQr } from "./qr-label.js";

const $ = (id) => document.getElementById(id);

const NOT_A_LABEL = "二维码无效：不是本平台的检查点标签，请扫描检查点现场张贴的二维码标签";
export const UNVERIFIED = "二维码待同步核验";

/**
 * `expectedId`: the task's checkpoint (null without a task), `expected()` it as loaded;
 * `use(text, checkpoint)` goes on with a label (`checkpoint` null offline); `dropped()` is
 * told when the label read is not used; `toLogin`, `fail` as the page does them.
 */
export function labelScanner({ expectedId, expected, use, dropped, toLogin, fail }) {
  async function scan() {
    const video = $("scan-video");
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: "environment" } } });
    } catch (err) {
      show($("page-error"), mediaErrorText(err));
      return;
    }
    $("scan-start").hidden = true;
    $("scan-problem").hidden = true;
    const text = await readQr(video, stream);
    readLabel(text).catch((err) => fail(err));
  }

  /** A refused scan: the reason, and the camera again. Nothing asks for a fix. */
  function refuseLabel(reason) {
    dropped();
    const problem = $("scan-problem");
    problem.className = "onsite-verdict alert";
    problem.setAttribute("role", "alert");
    problem.replaceChildren(h("p", {}, reason));
    problem.hidden = false;
    $("scan-step").hidden = false;
    $("scan-start").textContent = "重新扫码";
    $("scan-start").hidden = false;
    if (!expected()) $("locate-step").hidden = true;
  }

  /**
   * What was scanned (or opened by /s/{payload}): not label-shaped → refused at once; online
   * the server reads it (forged, other bank's, retired, outside the jurisdiction → refused);
   * offline it is kept unverified (二维码待同步核验) for the server to check at the sync.
   */
  async function readLabel(text) {
    show($("page-error"), "");
    $("scan-problem").hidden = true;
    const scannedId = labelCheckpointId(text);
    if (scannedId === null) {
      refuseLabel(NOT_A_LABEL);
      return;
    }
    let checkpoint = null;
    if (navigator.onLine) {
      try {
        checkpoint = await api("/api/v1/checkpoints/read-label", { method: "POST", body: { qr: text } });
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) return toLogin();
        if (!isOffline(err) && !(err instanceof ApiError && err.status === 0)) {
          refuseLabel(err.message);
          return;
        }
      }
    }
    if (expectedId !== null && scannedId !== expectedId) {
      askWhichSite(text, checkpoint);
      return;
    }
    use(text, checkpoint);
  }

  /** A label of another checkpoint than the task's: say so, and let the inspector choose. */
  function askWhichSite(text, checkpoint) {
    dropped();
    const wanted = expected() ? `「${expected().name}」` : "";
    const scanned = checkpoint ? `检查点「${checkpoint.name}」（${checkpoint.customer_name}）的标签` : `另一检查点的标签（${UNVERIFIED}）`;
    const problem = $("scan-problem");
    problem.className = "onsite-verdict notice";
    problem.setAttribute("role", "alert");
    problem.replaceChildren(
      h("p", {}, `扫描到的是${scanned}，不是本任务的检查点${wanted}。`),
      h(
        "div",
        { class: "onsite-choice" },
        h("button", { type: "button", class: "btn", onclick: () => use(text, checkpoint) }, checkpoint ? `改为检查「${checkpoint.name}」` : "仍检查扫描到的检查点"),
        h("button", { type: "button", class: "btn btn-primary", onclick: () => scan() }, "重新扫码"),
      ),
    );
    problem.hidden = false;
    $("scan-start").hidden = true;
  }

  return { scan, readLabel };
}
