import { visibleOwner } from '../auth/principal.js';
import type { StatsRepository } from '../db/stats.js';
import { statsSpan } from '../domain/stats.js';
import type { AnswerSeries } from '../http/metrics.js';
import type { Handlers, Reply } from '../http/operations.js';
import { toStats } from '../presenters/stats.js';

export interface StatsDependencies {
  stats: StatsRepository;
  answers: AnswerSeries;
}

export function statsHandlers({ stats, answers }: StatsDependencies) {
  return {
    getStats: async ({ query }, { principal }): Promise<Reply<'getStats'>> => {
      // A key without admin gets its owner's figures, whatever `owner` says.
      const owner = visibleOwner(principal) ?? query.owner;
      const span = statsSpan(query.window, Date.now());
      const figures = await stats.window({ owner, taskType: query.task_type, from: span.from, to: span.to, bucketSeconds: span.bucketSeconds });
      return { status: 200, body: toStats({ span, owner, taskType: query.task_type, figures, answers: answers.buckets(span, owner) }) };
    },
  } satisfies Handlers;
}
