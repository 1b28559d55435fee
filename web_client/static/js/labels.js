// zh-CN labels for codes the API returns.

export const ROLE_LABELS = {
  system_admin: "系统管理员",
  org_admin: "机构管理员",
  inspector: "客户经理/检查员",
  reviewer: "审核人",
  exception_handler: "异常处理人",
  enterprise_contact: "企业联系人",
};

export const ORG_KIND_LABELS = {
  province: "省行",
  branch: "二级分行",
  sub_branch: "支行",
};

export const AUDIT_ACTION_LABELS = {
  plan_rule_created: "添加检查规则",
  plan_rule_updated: "修改检查规则",
  plan_rule_deleted: "删除检查规则",
  plan_created: "新建检查计划",
  plan_updated: "修改检查计划",
  plan_deleted: "删除检查计划",
  task_assigned: "分派检查任务",
  login_succeeded: "登录成功",
  login_failed: "登录失败",
  login_rate_limited: "登录受限",
  logout: "退出登录",
  password_changed: "修改密码",
  password_change_failed: "修改密码失败",
  token_created: "创建 API 令牌",
  token_revoked: "吊销 API 令牌",
  org_created: "新建机构",
  org_renamed: "修改机构",
  user_created: "新建用户",
  user_updated: "修改用户",
  checkpoint_created: "新建检查点",
  checkpoint_updated: "修改检查点",
  checkpoint_deleted: "删除检查点",
  checkpoint_exited: "标记退出点",
  checkpoint_reinstated: "恢复检查",
  checkpoint_qr_regenerated: "重新生成二维码",
  checkpoint_position_bound: "GPS定位（首次扫码）",
  checkpoint_position_reset: "重置GPS",
  checkpoint_checked_in: "现场扫码签到",
  checklist_template_created: "新建检查模板",
  checklist_version_published: "发布检查模板",
  checklist_draft_discarded: "放弃检查模板草稿",
  checklist_template_archived: "归档检查模板",
  inspection_started: "开始检查",
  inspection_resumed: "继续检查",
  inspection_submitted: "提交检查",
  inspection_approved: "审核通过",
  inspection_returned: "退回检查",
  inspection_evidence_added: "上传取证",
  inspection_evidence_removed: "删除取证",
  self_check_invited: "发起企业自检",
  self_check_invite_revoked: "撤销自检链接",
  self_check_synced: "企业自检离线上传",
  anomaly_raised: "发现异常",
  anomaly_acknowledged: "受理异常",
  anomaly_resolved: "异常处理完成",
  anomaly_reassigned: "转派异常",
  anomaly_escalated: "异常超期上报",
  anomaly_overdue: "异常超期（无上级处理人）",
  rectification_created: "下发整改意见",
  rectification_replied: "企业整改反馈",
  rectification_closed: "关闭整改意见",
  rectification_reopened: "退回重新整改",
  rectification_link_renewed: "重新生成整改反馈链接",
};

export const LOGIN_REASONS = {
  revoked: "您的会话已失效，请重新登录",
  expired: "登录已超时，请重新登录",
  logged_out: "您已安全退出",
};

export function roleLabel(role) {
  return ROLE_LABELS[role] || role;
}

export function rolesText(roles) {
  return (roles || []).map(roleLabel).join("、") || "无角色";
}
