// 检查点详情: the checkpoint's data, its GPS position with Baidu/Amap navigation, its QR
// label (preview, PNG/SVG, label PDF, 重新生成) and the administrators' actions.
import { ApiError, api } from "../api.js";
import { clear, formatTime, h, show } from "../dom.js";
import { mapLinks } from "../navigation.js";
import {
  CLASSIFICATION_LABELS,
  EXIT_REASON_LABELS,
  confirmAction,
  downloadFile,
  editCheckpoint,
  markExit,
} from "./checkpoint-dialogs.js";

const yuan = new Intl.NumberFormat("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export function statusBadge(cp) {
  if (cp.status === "exited") {
    return h("span", { class: "badge badge-off" }, `退出点 · ${EXIT_REASON_LABELS[cp.exit_reason] || cp.exit_reason}`);
  }
  return h("span", { class: "badge badge-ok" }, "在检");
}

export function positionBadge(cp) {
  return cp.latitude === null
    ? h("span", { class: "badge badge-soon" }, "未定位")
    : h("span", { class: "badge badge-ok" }, "已定位");
}

function row(label, ...value) {
  return [h("dt", {}, label), h("dd", {}, ...value)];
}

function info(cp) {
  const amount = cp.loan_amount === null ? "—" : `${yuan.format(Number(cp.loan_amount))} 元`;
  const radius = cp.radius_m === null ? `${cp.effective_radius_m} 米（全局默认）` : `${cp.radius_m} 米`;
  const position =
    cp.latitude === null
      ? "未定位：首次现场扫码签到时自动设定"
      : `${cp.latitude.toFixed(6)}, ${cp.longitude.toFixed(6)}（WGS-84，${formatTime(cp.bound_at)} 定位）`;
  return h(
    "dl",
    { class: "facts", "data-testid": "checkpoint-facts" },
    row("企业/借款人", cp.customer_name),
    row("所属支行", cp.org_name),
    row("贷款金额", amount),
    row("放款日期", cp.loan_date || "—"),
    row("到期日", cp.maturity_date || "—"),
    row("五级分类", CLASSIFICATION_LABELS[cp.classification] || "—"),
    row("地址", cp.address || "—"),
    row("企业联系人", cp.contact_name || "—"),
    row("联系电话", cp.contact_phone || "—"),
    row("误差范围", radius),
    row("GPS默认位置", position),
    row("最近签到", cp.last_checked_in_at ? formatTime(cp.last_checked_in_at) : "—"),
    cp.status === "exited"
      ? row("退出", `${EXIT_REASON_LABELS[cp.exit_reason]}，${cp.exit_date}${cp.exit_note ? `：${cp.exit_note}` : ""}`)
      : null,
  );
}

function navigation(cp) {
  return mapLinks(cp.navigation) || h("p", { class: "hint" }, "定位后可用百度地图、高德地图导航到检查点。");
}

/**
 * Render one checkpoint into `container`; `ctx` has `me`, `onError`, `subBranches`,
 * `defaultRadius`, `onBack()` and `onChanged()` (the list is stale after a change).
 */
