import type { Service } from './context.js';
import type { Logger } from './log.js';
import { rotateKey } from './keys/rotation.js';

/**
 * The server's scheduled work: deleting keys whose pending window has passed, and rotating keys
 * whose automatic rotation is due. Each pass reads what is due from the store, so a pass missed
 * while the server was down is made up at the next start.
 */
export async function runScheduledWork(service: Service, log: Logger, now = service.now()): Promise<void> {
  for (const key of await service.store.listKeysDue(now)) {
    try {
      if (key.state === 'PendingDeletion' && key.deletionDate !== undefined && key.deletionDate <= now) {
        await service.store.deleteKey(key.keyId);
        service.backingKeys.forget(key.keyId);
        log('info', 'key deleted', { keyId: key.keyId });
      } else if (key.state === 'Enabled' && key.rotation && key.rotation.nextRotationDate <= now) {
        // Disabled keys wait: AWS rotates them once they are enabled again.
        await rotateKey(service, key, 'AUTOMATIC', (current) => {
          if (current.state !== 'Enabled' || !current.rotation || current.rotation.nextRotationDate > now) {
            throw new SkipRotation();
          }
        });
        log('info', 'key rotated', { keyId: key.keyId });
      }
    } catch (error) {
      if (!(error instanceof SkipRotation)) {
        log('error', 'scheduled work failed', { keyId: key.keyId, error: error instanceof Error ? error.message : String(error) });
      }
    }
  }
}

/** Another writer changed the key since it was found due: nothing to do. */
class SkipRotation extends Error {}
