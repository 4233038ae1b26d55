import { readPreamble } from './preamble.js';

/** What the clear preamble of an archive says, before anything is decrypted: what opens it. */
export interface ArchiveDescription {
  readonly protection: 'passphrase' | 'public-key';
  /** For a public-key archive, `sha256:` and the fingerprint of the recipient's public key. */
  readonly recipient?: string;
}

/** Throws BackupFormatError when the file is not a Coffer archive; says nothing about whether the rest verifies. */
export async function describeArchive(path: string): Promise<ArchiveDescription> {
  const { preamble } = await readPreamble(path);
  return preamble.protection === 'passphrase' ? { protection: 'passphrase' } : { protection: 'public-key', recipient: preamble.keyName };
}
