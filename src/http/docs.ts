import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { RequestHandler } from 'express';

const require = createRequire(import.meta.url);

export const REDOC_ASSET_URL = '/docs/assets/redoc.standalone.js';
export const REDOC_LOGO_URL = '/docs/assets/redoc-logo.svg';

/**
 * Redoc's standalone bundle, served from node_modules so the docs work offline. The bundle links
 * the "API docs by Redocly" logo from Redocly's CDN; that one reference is pointed at a logo served
 * here, so the page makes no request to any other host.
 */
const redocBundle = (): string =>
  readFileSync(require.resolve('redoc/bundles/redoc.standalone.js'), 'utf8').replace('https://cdn.redoc.ly/redoc/logo-mini.svg', REDOC_LOGO_URL);

const LOGO = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16" width="16" height="16"><rect width="16" height="16" rx="3" fill="#32329f"/><text x="8" y="12" font-size="10" text-anchor="middle" fill="#fff" font-family="sans-serif">R</text></svg>`;

export function docsPage(title: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>body { margin: 0; padding: 0; }</style>
</head>
<body>
<redoc spec-url="/openapi.json" hide-hostname="true"></redoc>
<script src="${REDOC_ASSET_URL}"></script>
</body>
</html>
`;
}

/** Serves Redoc's assets; the page at /docs itself is the getDocs operation. */
export function redocAssets(): RequestHandler {
  let bundle: string | undefined;
  return (req, res, next) => {
    if (req.path === REDOC_ASSET_URL) {
      bundle ??= redocBundle();
      res.setHeader('Cache-Control', 'public, max-age=86400');
      res.type('application/javascript').send(bundle);
    } else if (req.path === REDOC_LOGO_URL) {
      res.setHeader('Cache-Control', 'public, max-age=86400');
      res.type('image/svg+xml').send(LOGO);
    } else {
      next();
    }
  };
}
