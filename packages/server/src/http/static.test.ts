// The console's static files: assets with long caching, client routes answered with index.html, and
// the API's JSON 404s left alone.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OpenAPIHono } from '@hono/zod-openapi';
import { mountConsole } from './static.js';

const dir = mkdtempSync(join(tmpdir(), 'opsbook-static-'));
mkdirSync(join(dir, 'built', 'assets'), { recursive: true });
writeFileSync(join(dir, 'built', 'index.html'), '<!doctype html><div id="root"></div>');
writeFileSync(join(dir, 'built', 'assets', 'index-abc123.js'), 'console.log(1)');
writeFileSync(join(dir, 'secret.txt'), 'outside');

function app(staticDir: string): OpenAPIHono {
  const a = new OpenAPIHono();
  a.notFound((c) => c.json({ error: { code: 'not_found' } }, 404));
  a.get('/api/v1/services', (c) => c.json({ items: [] }));
  mountConsole(a, staticDir);
  return a;
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the console on /', () => {
  const built = app(join(dir, 'built'));

  it('serves hashed assets for a year and index.html for client routes, never cached', async () => {
    const asset = await built.request('/assets/index-abc123.js');
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    for (const path of ['/', '/incidents/INC-1', '/services/example-service']) {
      const page = await built.request(path);
      expect(page.status).toBe(200);
      expect(page.headers.get('cache-control')).toBe('no-cache');
      expect(await page.text()).toContain('<div id="root">');
    }
  });

  it('keeps API routes and their JSON 404s, and 404s a missing asset', async () => {
    expect(await (await built.request('/api/v1/services')).json()).toEqual({ items: [] });
    for (const path of ['/api/v1/nope', '/actuator/nope', '/metrics/x']) {
      const response = await built.request(path);
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ error: { code: 'not_found' } });
    }
    expect((await built.request('/assets/gone-123.js')).status).toBe(404);
  });

  it('does not serve files outside its folder', async () => {
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/%2e%2e/%2e%2e/secret.txt']) {
      const response = await built.request(path);
      expect(await response.text()).not.toContain('outside');
    }
  });

  it('tells how to build the console when it has not been built', async () => {
    const response = await app(join(dir, 'missing')).request('/');
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('npm run build -w @opsbook/web');
  });
});
