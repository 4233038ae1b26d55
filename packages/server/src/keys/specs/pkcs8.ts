import { createPrivateKey, type KeyObject } from 'node:crypto';

/** An imported PKCS#8 DER private key, re-exported in node's canonical form if `accepts` it. */
export function importPkcs8(material: Buffer, accepts: (key: KeyObject) => boolean): Buffer | undefined {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: material, format: 'der', type: 'pkcs8' });
  } catch {
    return undefined;
  }
  return accepts(key) ? key.export({ format: 'der', type: 'pkcs8' }) : undefined;
}
