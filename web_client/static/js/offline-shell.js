// Installs the phone pages' service worker (/sw.js) and says plainly when the page cannot
// work offline: no service worker (an old browser, or http:// on a LAN address, which is
// not a secure context) or no network right now.
export const NO_WORKER =
  "此浏览器不支持离线使用：无网络时本页面无法打开。请使用最新版手机浏览器并通过 HTTPS 访问。";
export const OFFLINE = "当前无网络：页面已从手机缓存打开，联网后即可继续检查。";

/** Register the service worker; the message to show when offline use is unavailable. */
export async function installShell() {
  if (!("serviceWorker" in navigator) || !window.isSecureContext) return NO_WORKER;
  try {
    await navigator.serviceWorker.register("/sw.js", { scope: "/" });
    return null;
  } catch {
    return NO_WORKER;
  }
}

/** A fetch that failed for want of network (not an answer of the server). */
export function isOffline(err) {
  return !navigator.onLine || err instanceof TypeError;
}
