import { type PorticoClient, type Schemas, waitForTask as waitForTaskToEnd } from '../../clients/typescript/src/index.js';

/** A search that seed 003's clients could send. */
export const SEARCH: Schemas['UserData'] = {
  name: 'Rossi family',
  people_num: 4,
  people_age: [41, 39, 9, 6],
  children_num: 2,
  budget: 450,
  nights: 5,
  time_arrival: '2027-07-14',
  pool: true,
  spa: false,
  pet_friendly: false,
  lake: true,
  mountain: false,
  sport: true,
};

/** Waits for an inference task to end, polling every 20 ms with the SDK's waitForTask. */
export function waitForTask(client: PorticoClient, taskId: string, timeoutMs = 10_000): Promise<Schemas['TaskStatus']> {
  return waitForTaskToEnd(client, 'inference', taskId, { intervalMs: 20, timeoutMs });
}
