import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelRepository, onlineOf } from '../../src/db/models.js';
import { ResultRepository, resultId } from '../../src/db/results.js';
import type { ModelRow, TaskRow } from '../../src/db/schema.js';
import { TaskRepository } from '../../src/db/tasks.js';
import type { TaskQueue } from '../../src/queue/task-queue.js';
import { openTestDatabase, startQueue, type TestDatabase, twoModels } from '../support/database.js';
import { engines } from '../support/service.js';
import { SEARCH } from '../support/tasks.js';

/** The ranking every task here gets: 15 locations, best first. */
const RANKING = Array.from({ length: 15 }, (_, index) => 101 + index);

describe.each(engines())('ResultRepository on %s', (engine) => {
  let test: TestDatabase;
  let queue: TaskQueue;
  let model: ModelRow;
  let tasks: TaskRepository;
  let results: ResultRepository;
  beforeAll(async () => {
    test = await openTestDatabase(engine);
    queue = await startQueue(test.database);
    [model] = await twoModels(test.database);
    tasks = new TaskRepository(test.database);
    results = new ResultRepository(test.database);
  });
  afterAll(async () => {
    await queue?.stop();
    await test?.close();
  });

  const pendingTask = (owner: string) => tasks.createInference(owner, SEARCH, queue.enqueue('inference'));
  /** An inference task that ran: SUCCESS with RANKING as its results. */
  async function rankedTask(owner = 'acme', explorationRanks: number[] = []): Promise<TaskRow> {
    const task = await pendingTask(owner);
    await tasks.claimInference([task.task_id], { id: model.model_id, version: model.version });
    await tasks.completeInference([{ taskId: task.task_id, locationIds: RANKING, scores: RANKING.map((_, index) => 1 - index / 100), explorationRanks }]);
    return (await tasks.get(undefined, task.task_id, 'inference'))!;
  }

  it("lists a task's results best first, with ids made of the task's number and the rank", async () => {
    const task = await rankedTask();
    const stored = await results.forTask(task.task_id);
    expect(stored).toHaveLength(RANKING.length);
    expect(stored[0]).toEqual({ resultId: Number(task.seq) * 1000 + 1, taskId: task.task_id, locationId: 101, score: 1, rank: 1, shown: false, selected: false, exploration: false });
    expect(stored.map((result) => result.locationId)).toEqual(RANKING);
    expect(stored.map((result) => result.rank)).toEqual(RANKING.map((_, index) => index + 1));
    expect(await results.forTask(randomUUID())).toEqual([]);
  });

  it("keeps each version's online sums: tasks it ranked, answers, picks, hits and reciprocal ranks, a replaced pick moving them by the difference", async () => {
    const models = new ModelRepository(test.database);
    // A version of its own, so other tests' tasks do not count.
    const [, own] = await twoModels(test.database);
    const rank = async (count: number) => {
      const created = await Promise.all(Array.from({ length: count }, () => pendingTask('online')));
      await tasks.claimInference(created.map((task) => task.task_id), { id: own.model_id, version: own.version });
      await tasks.completeInference(created.map((task) => ({ taskId: task.task_id, locationIds: RANKING, scores: RANKING.map(() => 0.5), explorationRanks: [] })));
      return created;
    };
    const sums = async () => {
      const row = onlineOf(await models.online([own.model_id]), own.model_id);
      return { tasks: Number(row.tasks), feedback: Number(row.feedback), selections: Number(row.selections), hits: Number(row.hits), rr: row.reciprocal_rank_sum };
    };
    expect(await sums()).toEqual({ tasks: 0, feedback: 0, selections: 0, hits: 0, rr: 0 });
    const [first, second] = await rank(2);
    expect(await sums()).toEqual({ tasks: 2, feedback: 0, selections: 0, hits: 0, rr: 0 });
    await results.select('online', first!.task_id, -1, null);
    expect(await sums()).toEqual({ tasks: 2, feedback: 1, selections: 0, hits: 0, rr: 0 });
    // The same task answered again: still one answer, now a pick at rank 4.
    await results.select('online', first!.task_id, RANKING[3]!, 4);
    expect(await sums()).toEqual({ tasks: 2, feedback: 1, selections: 1, hits: 1, rr: 0.25 });
    // A pick past the top 10 is no hit.
    await results.select('online', second!.task_id, RANKING[11]!, 12);
    expect(await sums()).toMatchObject({ feedback: 2, selections: 2, hits: 1 });
    expect((await sums()).rr).toBeCloseTo(0.25 + 1 / 12, 12);
    // Answered at once, twice: counted as one answer.
    const [third] = await rank(1);
    await Promise.all([results.select('online', third!.task_id, RANKING[0]!, 1), results.select('online', third!.task_id, RANKING[1]!, 2)]);
    expect(await sums()).toMatchObject({ tasks: 3, feedback: 3, selections: 3 });
  });

  it('says which results were exploration slots', async () => {
    const task = await rankedTask('acme', [2, 3]);
    expect((await results.forTask(task.task_id)).map((result) => result.exploration)).toEqual(RANKING.map((_, index) => index === 1 || index === 2));
  });

  it('marks a prefix of the ranking as shown, never shrinking it', async () => {
    const task = await rankedTask();
    const shown = async () => (await results.forTask(task.task_id)).filter((result) => result.shown).map((result) => result.rank);
    await results.markShown(task.task_id, 5);
    expect((await results.get(task.task_id))?.shown_count).toBe(5);
    expect(await shown()).toEqual([1, 2, 3, 4, 5]);
    await results.markShown(task.task_id, 3);
    expect((await results.get(task.task_id))?.shown_count).toBe(5);
    await results.markShown(task.task_id, 12);
    expect((await results.get(task.task_id))?.shown_count).toBe(12);
    await results.markShown(randomUUID(), 3);
  });

  it('stores one pick per task, a new pick replacing the earlier one', async () => {
    const task = await rankedTask();
    const before = await results.countSelections();
    const firstPick = await results.select('acme', task.task_id, 103, 3);
    expect(firstPick).toMatchObject({ task_id: task.task_id, owner: 'acme', location_id: 103, rank: 3 });
    const secondPick = await results.select('acme', task.task_id, 110, null);
    expect(secondPick).toMatchObject({ task_id: task.task_id, location_id: 110, rank: null });
    expect(secondPick.selected_at.getTime()).toBeGreaterThanOrEqual(firstPick.selected_at.getTime());
    expect(await results.getSelection(task.task_id)).toEqual(secondPick);
    expect(await results.countSelections()).toBe(before + 1);
    expect((await results.forTask(task.task_id)).filter((result) => result.selected).map((result) => result.locationId)).toEqual([110]);
  });

  it('finds a result by its id, and nothing for ids outside a ranking', async () => {
    const task = await rankedTask();
    expect(await results.byResultId(resultId(task.seq, 3))).toMatchObject({ taskId: task.task_id, rank: 3, locationId: 103 });
    expect(await results.byResultId(resultId(task.seq, RANKING.length))).toMatchObject({ rank: RANKING.length, locationId: RANKING.at(-1) });
    expect(await results.byResultId(resultId(task.seq, 0))).toBeUndefined();
    expect(await results.byResultId(resultId(task.seq, RANKING.length + 1))).toBeUndefined();
    expect(await results.byResultId(resultId(String(Number(task.seq) + 1000), 1))).toBeUndefined();
  });

  it('gives the labelled tasks oldest first, each with what was shown (at least the top 10, and down to the pick)', async () => {
    const owner = `owner-${randomUUID()}`;
    const unseen = await rankedTask(owner);
    await results.select(owner, unseen.task_id, 999, null);
    const pickedBelowShown = await rankedTask(owner);
    await results.markShown(pickedBelowShown.task_id, 3);
    await results.select(owner, pickedBelowShown.task_id, 107, 7);
    const pickedWithinShown = await rankedTask(owner);
    await results.markShown(pickedWithinShown.task_id, 12);
    await results.select(owner, pickedWithinShown.task_id, 102, 2);
    await rankedTask(owner);
    const withoutResults = await pendingTask(owner);
    await results.select(owner, withoutResults.task_id, 101, 1);

    const labelled = (await results.labelledTasks()).filter((task) => task.user.owner === owner);
    expect(labelled.map((task) => [task.shownLocationIds, task.pickedLocationId])).toEqual([
      [RANKING.slice(0, 10), 999],
      [RANKING.slice(0, 7), 107],
      [RANKING.slice(0, 12), 102],
    ]);
    expect(labelled.map((task) => task.user.user_id)).toEqual([unseen.user_id, pickedBelowShown.user_id, pickedWithinShown.user_id]);
    expect(labelled[0]!.user).toMatchObject(SEARCH);
  });
});
