// The phone's storage for offline work: how much the browser lets this site keep, and a
// request that it is not evicted under pressure (photos and videos wait here for network).
const WARN_AT = 0.8; // of the quota

const size = (bytes) =>
  bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GB` : `${Math.max(0.1, bytes / 1024 ** 2).toFixed(1)} MB`;

/**
 * `{ text, warning }` in plain Chinese: used and available, with a warning past 80 %; null
 * where the browser cannot tell. Asks once for persistent storage (granted or not is said).
 */
export async function storageStatus() {
  if (!navigator.storage?.estimate) return null;
  const persisted = navigator.storage.persist ? await navigator.storage.persist().catch(() => false) : false;
  const { usage = 0, quota = 0 } = await navigator.storage.estimate();
  if (!quota) return null;
  const share = usage / quota;
  const kept = persisted ? "浏览器已同意长期保存本机数据" : "浏览器未承诺长期保存，空间紧张时可能清理本机数据";
  const used = `本机已用 ${size(usage)}，可用 ${size(quota)}（${Math.floor(share * 100)}%）`;
  if (share >= WARN_AT) {
    return { warning: true, text: `存储空间即将用完：${used}。请联网上传待上传的检查，或删除不需要的照片和视频。${kept}。` };
  }
  return { warning: false, text: `${used}；${kept}。` };
}
