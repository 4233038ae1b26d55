/** The audit head as a store keeps it: the seq and hash of the last record written. */
export interface AuditHead {
  readonly seq: number;
  readonly hash: string;
}

/**
 * Why `head`, read now, cannot follow `last`, the head this process last committed; undefined when
 * it can. The head only ever moves on (this process's appends, or another node's): found behind, or
 * rewritten at the same record, the newest records were removed, which the chain alone cannot tell.
 * Both stores then append nothing more until an operator has looked.
 */
export function headWentBack(last: AuditHead | undefined, head: AuditHead | undefined): string | undefined {
  if (last === undefined) return undefined;
  const seq = head?.seq ?? 0;
  if (seq > last.seq || (seq === last.seq && head?.hash === last.hash)) return undefined;
  return `the audit trail's head went back from record ${last.seq} to ${seq === last.seq ? 'another record ' : ''}${seq} while the server ran: `
    + 'records were removed from its end. Nothing more is written; run `coffer audit verify` and look at the store before restarting';
}
