import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import express, { type RequestHandler } from 'express';
import helmet from 'helmet';
import { projectRoot } from '../project.js';

/** Where `make build` puts the console (console/ built by Vite); never committed. */
export const CONSOLE_DIR = join(projectRoot, 'dist', 'console');

/**
 * The console's page as built, read at each request (it is small, and a rebuild replaces the
 * hashed assets it names); undefined when this installation was not built with the console.
 */
export function consolePage(dir: string = CONSOLE_DIR): () => Promise<string | undefined> {
  return async () => {
    try {
      return await readFile(join(dir, 'index.html'), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  };
}

/**
 * The console's scripts and styles. Their names carry a hash of their content, so they are cached
 * for a year without revalidation; a name not found falls through to the API's 404.
 */
export function consoleAssets(dir: string = CONSOLE_DIR): RequestHandler {
  const assets = express.static(join(dir, 'assets'), { immutable: true, maxAge: '365d', index: false, redirect: false, fallthrough: true });
  const router = express.Router();
  router.use('/console/assets', assets);
  return router;
}

/**
 * A stricter policy than the app's for everything under /console: the console is built to need
 * no inline style or script, no workers and nothing from another origin (it talks to this API
 * only). Without `upgrade-insecure-requests`, so the console also works over plain HTTP on a
 * private network, where that directive would send its API calls to https.
 */
export function consoleSecurity(): RequestHandler {
  const policy = helmet.contentSecurityPolicy({
    useDefaults: false,
    directives: {
      'default-src': ["'self'"],
      'script-src': ["'self'"],
      'script-src-attr': ["'none'"],
      'style-src': ["'self'"],
      'img-src': ["'self'", 'data:'],
      'font-src': ["'self'"],
      'connect-src': ["'self'"],
      'object-src': ["'none'"],
      'worker-src': ["'none'"],
      'base-uri': ["'none'"],
      'form-action': ["'self'"],
      'frame-ancestors': ["'none'"],
    },
  });
  const router = express.Router();
  router.use('/console', policy);
  return router;
}
