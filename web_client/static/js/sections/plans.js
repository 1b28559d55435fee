// 检查计划: the global rules (全局规则) and plans of the jurisdiction and above it, with each
// plan's progress per 支行 (counts by state, completion rate = done ÷ due).
import { ApiError, api } from "../api.js";
import { clear, h, show } from "../dom.js";
import { ORG_KIND_LABELS, ROLE_LABELS } from "../labels.js";
import { confirmAction, ensureStylesheet } from "./checkpoint-dialogs.js";
import {
  EXIT_RULE_LABELS,
  FIRST_RULE_LABELS,
  INSPECTION_TYPE_LABELS,
  UNIT_LABELS,
  editPlan,
  editRule,
  ensurePlanStylesheet,
  scheduleText,
} from "./plan-forms.js";

const percent = (rate) => (rate === null ? "—" : `${(rate * 100).toFixed(1)}%`);

function exitText(rule) {
  const checks = rule.exit_count ? `，之后每 ${rule.exit_interval} ${UNIT_LABELS[rule.exit_unit]}检查一次，共 ${rule.exit_count} 次` : "";
  return `${EXIT_RULE_LABELS[rule.exit_rule]}${checks}`;
}

export async function renderPlans(container, { me, onError }) {
  ensureStylesheet(); // dialogs, filters and tables shared with 检查点
  ensurePlanStylesheet();
  const canManage = me.permissions.includes("plan.manage");
  const message = h("p", { class: "form-success", role: "status", hidden: true });
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const rulesBody = h("div", {});
  const plansBody = h("div", {});
  const progressCard = h("section", { class: "card", hidden: true, "data-testid": "plan-progress" });
  container.append(
    message,
    error,
    h(
      "section",
      { class: "card" },
      h(
        "div",
        { class: "card-head" },
        h("h2", {}, "检查计划"),
        h("span", { class: "muted" }, "各机构的检查计划：更具体的机构（支行 > 分行 > 省行）的计划优先"),
        canManage ? h("button", { type: "button", class: "btn btn-primary head-action", onclick: createPlan }, "新建计划") : null,
      ),
      plansBody,
    ),
    progressCard,
    h(
      "section",
      { class: "card" },
      h(
        "div",
        { class: "card-head" },
        h("h2", {}, "全局规则"),
        h("span", { class: "muted" }, "计划频次、首巡、退出点与历史检查有效期"),
        canManage ? h("button", { type: "button", class: "btn head-action", onclick: createRule }, "添加规则") : null,
      ),
      rulesBody,
    ),
  );

  let rules = [];
  let orgs = [];

  function done(text) {
    show(error, "");
    show(message, text);
  }

  function failed(err) {
    if (err instanceof ApiError && err.status === 401) onError(err, error);
    else show(error, err instanceof ApiError ? err.detail : "操作失败，请稍后再试");
  }

  function rulesTable() {
    if (!rules.length) return h("p", { class: "empty" }, canManage ? "还没有规则，可点击「添加规则」" : "还没有规则");
    const heads = ["规则名称", "所属机构", "机构类型", "计划频次", "检查类型", "首巡", "退出规则", "有效期", "起止", "自动加入", "计划数", ""];
    return h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "table", "data-testid": "rules-table" },
        h("thead", {}, h("tr", {}, heads.map((t) => h("th", { scope: "col" }, t)))),
        h(
          "tbody",
          {},
          rules.map((rule) =>
            h(
              "tr",
              { "data-rule": rule.name },
              h("td", {}, rule.name),
              h("td", { class: "nowrap" }, rule.org_name),
              h("td", {}, ORG_KIND_LABELS[rule.org_kind]),
              h("td", { class: "nowrap" }, scheduleText(rule)),
              h("td", {}, INSPECTION_TYPE_LABELS[rule.inspection_type]),
              h("td", {}, FIRST_RULE_LABELS[rule.first_rule]),
              h("td", {}, exitText(rule)),
              h("td", { class: "nowrap" }, rule.validity ? `${rule.validity} ${UNIT_LABELS[rule.validity_unit]}` : "当期"),
              h("td", { class: "nowrap" }, `${rule.start_date} 至 ${rule.end_date || "长期"}`),
              h("td", {}, rule.auto_join ? "是" : "否"),
              h("td", {}, String(rule.plan_count)),
              h(
                "td",
                { class: "nowrap" },
                rule.editable ? h("button", { type: "button", class: "btn", onclick: () => changeRule(rule) }, "编辑") : null,
                rule.editable && !rule.plan_count ? h("button", { type: "button", class: "btn btn-danger", onclick: () => removeRule(rule) }, "删除") : null,
              ),
            ),
          ),
        ),
      ),
    );
  }

  function plansTable(plans) {
    if (!plans.length) return h("p", { class: "empty" }, canManage ? "还没有检查计划，可点击「新建计划」" : "还没有检查计划");
    const heads = ["计划名称", "适用机构", "全局规则", "起止", "执行角色", "检查模板", ""];
    return h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "table", "data-testid": "plans-table" },
        h("thead", {}, h("tr", {}, heads.map((t) => h("th", { scope: "col" }, t)))),
        h(
          "tbody",
          {},
          plans.map((plan) =>
            h(
              "tr",
              { "data-plan": plan.name },
              h("td", {}, plan.name, plan.auto_created ? h("span", { class: "badge badge-off" }, "自动加入") : null),
              h("td", { class: "nowrap" }, `${plan.org_name}（${ORG_KIND_LABELS[plan.org_kind]}）`),
              h("td", {}, plan.rule_name),
              h("td", { class: "nowrap" }, `${plan.start_date} 至 ${plan.end_date || "长期"}`),
              h("td", {}, ROLE_LABELS[plan.executor_role] || plan.executor_role),
              h("td", {}, plan.checklist_template_id ? templateNames.get(plan.checklist_template_id) || `检查模板 #${plan.checklist_template_id}` : h("span", { class: "muted" }, "省行现行模板（默认）")),
              h(
                "td",
                { class: "nowrap" },
                h("button", { type: "button", class: "btn", onclick: () => showProgress(plan) }, "进度"),
                plan.editable ? h("button", { type: "button", class: "btn", onclick: () => changePlan(plan) }, "编辑") : null,
                plan.editable ? h("button", { type: "button", class: "btn btn-danger", onclick: () => removePlan(plan) }, "删除") : null,
              ),
            ),
          ),
        ),
      ),
    );
  }

  let templateNames = new Map();
  async function reload() {
    try {
      let plans;
      // A plan's 检查模板 by name (the list only has its id); without the list, by number.
      const templates = api("/api/v1/checklist-templates?include_archived=true").catch(() => []);
      [rules, orgs, { items: plans }] = await Promise.all([api("/api/v1/plan-rules"), orgs.length ? orgs : api("/api/v1/orgs"), api("/api/v1/plans")]);
      templateNames = new Map((await templates).map((t) => [t.id, t.name]));
      clear(rulesBody).append(rulesTable());
      clear(plansBody).append(plansTable(plans));
    } catch (err) {
      onError(err, plansBody);
    }
  }

  async function showProgress(plan) {
    progressCard.hidden = false;
    clear(progressCard).append(h("p", { class: "loading" }, "加载中…"));
    let progress;
    try {
      progress = await api(`/api/v1/plans/${plan.id}/progress`);
    } catch (err) {
      clear(progressCard);
      onError(err, progressCard);
      return;
    }
    const row = (r, total = false) =>
      h(
        "tr",
        { class: total ? "total" : null },
        h(total ? "th" : "td", total ? { scope: "row" } : {}, total ? "合计" : r.org_name),
        [r.pending, r.in_progress, r.overdue, r.done, r.due].map((n) => h("td", {}, String(n))),
        h("td", {}, percent(r.completion_rate)),
      );
    clear(progressCard).append(
      h("div", { class: "card-head" }, h("h2", {}, `计划进度：${plan.name}`), h("span", { class: "muted" }, `截至 ${progress.today}（北京时间）；完成率 = 已完成 ÷ 应检查`)),
      progress.rows.length
        ? h(
            "div",
            { class: "table-wrap" },
            h(
              "table",
              { class: "table" },
              h("thead", {}, h("tr", {}, ["支行", "待检查", "进行中", "逾期", "已完成", "应检查", "完成率"].map((t) => h("th", { scope: "col" }, t)))),
              h("tbody", {}, progress.rows.map((r) => row(r))),
              h("tfoot", {}, row(progress.total, true)),
            ),
          )
        : h("p", { class: "empty" }, "此计划暂无任务"),
    );
  }

  async function createRule() {
    const rule = await editRule({ rule: null, me });
    if (rule) {
      done(`已添加规则「${rule.name}」`);
      await reload();
    }
  }

  async function changeRule(rule) {
    const saved = await editRule({ rule, me });
    if (saved) {
      done(`已保存规则「${saved.name}」，使用它的计划已重新生成未开始的任务`);
      await reload();
    }
  }

  async function removeRule(rule) {
    const yes = await confirmAction({ title: "删除规则", message: `删除规则「${rule.name}」？`, confirmLabel: "确认删除" });
    if (!yes) return;
    try {
      await api(`/api/v1/plan-rules/${rule.id}`, { method: "DELETE" });
      done(`已删除规则「${rule.name}」`);
      await reload();
    } catch (err) {
      failed(err);
    }
  }

  const manageable = () => orgs.filter((org) => org.path.startsWith(me.org.path));
  // The templates a plan may use: active ones with a published version.
  const planTemplates = async () => (await api("/api/v1/checklist-templates")).filter((t) => t.status === "active" && t.published);

  async function createPlan() {
    if (!rules.length) {
      show(error, "请先添加全局规则");
      return;
    }
    const saved = await editPlan({ plan: null, rules, orgs: manageable(), templates: await planTemplates().catch(() => []) });
    if (saved) {
      done(`已保存 ${saved.length} 个检查计划：${saved.map((p) => p.name).join("、")}；今日应检查的任务已生成`);
      await reload();
    }
  }

  async function changePlan(plan) {
    const saved = await editPlan({ plan, rules, orgs: manageable(), templates: await planTemplates().catch(() => []) });
    if (saved) {
      done(`已保存检查计划「${saved[0].name}」，未开始的任务已重新生成`);
      await reload();
    }
  }

  async function removePlan(plan) {
    const yes = await confirmAction({
      title: "删除检查计划",
      message: `删除「${plan.name}」及其未开始的任务？已有任务开始或完成的计划不能删除，请改为设置结束时间。`,
      confirmLabel: "确认删除",
    });
    if (!yes) return;
    try {
      await api(`/api/v1/plans/${plan.id}`, { method: "DELETE" });
      done(`已删除检查计划「${plan.name}」`);
      await reload();
    } catch (err) {
      failed(err);
    }
  }

  await reload();
}
