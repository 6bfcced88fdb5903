import type { SchemaScope } from '../generated/api.js';

export type Scope = SchemaScope;

/** Who is calling: the API key that authenticated the request. */
export interface Principal {
  readonly keyId: string;
  readonly owner: string;
  readonly scopes: readonly Scope[];
  /** The key's own rate limit; `null` for the service default, 0 for none. */
  readonly rateLimitPerMinute: number | null;
}

export function isAdmin(principal: Principal): boolean {
  return principal.scopes.includes('admin');
}

/** Whether the caller holds `scope`; admin implies every scope. */
export function hasScope(principal: Principal, scope: string): boolean {
  return isAdmin(principal) || (principal.scopes as readonly string[]).includes(scope);
}

/** The owner whose resources the caller may see, or `undefined` for admins, who see every owner's. */
export function visibleOwner(principal: Principal): string | undefined {
  return isAdmin(principal) ? undefined : principal.owner;
}
