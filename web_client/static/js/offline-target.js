// Where offline work is kept and sent: a staff member's (their session; /api/v1/uploads and
// /api/v1/offline/sync) or an enterprise contact's self-check (the invite link is the
// credential: its own uploads and sync under /api/v1/self-checks/{token}, with the phone's
// X-Device-Id). Each target has its own IndexedDB database, so a contact's data never mixes
// with staff data on a shared phone, nor one link's with another's. A page picks its target
// once, before it opens the store (offline-store.js), uploads (tus-upload.js) or syncs
// (outbox.js).

export const STAFF = {
  selfCheck: false,
  db: "loancheck-offline",
  uploads: "/api/v1/uploads",
  sync: "/api/v1/offline/sync",
  headers: () => ({}),
};

/** The target of the self-check a link opens; `deviceId()` is the phone's id (capture.js). */
export function selfCheckTarget(token, deviceId) {
  const base = `/api/v1/self-checks/${encodeURIComponent(token)}`;
  return {
    selfCheck: true,
    db: `loancheck-selfcheck-${token}`,
    uploads: `${base}/uploads`,
    sync: `${base}/sync`,
    headers: () => ({ "X-Device-Id": deviceId() }),
  };
}

let current = STAFF;

export function useTarget(next) {
  current = next;
}

export function target() {
  return current;
}
