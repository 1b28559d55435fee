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
