// 检查计划: the dialogs — 全局规则 (the bank's form, field by field), 检查计划 with an org tree
// picker, and the preview of the tasks either would generate before saving. The server
// checks every rule; its per-field errors appear under the fields and nothing typed is lost.
import { ApiError, api } from "../api.js";
import { h, show } from "../dom.js";
import { ORG_KIND_LABELS, ROLE_LABELS } from "../labels.js";
import { field, showFieldErrors } from "../forms.js";
import { confirmAction } from "./checkpoint-dialogs.js";

// What a form's `send` returns when the user backs out at a confirmation: the dialog stays.
const CANCELLED = Symbol("cancelled");

export const FREQUENCY_LABELS = { year: "按年", month: "按月", day: "按天" };
export const INSPECTION_TYPE_LABELS = { existing: "存量", new: "新增" };
export const UNIT_LABELS = { day: "天", month: "月", year: "年" };
export const EXIT_RULE_LABELS = { this_month: "当月停止", next_month: "次月停止" };
export const FIRST_RULE_LABELS = { this_month: "当月首巡", next_month: "次月首巡" };
export const KIND_LABELS = { regular: "常规检查", exit: "退出点检查" };
const EXECUTOR_ROLES = ["inspector", "reviewer", "exception_handler", "org_admin"];

export function ensurePlanStylesheet() {
  if (document.querySelector('link[href="/static/css/plans.css"]')) return;
  document.head.append(h("link", { rel: "stylesheet", href: "/static/css/plans.css" }));
}

export function scheduleText(rule) {
  const every = rule.interval === 1 ? "" : `每 ${rule.interval} `;
  const unit = { year: "年", month: "个月", day: "天" }[rule.frequency];
  return rule.interval === 1 ? `${FREQUENCY_LABELS[rule.frequency]}（每${unit === "个月" ? "月" : unit}）` : `${FREQUENCY_LABELS[rule.frequency]}（${every}${unit}）`;
}

function modal(title, ...content) {
  const dialog = h("dialog", { class: "dialog dialog-wide plan-dialog", "aria-label": title }, h("h2", {}, title), ...content);
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  return dialog;
}

/** A radio group (是/否, 当月/次月…): a fieldset whose legend is the label. */
function radios(name, label, options, value) {
  return h(
    "fieldset",
    { class: "field radios" },
    h("legend", { class: "field-label" }, label),
    h(
      "div",
      { class: "radio-row" },
      Object.entries(options).map(([code, text]) =>
        h("label", {}, h("input", { type: "radio", name, value: code, checked: String(code) === String(value) }), text),
      ),
    ),
    h("span", { class: "field-error", "data-error-for": name, hidden: true }),
  );
}

function select(options, value) {
  return h("select", {}, Object.entries(options).map(([code, label]) => h("option", { value: code, selected: code === String(value ?? "") }, label)));
}

const text = (value, attrs = {}) => h("input", { type: "text", value: value ?? "", autocomplete: "off", ...attrs });
const dateInput = (value) => h("input", { type: "date", value: value ?? "" });

function reportError(form, err) {
  const formError = form.querySelector(".form-error");
  const errors = err instanceof ApiError ? err.fieldErrors : {};
  const fieldShown = showFieldErrors(form, errors);
  show(formError, err instanceof ApiError ? (fieldShown ? "请修改标出的项目" : err.detail) : "保存失败，请稍后再试");
}

function actions(submitLabel, onCancel, extra = null) {
  return [
    h("p", { class: "form-error", role: "alert", hidden: true }),
    h(
      "div",
      { class: "dialog-actions" },
      extra,
      h("button", { type: "button", class: "btn", onclick: onCancel }, "取消"),
      h("button", { type: "submit", class: "btn btn-primary" }, submitLabel),
    ),
  ];
}

