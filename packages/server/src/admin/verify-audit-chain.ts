import { verifyStoredChain } from '../audit/verify-trail.js';
import type { Operation } from '../operations/operation.js';
import { parseShape } from '../validate/shape.js';

/**
 * VerifyAuditChain (Coffer admin API): checks the whole audit chain against the audit key and the
 * stored head (audit/chain.ts). Valid, with the number of records checked and the last one's hash; or not, with the seq of
 * the record where the chain breaks and what is wrong there. `coffer audit verify --data-dir`
 * does the same check without the server.
 */
export const verifyAuditChain: Operation = async (service, body, request) => {
  parseShape(body, {});
  await service.access.authorizeAccount(request, 'coffer:VerifyAuditChain');
  const verdict = await verifyStoredChain(service.store, service.auditKey);
  return verdict.ok
    ? { Valid: true, Records: verdict.records, ...(verdict.lastHash !== undefined ? { LastHash: verdict.lastHash } : {}) }
    : { Valid: false, Records: verdict.seq - 1, BrokenAt: verdict.seq, Problem: verdict.problem };
};
