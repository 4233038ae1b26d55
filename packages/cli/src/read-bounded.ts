import { closeSync, openSync, readSync } from 'node:fs';

/**
 * Up to `limit` bytes of a file or file descriptor (standard input: 0), fewer if it ends first, or,
 * with `stopAfter`, once that byte has been read (the byte included). Reading stops at the bound, so
 * a device or an endless pipe given by mistake (`/dev/zero`, a log being written) cannot fill memory;
 * a source stopping at a line feed need not end at all (`<(echo secret; sleep 60)`).
 */
export function readBounded(source: string | number, limit: number, stopAfter?: number): Buffer {
  const fd = typeof source === 'number' ? source : openSync(source, 'r');
  try {
    const buffer = Buffer.alloc(limit);
    let length = 0;
    while (length < limit) {
      const read = readSync(fd, buffer, length, limit - length, null);
      if (read === 0) break;
      const stop = stopAfter === undefined ? -1 : buffer.subarray(length, length + read).indexOf(stopAfter);
      if (stop >= 0) return buffer.subarray(0, length + stop + 1);
      length += read;
    }
    return buffer.subarray(0, length);
  } finally {
    if (typeof source !== 'number') closeSync(fd);
  }
}