/** Submit: `send(body)` resolves the dialog; a refusal shows its errors, keeping the form. */
function runForm(dialog, form, collect, send, done) {
  const submit = form.querySelector("button[type=submit]");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showFieldErrors(form, {});
    show(form.querySelector(".form-error"), "");
    submit.disabled = true;
    try {
      const result = await send(collect());
      if (result === CANCELLED) {
        submit.disabled = false;
        return;
      }
      done(result);
      dialog.close();
    } catch (err) {
      submit.disabled = false;
      reportError(form, err);
    }
  });
}

/** The preview panel: counts per period and a sample of the tasks. */
export function renderPreview(box, result) {
  box.replaceChildren(
    h(
      "p",
      { class: "preview-summary", "data-testid": "preview-summary" },
      `范围内 ${result.checkpoints} 个检查点，至 ${result.until} 将生成 ${result.total} 个任务，其中 ${result.due_now} 个保存后立即生成`,
      result.overridden ? `；${result.overridden} 个检查点由更具体的计划管理` : "",
    ),
    result.removed
      ? h("p", { class: "form-error", "data-testid": "preview-removed" }, `保存后将删除 ${result.removed} 个尚未开始的任务（已开始和已完成的任务不受影响）`)
      : null,
    result.periods.length
      ? h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "table", "data-testid": "preview-periods" },
            h("thead", {}, h("tr", {}, ["检查周期", "类型", "任务数", ""].map((t) => h("th", { scope: "col" }, t)))),
            h(
              "tbody",
              {},
              result.periods.map((p) =>
                h(
                  "tr",
                  {},
                  h("td", { class: "nowrap" }, `${p.period_start} 至 ${lastDay(p.period_end)}`),
                  h("td", {}, KIND_LABELS[p.kind]),
                  h("td", {}, String(p.count)),
                  h("td", {}, p.due_now ? h("span", { class: "badge badge-soon" }, "立即生成") : ""),
                ),
              ),
            ),
          ),
        )
      : h("p", { class: "empty" }, "没有需要生成的任务"),
    result.sample.length
      ? h("p", { class: "hint" }, "示例：", result.sample.slice(0, 5).map((s) => `${s.checkpoint_code} ${s.checkpoint_name}（${s.period_start}）`).join("，"))
      : null,
  );
}

export function lastDay(periodEnd) {
  const day = new Date(`${periodEnd}T00:00:00Z`);
  day.setUTCDate(day.getUTCDate() - 1);
  return day.toISOString().slice(0, 10);
}

async function runPreview(form, box, body) {
  showFieldErrors(form, {});
  show(form.querySelector(".form-error"), "");
  box.replaceChildren(h("p", { class: "loading" }, "预览中…"));
  try {
    renderPreview(box, await api("/api/v1/plans/preview", { method: "POST", body }));
  } catch (err) {
    box.replaceChildren();
    reportError(form, err);
  }
}

