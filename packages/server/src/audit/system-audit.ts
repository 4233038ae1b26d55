import { randomUUID } from 'node:crypto';
import { RequestAudit } from './request-audit.js';

/**
 * The audit of an action the server takes on its own (a scheduled deletion or rotation, an AWS
 * managed key made): a record like a request's, with no caller, as CloudTrail records KMS's own
 * events, and the user agent naming the part of the server that acted.
 */
export function systemAudit(userAgent: string, operation: string, parameters: Record<string, unknown>, keyArn: string): RequestAudit {
  const audit = new RequestAudit({ time: Date.now(), requestId: randomUUID(), userAgent });
  audit.setOperation(operation);
  audit.setParameters(parameters);
  audit.touchKey(keyArn);
  return audit;
}
