// JSON API calls. Errors arrive as RFC 9457 problem+json; callers show `detail` and the
// per-field `errors`. The UI is zh-CN, so it asks for zh-CN messages whatever the browser
// language is.

export class ApiError extends Error {
  constructor(status, problem, retryAfter = null) {
    super(problem.detail || `请求失败（${status}）`);
    this.status = status;
    this.problem = problem;
    this.retryAfter = retryAfter;
  }

  get detail() {
    return this.message;
  }

  /** Field errors keyed by the last part of their name: "body.new_password" → "new_password". */
  get fieldErrors() {
    const byField = {};
    for (const error of this.problem.errors || []) {
      const name = String(error.field || "").split(".").pop();
      if (name && !(name in byField)) byField[name] = error.message;
    }
    return byField;
  }
}

export async function api(path, { method = "GET", body, headers: extra = {} } = {}) {
  const headers = { Accept: "application/json", "Accept-Language": "zh-CN", ...extra };
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, { detail: "无法连接服务器，请检查网络后重试" });
  }
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await response.json().catch(() => null) : null;
  if (!response.ok) {
    const problem = data && typeof data === "object" ? data : {};
    throw new ApiError(response.status, problem, response.headers.get("Retry-After"));
  }
  return data;
}

/** Send the browser to the login page; `reason` picks the message shown there. */
export function goToLogin(reason) {
  const query = reason ? `?reason=${encodeURIComponent(reason)}` : "";
  window.location.replace(`/login${query}`);
}

/**
 * The signed-in user, named in the page's top bar (#user-name, #user-org). Without a
 * session the browser goes to the login page and this resolves to null; other failures
 * are thrown for the page to show.
 */
export async function signedInUser() {
  let me;
  try {
    me = await api("/api/v1/auth/me");
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      goToLogin();
      return null;
    }
    throw err;
  } finally {
    document.body.classList.remove("is-loading");
  }
  document.getElementById("user-name").textContent = me.display_name || me.username;
  document.getElementById("user-org").textContent = me.org.name;
  return me;
}
