// Serves the built web console (packages/web → packages/server/static) with a fallback to index.html
// for the console's own routes; the API, actuator and metrics keep their JSON 404s.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';

/** OPSBOOK_STATIC_DIR serves a console built elsewhere (a container image, say). */
export const DEFAULT_STATIC_DIR =
  process.env.OPSBOOK_STATIC_DIR ?? fileURLToPath(new URL('../../static/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

const NOT_CONSOLE = /^\/(api|actuator|metrics)(\/|$)/;

const MISSING = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Opsbook</title></head>
<body style="font-family:system-ui;max-width:40rem;margin:3rem auto">
<h1>Opsbook</h1><p>The web console is not built yet. Run <code>npm run build -w @opsbook/web</code>
(<code>npm start</code> does it for you), then reload this page.</p>
<p>The API is up: <a href="/api/v1/services">/api/v1/services</a>, <a href="/api/openapi.json">/api/openapi.json</a>.</p>
</body></html>`;

export function mountConsole(app: OpenAPIHono, staticDir: string = DEFAULT_STATIC_DIR): void {
  const root = resolve(staticDir);
  const handler = (c: Context): Response => {
    const path = c.req.path;
    if (NOT_CONSOLE.test(path)) return c.notFound() as Response;
    const index = join(root, 'index.html');
    // Read per request: a rebuild while the server runs is picked up without a restart.
    if (!existsSync(index)) return c.html(MISSING, 200, { 'cache-control': 'no-store' });
    const file = fileFor(root, path);
    if (file) {
      // Vite puts content hashes in the names under assets/, so those never change.
      const cache = path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
      return send(c, file, cache);
    }
    // A missing asset is a 404, not the HTML page a script tag cannot use.
    if (extname(path) !== '') return c.text(`no file ${path}`, 404);
    return send(c, index, 'no-cache');
  };
  app.get('*', handler);
  app.on('HEAD', '*', handler);
}

function fileFor(root: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  const file = normalize(join(root, decoded));
  // No escaping the folder with ../ or encoded dots.
  if (file !== root && !file.startsWith(root + sep)) return undefined;
  try {
    return statSync(file).isFile() ? file : undefined;
  } catch {
    return undefined;
  }
}

function send(c: Context, file: string, cacheControl: string): Response {
  const body = readFileSync(file);
  return c.body(body, 200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'cache-control': cacheControl,
    'x-content-type-options': 'nosniff',
  });
}
