import type { Service } from './context.js';
import type { Logger } from './log.js';
import { SYSTEM_AGENTS, systemAudit } from './audit/system-audit.js';
import { keyArn } from './keys/arn.js';
import { rotateKey } from './keys/rotation.js';

/**
 * The server's scheduled work: deleting keys whose pending window has passed, and rotating keys
 * whose automatic rotation is due. Each pass reads what is due from the store, so a pass missed
 * while the server was down is made up at the next start. Each action is audited like a request,
 * with no caller (as CloudTrail records KMS's own DeleteKey and RotateKey events).
 */
export async function runScheduledWork(service: Service, log: Logger, now = service.now()): Promise<void> {
  for (const key of await service.store.listKeysDue(now)) {
    try {
      if (key.state === 'PendingDeletion' && key.deletionDate !== undefined && key.deletionDate <= now) {
        // Only the record found due: a CancelKeyDeletion answered since then has moved its revision on.
        if (!(await service.store.deleteKey(key.keyId, scheduledAudit(service, 'DeleteKey', key.keyId).success(), key.revision))) continue;
        service.backingKeys.forget(key.keyId);
        log('info', 'key deleted', { keyId: key.keyId });
      } else if (key.state === 'Enabled' && key.rotation && key.rotation.nextRotationDate <= now) {
        // Disabled keys wait: AWS rotates them once they are enabled again.
        await rotateKey(service, key, 'AUTOMATIC', (current) => {
          if (current.state !== 'Enabled' || !current.rotation || current.rotation.nextRotationDate > now) {
            throw new SkipRotation();
          }
        }, scheduledAudit(service, 'RotateKey', key.keyId));
        log('info', 'key rotated', { keyId: key.keyId });
      }
    } catch (error) {
      if (!(error instanceof SkipRotation)) {
        log('error', 'scheduled work failed', { keyId: key.keyId, error: error instanceof Error ? error.message : String(error) });
      }
    }
  }
}

/** The audit of a scheduled action on a key. */
const scheduledAudit = (service: Service, operation: string, keyId: string) =>
  systemAudit(SYSTEM_AGENTS.scheduler, operation, { KeyId: keyId }, keyArn(service.realm, keyId));

/** Another writer changed the key since it was found due: nothing to do. */
class SkipRotation extends Error {}
