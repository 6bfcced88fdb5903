import type { Request } from 'express';
import { Passport } from 'passport';
import { Strategy as BearerStrategy } from 'passport-http-bearer';
import type { ApiKeyVerifier } from '../auth/api-key-verifier.js';
import { hasScope, isScope, type Principal } from '../auth/principal.js';
import type { RequestRateLimiter } from '../auth/rate-limit.js';
import { DomainError } from '../domain/errors.js';
import { setPrincipal } from './request-context.js';

/** express-openapi-validator's security handler: called with the scopes the spec lists for the operation. */
export type SecurityHandler = (req: Request, scopes: string[]) => Promise<boolean>;

/**
 * The validator replaces a security handler's error with its own. The real answer (401 with its
 * challenge, 403 naming the scope, 429, or 503 when the database is down) is kept here for the
 * error mapper.
 */
const failures = new WeakMap<Request, unknown>();
export function authFailureOf(req: Request): unknown {
  return failures.get(req);
}

/**
 * Authenticates the bearer token with passport-http-bearer, then enforces exactly the scopes the
 * spec declares for the operation (admin implies every scope), then the key's rate limit.
 */
export function bearerSecurityHandler(verifier: ApiKeyVerifier, rateLimiter: RequestRateLimiter): SecurityHandler {
  const passport = new Passport();
  passport.use(
    new BearerStrategy((token, done) => {
      verifier.verify(token).then(
        (principal) => done(null, principal ?? false),
        (error: unknown) => done(error),
      );
    }),
  );

  const authenticate = (req: Request): Promise<Principal> =>
    new Promise((resolve, reject) => {
      const callback = (error: unknown, principal: Principal | false, _challenge: unknown, status?: number) => {
        if (error) reject(error);
        else if (principal) resolve(principal);
        else if (status === 400) reject(new DomainError('invalid_request', 'The Authorization header must be "Bearer <token>".'));
        else reject(new DomainError('invalid_token', 'A valid bearer token is required.'));
      };
      passport.authenticate('bearer', { session: false }, callback)(req, req.res, reject);
    });

  return async (req, scopes) => {
    try {
      const principal = await authenticate(req);
      // A scope the spec names but no key can hold is never granted.
      const missing = scopes.find((scope) => !isScope(scope) || !hasScope(principal, scope));
      if (missing !== undefined) throw new DomainError('insufficient_scope', `This operation needs the ${missing} scope.`, { scope: missing });
      setPrincipal(req, principal);
      if (req.res) await rateLimiter.check(req, req.res, principal);
      return true;
    } catch (error) {
      failures.set(req, error);
      throw error;
    }
  };
}
