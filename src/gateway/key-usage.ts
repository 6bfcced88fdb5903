import type { ApiKeyRow, BudgetPeriod } from '../db/schema.js';
import type { UsageRepository } from '../db/usage.js';
import { windowAt } from './accounting.js';

/** A key's tokens in the window its budget counts (the calendar month for a key without one). */
export interface KeyPeriodUsage {
  period: BudgetPeriod;
  start: Date;
  end: Date;
  totalTokens: number;
}

/**
 * What keys used this period, for showing them: the same UTC windows the budgets count
 * (windowAt), summed from the usage rows, which the completion's transaction writes with them.
 */
export class KeyUsageReader {
  constructor(private readonly usage: UsageRepository) {}

  /** Each row's usage, by key id, in one query. */
  async of(rows: readonly ApiKeyRow[], now = new Date()): Promise<Map<string, KeyPeriodUsage>> {
    const windows = rows.map((row) => {
      const period: BudgetPeriod = row.token_budget === null || row.budget_period === null ? 'month' : row.budget_period;
      return { keyId: row.id, period, ...windowAt(period, now) };
    });
    const totals = await this.usage.totalsSince(windows.map((window) => ({ keyId: window.keyId, since: window.start.toISOString().slice(0, 10) })));
    return new Map(windows.map(({ keyId, period, start, end }) => [keyId, { period, start, end, totalTokens: totals.get(keyId) ?? 0 }]));
  }
}
