import type { SchemaScope } from '../generated/api.js';
import type { BudgetPeriod } from '../db/schema.js';
import { enums } from '../generated/constants.js';

export type Scope = SchemaScope;

/** Every scope, as the spec lists them. */
export const SCOPES: readonly Scope[] = enums.Scope;

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** Who is calling: the API key that authenticated the request. */
export interface Principal {
  readonly keyId: string;
  readonly owner: string;
  readonly scopes: readonly Scope[];
  /** The key's own rate limit; `null` for the service default, 0 for none. */
  readonly rateLimitPerMinute: number | null;
  /** Gateway models the key may use; null for all. */
  readonly models: readonly string[] | null;
  /** Tokens the key may use per calendar period; null for no budget. */
  readonly tokenBudget: { readonly tokens: number; readonly period: BudgetPeriod } | null;
  readonly tokensPerMinute: number | null;
}

export function isAdmin(principal: Principal): boolean {
  return principal.scopes.includes('admin');
}

/** Whether the caller holds `scope`; admin implies every scope. */
export function hasScope(principal: Principal, scope: Scope): boolean {
  return isAdmin(principal) || principal.scopes.includes(scope);
}

/** The owner whose resources the caller may see, or `undefined` for admins, who see every owner's. */
export function visibleOwner(principal: Principal): string | undefined {
  return isAdmin(principal) ? undefined : principal.owner;
}
