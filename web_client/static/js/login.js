import { ApiError, api } from "./api.js";
import { show } from "./dom.js";
import { LOGIN_REASONS } from "./labels.js";

const form = document.getElementById("login-form");
const username = document.getElementById("username");
const password = document.getElementById("password");
const submit = document.getElementById("login-submit");
const error = document.getElementById("login-error");
const notice = document.getElementById("login-notice");

let countdown = null;

/** Where to go after logging in: `?next=` when it is a path of this site, else the console. */
function nextPath() {
  const raw = new URLSearchParams(window.location.search).get("next") || "";
  if (!raw.startsWith("/") || raw.startsWith("//") || raw.startsWith("/\\")) return "/console";
  try {
    const url = new URL(raw, window.location.origin);
    return url.origin === window.location.origin ? url.pathname + url.search + url.hash : "/console";
  } catch {
    return "/console";
  }
}

function setBusy(busy) {
  submit.disabled = busy;
  submit.textContent = busy ? "登录中…" : "登录";
}

/** After a 429 the button stays disabled, counting down the server's Retry-After. */
function waitBeforeRetry(seconds) {
  clearInterval(countdown);
  let left = Math.max(1, Math.ceil(seconds));
  submit.disabled = true;
  const tick = () => {
    if (left <= 0) {
      clearInterval(countdown);
      setBusy(false);
      return;
    }
    submit.textContent = `请 ${left} 秒后再试`;
    left -= 1;
  };
  tick();
  countdown = setInterval(tick, 1000);
}

async function onSubmit(event) {
  event.preventDefault();
  show(error, "");
  if (!username.value.trim() || !password.value) {
    show(error, "请输入用户名和密码");
    (username.value.trim() ? password : username).focus();
    return;
  }
  setBusy(true);
  try {
    await api("/api/v1/auth/login", {
      method: "POST",
      body: { username: username.value.trim(), password: password.value },
    });
    window.location.replace(nextPath());
  } catch (err) {
    const detail = err instanceof ApiError ? err.detail : "登录失败，请稍后再试";
    show(error, detail);
    if (err instanceof ApiError && err.status === 429 && err.retryAfter) {
      waitBeforeRetry(Number(err.retryAfter));
    } else {
      setBusy(false);
    }
    password.value = "";
    password.focus();
  }
}

async function start() {
  const reason = new URLSearchParams(window.location.search).get("reason");
  show(notice, LOGIN_REASONS[reason] || "");
  form.addEventListener("submit", onSubmit);
  username.focus();
  // Someone who is still logged in has no business here.
  try {
    await api("/api/v1/auth/me");
    window.location.replace(nextPath());
  } catch {
    // not logged in: stay
  }
}

start();
