import type { Request } from 'express';
import { Passport } from 'passport';
import { Strategy as BearerStrategy } from 'passport-http-bearer';
import { setPrincipal } from '../http/dispatch.js';
import { ProblemError, toProblemError } from '../http/problem.js';
import type { ApiKeyVerifier } from './api-key-verifier.js';
import { hasScope, type Principal } from './principal.js';
import type { RequestRateLimiter } from './rate-limit.js';

/** express-openapi-validator's security handler: called with the scopes the spec lists for the operation. */
export type SecurityHandler = (req: Request, scopes: string[]) => Promise<boolean>;

/**
 * The validator replaces a security handler's error with its own. The real answer (401 with its
 * challenge, 403 naming the scope, 429, or 503 when the database is down) is kept here for the
 * error mapper.
 */
const failures = new WeakMap<Request, ProblemError>();
export function authFailureOf(req: Request): ProblemError | undefined {
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
        else if (status === 400) reject(ProblemError.invalidRequest('The Authorization header must be "Bearer <token>".'));
        else reject(ProblemError.invalidToken());
      };
      passport.authenticate('bearer', { session: false }, callback)(req, req.res, reject);
    });

  return async (req, scopes) => {
    try {
      const principal = await authenticate(req);
      const missing = scopes.find((scope) => !hasScope(principal, scope));
      if (missing !== undefined) throw ProblemError.insufficientScope(missing);
      setPrincipal(req, principal);
      if (req.res) await rateLimiter.check(req, req.res, principal);
      return true;
    } catch (error) {
      failures.set(req, toProblemError(error));
      throw error;
    }
  };
}
