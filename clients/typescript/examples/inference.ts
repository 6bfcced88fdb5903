/** Starts an inference task, waits for it, prints the top results and records a pick. Needs inference:run and inference:read. */
import { unwrap, waitForTask } from '../src/index.js';
import { client } from './client.js';

const task = await unwrap(
  client.POST('/inference/start', {
    body: { name: 'Rossi family', people_num: 4, people_age: [41, 39, 9, 6], children_num: 2, budget: 450, nights: 5, time_arrival: '2027-07-14', pool: true, spa: false, pet_friendly: false, lake: true, mountain: false, sport: true },
  }),
);
const done = await waitForTask(client, 'inference', task.task_id, { intervalMs: 250, timeoutMs: 60_000 });
if (done.status !== 'SUCCESS') throw new Error(`The task ended ${done.status}: ${done.error ?? 'no error given'}`);

const results = await unwrap(client.GET('/inference/results/{task_id}', { params: { path: { task_id: task.task_id }, query: { limit: 5 } } }));
for (const result of results) console.log(`#${result.rank} location ${result.location_id}: score ${result.score.toFixed(3)}, price ${result.price}`);

// The user picks the best one; -1 would say that nothing was suitable.
const selection = await unwrap(client.PUT('/inference/select', { body: { task_id: task.task_id, location_id: results[0]?.location_id ?? -1 } }));
console.log('picked location', selection.location_id, 'at rank', selection.rank);
