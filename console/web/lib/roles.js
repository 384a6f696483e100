// Who may do what, mirroring DESIGN.md's roles table (api/src/auth/guard.rs).
// The console uses it only to hide what a role cannot do and to say which
// role an action needs; the API enforces the same table on every call.

export const ROLE_NAMES = {
  ADMIN: 'Admin',
  REFUND_MANAGER: 'Refund manager',
  FINANCE: 'Finance',
  SUPPORT_AGENT: 'Support agent',
  ANALYST: 'Analyst',
  INTEGRATION: 'Integration',
};

export const ROLES = Object.keys(ROLE_NAMES);

export const CAN = {
  readClaims: ['ADMIN', 'REFUND_MANAGER', 'FINANCE', 'SUPPORT_AGENT', 'ANALYST'],
  handleClaims: ['ADMIN', 'REFUND_MANAGER', 'SUPPORT_AGENT'],
  decideClaims: ['ADMIN', 'REFUND_MANAGER'],
  moveMoney: ['ADMIN', 'FINANCE'],
  viewPayouts: ['ADMIN', 'FINANCE', 'ANALYST'],
  report: ['ADMIN', 'REFUND_MANAGER', 'FINANCE', 'ANALYST'],
  // Evidence files show customers' contact details: not for analysts alone.
  viewEvidenceFiles: ['ADMIN', 'REFUND_MANAGER', 'FINANCE', 'SUPPORT_AGENT'],
  readAudit: ['ADMIN', 'ANALYST'],
  admin: ['ADMIN'],
};

/** What each root field needs, to explain a FORBIDDEN answer in words. */
const FIELD_NEEDS = {
  submitClaim: CAN.handleClaims,
  assignClaim: CAN.handleClaims,
  requestClaimInfo: CAN.handleClaims,
  addClaimEvidence: CAN.handleClaims,
  addClaimNote: CAN.handleClaims,
  withdrawClaim: CAN.handleClaims,
  approveClaim: CAN.decideClaims,
  rejectClaim: CAN.decideClaims,
  markPayoutSent: CAN.moveMoney,
  markPayoutSettled: CAN.moveMoney,
  markPayoutFailed: CAN.moveMoney,
  retryPayout: CAN.moveMoney,
  recordChargeback: CAN.moveMoney,
  resolveChargeback: CAN.moveMoney,
  refundReport: CAN.report,
  auditLog: CAN.readAudit,
  claims: CAN.readClaims,
  claim: CAN.readClaims,
  payouts: CAN.readClaims,
  chargebacks: CAN.readClaims,
};
for (const field of [
  'staff', 'createStaff', 'setStaffRoles', 'deactivateStaff',
  'webhookEndpoints', 'webhookDeliveries', 'createWebhookEndpoint', 'updateWebhookEndpoint',
  'deleteWebhookEndpoint', 'rotateWebhookSecret', 'redeliverWebhook',
  'inboundMessages', 'replayInboundMessage', 'liftCustomerRestriction', 'publishPolicyVersion',
]) FIELD_NEEDS[field] = CAN.admin;

/** True when the signed-in person holds one of `roles`. */
export function hasAny(me, roles) {
  return Boolean(me) && me.roles.some((r) => roles.includes(r));
}

/** "Finance or Admin". */
export function roleList(roles) {
  const names = roles.map((r) => ROLE_NAMES[r] || r);
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names.at(-1)}` : names[0];
}

/** The roles the root field `field` needs, or null when any staff may call it. */
export function rolesFor(field) {
  return FIELD_NEEDS[field] || null;
}