/** 全局规则添加 / 编辑. Resolves with the saved rule, or null. */
export function editRule({ rule, me }) {
  return new Promise((resolve) => {
    const r = rule || { org_kind: "sub_branch", auto_join: true, frequency: "month", interval: 1, inspection_type: "existing", validity: 1, validity_unit: "month", exit_rule: "this_month", exit_interval: 0, exit_unit: "month", exit_count: 0, first_rule: "next_month" };
    const number = (value) => text(value, { inputmode: "numeric" });
    const box = h("div", { class: "preview", "data-testid": "rule-preview" });
    const previewButton = h("button", { type: "button", class: "btn" }, "预览任务");
    const form = h(
      "form",
      { class: "form plan-form", novalidate: true },
      h(
        "div",
        { class: "form-grid" },
        field("org_kind", "机构类型", select(ORG_KIND_LABELS, r.org_kind)),
        field("name", "规则名称", text(r.name, { maxlength: "100", placeholder: "例如：支行检查" })),
        radios("auto_join", "自动加入（新建组织机构时自动创建计划）", { false: "否", true: "是" }, r.auto_join),
        field("frequency", "计划频次", select(FREQUENCY_LABELS, r.frequency)),
        field("interval", "时间间隔", number(r.interval), "每几个频次单位检查一次"),
        field("inspection_type", "检查类型", select(INSPECTION_TYPE_LABELS, r.inspection_type)),
        field("validity", "历史检查有效期", number(r.validity), "0：检查只算当期；后续周期须整期都在有效期内才算完成"),
        radios("validity_unit", "有效期单位", UNIT_LABELS, r.validity_unit),
        field("start_date", "开始时间", dateInput(r.start_date)),
        field("end_date", "结束时间", dateInput(r.end_date), "留空为长期"),
        radios("exit_rule", "退出规则", EXIT_RULE_LABELS, r.exit_rule),
        radios("first_rule", "首巡开始规则", FIRST_RULE_LABELS, r.first_rule),
        field("exit_interval", "退出点检查频率", number(r.exit_interval)),
        field("exit_count", "退出点检查次数", number(r.exit_count), "0：退出后不再检查"),
        radios("exit_unit", "退出点频率单位", { month: "月", day: "天" }, r.exit_unit),
      ),
      box,
      ...actions(rule ? "保存规则" : "添加规则", () => dialog.close(), previewButton),
    );
    const dialog = modal(rule ? `编辑规则：${r.name}` : "全局规则添加", form);
    let saved = null;
    dialog.addEventListener("close", () => resolve(saved));
    const collect = () => {
      const value = (name) => form.elements[name].value.trim();
      const checked = (name) => form.querySelector(`input[name="${name}"]:checked`)?.value;
      const int = (name) => (value(name) === "" ? null : Number(value(name)));
      return {
        org_kind: value("org_kind"),
        name: value("name"),
        auto_join: checked("auto_join") === "true",
        frequency: value("frequency"),
        interval: int("interval"),
        inspection_type: value("inspection_type"),
        validity: int("validity"),
        validity_unit: checked("validity_unit"),
        start_date: value("start_date") || null,
        end_date: value("end_date") || null,
        exit_rule: checked("exit_rule"),
        exit_interval: int("exit_interval"),
        exit_unit: checked("exit_unit"),
        exit_count: int("exit_count"),
        first_rule: checked("first_rule"),
      };
    };
    previewButton.addEventListener("click", () => runPreview(form, box, { rule: collect(), org_ids: [me.org.id] }));
    const send = (body) =>
      rule ? api(`/api/v1/plan-rules/${rule.id}`, { method: "PATCH", body }) : api("/api/v1/plan-rules", { method: "POST", body });
    runForm(dialog, form, collect, send, (result) => (saved = result));
    dialog.showModal();
    form.elements.name.focus();
  });
}

/** The org tree with a checkbox per org: tick an org for one plan covering all below it. */
function orgPicker(orgs, checkedIds, disabled) {
  const depth = (org) => org.path.split("/").filter(Boolean).length;
  const top = Math.min(...orgs.map(depth));
  return h(
    "fieldset",
    { class: "field org-picker" },
    h("legend", { class: "field-label" }, "适用机构"),
    h("span", { class: "hint" }, "勾选上级机构即对其下全部支行整体设置；分别勾选各支行即单独设置（每个机构一个计划）"),
    h(
      "div",
      { class: "org-picker-list", role: "group", "aria-label": "适用机构" },
      orgs.map((org) =>
        h(
          "label",
          { style: `padding-left: ${(depth(org) - top) * 1.25}rem` },
          h("input", { type: "checkbox", name: "org_ids", value: String(org.id), checked: checkedIds.includes(org.id), disabled }),
          `${org.name}`,
          h("span", { class: "muted" }, ` ${ORG_KIND_LABELS[org.kind]}`),
        ),
      ),
    ),
    h("span", { class: "field-error", "data-error-for": "org_ids", hidden: true }),
  );
}

