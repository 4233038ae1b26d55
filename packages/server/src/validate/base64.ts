/**
 * Whether `text` is base64 as AWS accepts a blob: the standard alphabet, in groups of four, padded
 * with `=` (the same strings as /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/).
 * A loop over a table rather than that expression: plaintexts and ciphertexts arrive as base64 on
 * most requests, and the expression cost several microseconds per KiB on the hot path.
 */
export function isBase64(text: string): boolean {
  const length = text.length;
  if (length % 4 !== 0) return false;
  let end = length;
  if (length > 0 && text.charCodeAt(length - 1) === EQUALS) {
    end--;
    if (text.charCodeAt(length - 2) === EQUALS) end--;
  }
  for (let i = 0; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code >= 128 || ALPHABET[code] === 0) return false;
  }
  return true;
}

const EQUALS = 0x3d;
const ALPHABET = new Uint8Array(128);
for (const char of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') ALPHABET[char.charCodeAt(0)] = 1;
