"""Refusals of plans and tasks, each saying what the person can do about it (zh-CN, English)."""

from __future__ import annotations

from inspection_api.errors import InspectionError


class RuleInUse(InspectionError):
    status = 409
    code = "rule_in_use"
    zh = "规则「{name}」已被 {count} 个检查计划使用，不能删除；请先删除或改用其他规则"
    en = "Rule {name} is used by {count} plans and cannot be deleted"


class PlanInUse(InspectionError):
    status = 409
    code = "plan_in_use"
    zh = "检查计划「{name}」已有 {count} 个任务开始或完成，不能删除；不再执行时请设置结束时间"
    en = "Plan {name} has {count} started or done tasks and cannot be deleted; set an end date"


class PlanOverlap(InspectionError):
    status = 409
    code = "plan_overlap"
    zh = (
        "「{org}」在此期间已有检查计划「{other}」（{other_start} 至 {other_end}），"
        "同一机构的计划时间不能重叠"
    )
    en = (
        "{org} already has plan {other} ({other_start} to {other_end}); "
        "plans of one org cannot overlap"
    )

    def extra(self, lang: str) -> dict[str, object]:
        return {"other_plan_id": self.params["other_id"]}


class TaskDone(InspectionError):
    status = 409
    code = "task_done"
    zh = "检查点 {code} 的此项任务已完成，不能改派"
    en = "This task of checkpoint {code} is done and cannot be reassigned"