/** 新建/编辑检查计划. Resolves with the saved plans (a list), or null. */
export function editPlan({ plan, rules, orgs, templates }) {
  return new Promise((resolve) => {
    const p = plan || { executor_role: "inspector" };
    const ruleOptions = Object.fromEntries(rules.map((r) => [String(r.id), `${r.name}（${r.org_name} · ${scheduleText(r)}）`]));
    const box = h("div", { class: "preview", "data-testid": "plan-preview" });
    const previewButton = h("button", { type: "button", class: "btn" }, "预览任务");
    const form = h(
      "form",
      { class: "form plan-form", novalidate: true },
      h(
        "div",
        { class: "form-grid" },
        field("rule_id", "全局规则", select(ruleOptions, p.rule_id ?? rules[0]?.id)),
        field("name", "计划名称", text(p.name, { maxlength: "100", placeholder: "留空：规则名称 · 机构名称" })),
        field("start_date", "开始时间", dateInput(p.start_date), "留空为规则的开始时间"),
        field("end_date", "结束时间", dateInput(p.end_date), plan ? "留空为长期" : "留空为规则的结束时间"),
        field("executor_role", "执行角色", select(Object.fromEntries(EXECUTOR_ROLES.map((r) => [r, ROLE_LABELS[r]])), p.executor_role)),
        field(
          "checklist_template_id",
          "检查模板",
          select({ "": "省行现行模板（默认）", ...Object.fromEntries(templates.map((t) => [String(t.id), `${t.name}（${t.org_name}）`])) }, p.checklist_template_id),
        ),
      ),
      orgPicker(orgs, plan ? [plan.org_id] : [], Boolean(plan)),
      box,
      ...actions(plan ? "保存计划" : "保存计划", () => dialog.close(), previewButton),
    );
    const dialog = modal(plan ? `编辑检查计划：${p.name}` : "新建检查计划", form);
    let saved = null;
    dialog.addEventListener("close", () => resolve(saved));
    const collect = () => {
      const value = (name) => form.elements[name].value.trim();
      const body = {
        rule_id: Number(value("rule_id")) || null,
        start_date: value("start_date") || null,
        end_date: value("end_date") || null,
        executor_role: value("executor_role"),
        checklist_template_id: Number(value("checklist_template_id")) || null,
      };
      if (value("name")) body.name = value("name");
      if (!plan) {
        body.org_ids = [...form.querySelectorAll('input[name="org_ids"]:checked')].map((box) => Number(box.value));
        if (!body.start_date) delete body.start_date;
        if (!body.end_date) delete body.end_date;
      }
      return body;
    };
    const previewOf = (body) => {
      const preview = { rule_id: body.rule_id, org_ids: plan ? [plan.org_id] : body.org_ids, plan_id: plan?.id ?? null };
      if (body.start_date) preview.start_date = body.start_date;
      if ("end_date" in body) preview.end_date = body.end_date;
      return preview;
    };
    previewButton.addEventListener("click", () => runPreview(form, box, previewOf(collect())));
    const send = async (body) => {
      // Saving replaces open tasks: say how many before doing it (started and done stay).
      const check = await api("/api/v1/plans/preview", { method: "POST", body: previewOf(body) });
      renderPreview(box, check);
      if (check.removed) {
        const yes = await confirmAction({
          title: "确认保存检查计划",
          message: `保存后将删除 ${check.removed} 个尚未开始的任务，由新计划的任务代替或不再检查；已开始和已完成的任务不受影响。确定保存吗？`,
          confirmLabel: "确认保存",
        });
        if (!yes) return CANCELLED;
      }
      return plan ? [await api(`/api/v1/plans/${plan.id}`, { method: "PATCH", body })] : (await api("/api/v1/plans", { method: "POST", body })).items;
    };
    runForm(dialog, form, collect, send, (result) => (saved = result));
    dialog.showModal();
  });
}