export async function renderDetail(container, id, ctx) {
  const canManage = ctx.me.permissions.includes("checkpoint.manage");
  clear(container).append(h("p", { class: "loading" }, "加载中…"));
  let cp;
  let qr;
  try {
    [cp, qr] = await Promise.all([api(`/api/v1/checkpoints/${id}`), api(`/api/v1/checkpoints/${id}/qr`)]);
  } catch (err) {
    clear(container);
    ctx.onError(err, container);
    return;
  }
  const message = h("p", { class: "form-error", role: "alert", hidden: true });
  const done = h("p", { class: "form-success", role: "status", hidden: true });
  const rerender = (note) =>
    renderDetail(container, id, ctx).then(() => note && show(container.querySelector("[role=status]"), note));

  async function act(work, note) {
    show(message, "");
    try {
      if ((await work()) === null) return; // cancelled
      ctx.onChanged();
      await rerender(note);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) ctx.onError(err, message);
      else show(message, err instanceof ApiError ? err.detail : "操作失败，请稍后再试");
    }
  }

  const base = `/api/v1/checkpoints/${cp.id}`;
  const save = (path, label) => () =>
    downloadFile(`${base}/${path}`, label).catch((err) => show(message, err instanceof ApiError ? err.detail : "下载失败"));
  const qrButtons = [
    h("button", { type: "button", class: "btn", onclick: save("qr.png", `${cp.code}-二维码.png`) }, "下载 PNG"),
    h("button", { type: "button", class: "btn", onclick: save("qr.svg", `${cp.code}-二维码.svg`) }, "下载 SVG"),
    h(
      "button",
      {
        type: "button",
        class: "btn",
        onclick: () =>
          downloadFile(`/api/v1/checkpoints/labels.pdf?ids=${cp.id}`, `${cp.code}-二维码标签.pdf`).catch((err) =>
            show(message, err instanceof ApiError ? err.detail : "下载失败"),
          ),
      },
      "打印标签（PDF）",
    ),
  ];
  if (canManage) {
    qrButtons.push(
      h(
        "button",
        {
          type: "button",
          class: "btn",
          onclick: () =>
            act(async () => {
              const ok = await confirmAction({
                title: "重新生成二维码",
                message: "重新生成后，已打印张贴的旧标签将立即作废，需打印新标签替换。确定重新生成吗？",
                confirmLabel: "重新生成",
              });
              return ok ? api(`${base}/qr/regenerate`, { method: "POST" }) : null;
            }, "已重新生成二维码，请打印新标签替换旧标签"),
        },
        "重新生成二维码",
      ),
    );
  }

  const manage = canManage
    ? h(
        "div",
        { class: "detail-actions" },
        h(
          "button",
          {
            type: "button",
            class: "btn btn-primary",
            onclick: () =>
              act(
                () => editCheckpoint({ checkpoint: cp, subBranches: ctx.subBranches, defaultRadius: ctx.defaultRadius }),
                "已保存",
              ),
          },
          "编辑",
        ),
        cp.status === "exited"
          ? h(
              "button",
              { type: "button", class: "btn", onclick: () => act(() => api(`${base}/reinstate`, { method: "POST" }), "已恢复检查") },
              "恢复检查",
            )
          : h("button", { type: "button", class: "btn", onclick: () => act(() => markExit(cp), "已标记为退出点") }, "标记退出点"),
        h(
          "button",
          {
            type: "button",
            class: "btn",
            disabled: cp.latitude === null,
            title: cp.latitude === null ? "尚未定位" : null,
            onclick: () =>
              act(async () => {
                const ok = await confirmAction({
                  title: "重置GPS",
                  message: `确定清除「${cp.name}」的GPS默认位置吗？清除后，下一次现场扫码签到将重新定位。`,
                  confirmLabel: "确认重置",
                });
                return ok ? api(`${base}/reset-position`, { method: "POST" }) : null;
              }, "已重置GPS，下一次现场扫码时重新定位"),
          },
          "重置GPS",
        ),
        h(
          "button",
          {
            type: "button",
            class: "btn btn-danger",
            onclick: async () => {
              const ok = await confirmAction({
                title: "删除检查点",
                message: `确定删除「${cp.name}」吗？仅用于删除误建的检查点；已有签到记录的请标记为退出点。`,
                confirmLabel: "删除",
              });
              if (!ok) return;
              try {
                await api(base, { method: "DELETE" });
                ctx.onChanged();
                ctx.onBack();
              } catch (err) {
                show(message, err instanceof ApiError ? err.detail : "删除失败，请稍后再试");
              }
            },
          },
          "删除",
        ),
      )
    : null;

  clear(container).append(
    h(
      "section",
      { class: "card checkpoint-detail", "data-testid": "checkpoint-detail" },
      h(
        "div",
        { class: "card-head" },
        h("button", { type: "button", class: "btn btn-ghost", onclick: ctx.onBack }, "← 返回列表"),
        h("h2", {}, cp.name),
        h("span", { class: "mono muted" }, cp.code),
        statusBadge(cp),
        positionBadge(cp),
      ),
      manage,
      message,
      done,
      h(
        "div",
        { class: "detail-grid" },
        h("div", {}, info(cp), h("h3", { class: "section-title" }, "导航"), navigation(cp)),
        h(
          "div",
          { class: "qr-panel" },
          h("h3", {}, `二维码标签（第 ${qr.generation} 版）`),
          h("img", {
            src: `${base}/qr.svg?v=${qr.generation}`,
            alt: `${cp.name} 的二维码`,
            width: "200",
            height: "200",
            "data-testid": "qr-preview",
          }),
          h("p", { class: "qr-url mono" }, qr.url),
          h("div", { class: "qr-actions" }, qrButtons),
        ),
      ),
    ),
  );
}
