import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';

/**
 * The web console (packages/console) as static files: GET and HEAD of `/console` and `/console/*`.
 *
 * Files are served only from a table of what the build wrote, read once into memory, so no request
 * path ever reaches the file system: `..`, encoded or not, can only miss the table. A path that is
 * not a file and has no extension is a client-side route and gets index.html. The console has no
 * build-time tie to the server: its directory is found through the installed @coffer/console package
 * when the server starts and read at the first console request, and a server without a built console
 * answers a page that says how to build it. Page loads carry no credentials and are not audited;
 * every API call the console makes is.
 */
export const CONSOLE_PREFIX = '/console';

/**
 * The page may load its own scripts, styles and images and talk to its own origin, nothing else:
 * no inline script, no eval, no framing, no form posted elsewhere. React sets styles through the
 * CSSOM, which `style-src 'self'` allows.
 */
export const CONSOLE_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "font-src 'self'", "manifest-src 'self'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'Content-Security-Policy': CONSOLE_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
} as const;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json', '.txt']);

interface ConsoleFile {
  readonly body: Buffer;
  readonly gzip: Buffer | undefined;
  readonly type: string;
  readonly etag: string;
  /** Vite names built assets by content hash, so they can be cached for good. */
  readonly immutable: boolean;
}

/** `/console` and everything under it, for GET and HEAD; every other request is the API's. */
export function isConsoleRequest(req: IncomingMessage): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const path = (req.url ?? '/').split('?')[0]!;
  return path === CONSOLE_PREFIX || path.startsWith(`${CONSOLE_PREFIX}/`);
}

/** Where `npm run build` puts the console: packages/console/dist/web, through the installed package. */
export function findConsoleDir(): string | undefined {
  try {
    const packageJson = createRequire(import.meta.url).resolve('@coffer/console/package.json');
    return join(dirname(packageJson), 'dist', 'web');
  } catch {
    return undefined;
  }
}

/** Every file under `dir`, keyed by its path relative to it with `/` separators. */
function loadFiles(dir: string): Map<string, ConsoleFile> {
  const files = new Map<string, ConsoleFile>();
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const full = join(folder, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        const name = relative(dir, full).split(sep).join('/');
        const ext = extensionOf(name);
        const body = readFileSync(full);
        const gzip = COMPRESSIBLE.has(ext) && body.length > 512 ? gzipSync(body, { level: 9 }) : undefined;
        files.set(name, {
          body,
          gzip: gzip && gzip.length < body.length ? gzip : undefined,
          type: CONTENT_TYPES[ext] ?? 'application/octet-stream',
          etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
          immutable: name.startsWith('assets/'),
        });
      }
    }
  };
  walk(dir);
  return files;
}

const extensionOf = (name: string): string => {
  const last = name.slice(name.lastIndexOf('/') + 1);
  const dot = last.lastIndexOf('.');
  return dot > 0 ? last.slice(dot).toLowerCase() : '';
};

/**
 * A handler for the console's files in `dir` (default: the built @coffer/console). The files are
 * read on the first request that finds them; a console built after the server started is found
 * then, a rebuilt one needs a restart.
 */
export function createConsoleHandler(dir: string | undefined = findConsoleDir()) {
  let files: Map<string, ConsoleFile> | undefined;
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (!files && dir !== undefined && existsSync(join(dir, 'index.html'))) files = loadFiles(dir);
    if (!files) return sendPage(req, res, 404, NOT_BUILT_PAGE);
    const name = fileName(req.url ?? '/');
    if (name === undefined) return sendPage(req, res, 404, NOT_FOUND_PAGE);
    const file = files.get(name)
      // Client-side routes (`/console/keys/<id>`) are the app's: index.html, which routes them.
      ?? (extensionOf(name) === '' ? files.get('index.html') : undefined);
    if (!file) return sendPage(req, res, 404, NOT_FOUND_PAGE);
    sendFile(req, res, file);
  };
}

/**
 * The request's path under /console as a table key, or undefined for one that no built file can
 * have: bad percent-encoding, a NUL, a backslash, or a `.`/`..` segment.
 */
function fileName(url: string): string | undefined {
  const path = url.split('?')[0]!.slice(CONSOLE_PREFIX.length).replace(/^\/+/, '');
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return undefined;
  }
  if (/[\0\\]/.test(decoded)) return undefined;
  const segments = decoded.split('/');
  if (segments.some((s) => s === '.' || s === '..')) return undefined;
  return decoded === '' ? 'index.html' : decoded;
}

function sendFile(req: IncomingMessage, res: ServerResponse, file: ConsoleFile): void {
  const headers: Record<string, string | number> = {
    ...SECURITY_HEADERS,
    'Content-Type': file.type,
    'Cache-Control': file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    ETag: file.etag,
    Vary: 'Accept-Encoding',
  };
  if (req.headers['if-none-match'] === file.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const gzip = file.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')) ? file.gzip : undefined;
  const body = gzip ?? file.body;
  res.writeHead(200, { ...headers, ...(gzip ? { 'Content-Encoding': 'gzip' } : {}), 'Content-Length': body.length });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function sendPage(req: IncomingMessage, res: ServerResponse, status: number, html: string): void {
  const body = Buffer.from(html, 'utf8');
  res.writeHead(status, {
    ...SECURITY_HEADERS, 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache', 'Content-Length': body.length,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

const page = (title: string, text: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><p>${text}</p></body></html>\n`;
const NOT_BUILT_PAGE = page('Coffer console', 'The console is not built: run <code>npm run build</code> in the Coffer repository, then restart the server.');
const NOT_FOUND_PAGE = page('Not found', 'There is no such file in the Coffer console.');
