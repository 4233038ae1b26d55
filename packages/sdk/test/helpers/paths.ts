/** Where the shared test vectors live: `../shared/vectors/esdk` beside the repository root. */
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

// This file runs from packages/sdk/dist/test/helpers/, five levels below the repository root.
export const REPO_ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
export const VECTORS_DIR = resolve(REPO_ROOT, '../shared/vectors/esdk');
