import { randomUUID } from 'node:crypto';
import type { AuditEvent } from './record.js';
import { RequestAudit } from './request-audit.js';

/** The user agents of the server's own actions: the part of the server that acted. */
export const SYSTEM_AGENTS = Object.freeze({ scheduler: 'coffer-scheduler', awsManagedKeys: 'coffer-aws-managed-keys' } as const);
type SystemAgent = (typeof SYSTEM_AGENTS)[keyof typeof SYSTEM_AGENTS];
const AGENTS: ReadonlySet<string> = new Set(Object.values(SYSTEM_AGENTS));
/**
 * The user agent of an operator's tool that changes the store itself (`coffer store
 * reset-key-policy`): recorded the same way, but not the service acting on its own, so the
 * CloudTrail view shows it as the request-less call it is, under its own name (isSystemEvent).
 */
export const OPERATOR_TOOL_AGENT = 'coffer-store-reset-key-policy';

/**
 * The audit of an action the server takes on its own (a scheduled deletion or rotation, an AWS
 * managed key made): a record like a request's, with no caller, as CloudTrail records KMS's own
 * events, and the user agent naming the part of the server that acted.
 */
export function systemAudit(userAgent: SystemAgent | typeof OPERATOR_TOOL_AGENT, operation: string, parameters: Record<string, unknown>, keyArn: string): RequestAudit {
  const audit = new RequestAudit({ time: Date.now(), requestId: randomUUID(), userAgent });
  audit.setOperation(operation);
  audit.setParameters(parameters);
  audit.touchKey(keyArn);
  return audit;
}

/**
 * Whether a record is of the server's own action: no caller, no address (every request records
 * its socket's, http/app.ts and http/sts.ts) and one of the server's agents. A request that sends
 * such a User-Agent still has its address.
 */
export function isSystemEvent(record: Pick<AuditEvent, 'principalArn' | 'sourceIp' | 'userAgent'>): boolean {
  return record.principalArn === undefined && record.sourceIp === undefined && record.userAgent !== undefined && AGENTS.has(record.userAgent);
}
