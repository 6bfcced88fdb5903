/**
 * `make simulate`: seed 003's traffic generator played against the service through the SDK, the
 * whole learning loop with a challenger.
 *
 * 1. Fresh travellers (the evaluation set) search and are ranked by the initial model, exactly as
 *    GET /inference/results returns them (exploration slots included); nobody answers these.
 * 2. Simulated travellers (user.tsv) search, look at the top 10 and pick one by seed 003's user
 *    model (or -1): the labels.
 * 3. The service trains a new version on them. With AUTO_ACTIVATE=online (what `make simulate`
 *    starts the service with) a version that passes the offline gate becomes the challenger and
 *    ranks CHALLENGER_SHARE of new tasks; more simulated travellers search and answer until the
 *    online test promotes or retires it.
 * 4. The evaluation set searches again, ranked by whichever version now serves, as served.
 *
 * Ranking quality is hit rate@10 and NDCG@10 with the traveller's appeal as the relevance of the
 * locations they would accept (seed 003's user model is the ground truth). Each version is also
 * ranked offline with its artifact and the service's own ranking code (servedRanking, the same
 * exploration policy), which must agree with what the route returned.
 *
 * Against a running service: PORTICO_URL and PORTICO_TOKEN (an admin token), and that service's
 * EXPLORATION_SLOTS and EXPLORATION_DECAY_LABELS if not the defaults. Without PORTICO_URL a fresh
 * service with an embedded database is started for the run (AUTO_ACTIVATE=online). SIM_TASKS (500),
 * SIM_EVAL_USERS (1000), SIM_ONLINE_TASKS (most tasks for the online test, 4000), SIM_SEED (7) and
 * SIM_CONCURRENCY (16) tune it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createClient, type PorticoClient, type Schemas } from '../clients/typescript/src/index.js';
import { loadConfig } from '../src/config.js';
import { buildCatalogue, type Catalogue } from '../src/ml/catalogue.js';
import { servedRanking, type ServingPolicy } from '../src/ml/model.js';
import { Random } from '../src/ml/random.js';
import { evaluateRanking, pick, randomRanking, sampleUser, type RankingQuality, type SimulatedUser } from '../src/ml/simulation.js';
import { loadMlprodTables, type UserType } from '../src/ml/tables.js';
import type { ModelArtifact } from '../src/ml/types.js';
import { startService } from '../src/service.js';

export interface SimulationOptions {
  client: PorticoClient;
  tasks: number;
  evaluationUsers: number;
  seed: number;
  concurrency: number;
  /** Most answered tasks after training while a challenger's test runs. */
  onlineTasks?: number;
  /** The service's exploration settings, for the offline replay of its rankings. */
  exploration?: { slots: number; decayLabels: number };
  onProgress?: (phase: string, done: number) => void;
}

export interface VersionReport {
  model: Schemas['Model'];
  /** Ranked offline with its artifact, exactly as the service would serve it. */
  offline: RankingQuality;
}

export interface SimulationReport {
  /** random, the initial model as served, and the serving model after the loop as served. */
  rows: ({ ranking: string } & RankingQuality)[];
  labelledTasks: number;
  picks: number;
  /** Tasks answered while the online test ran (0 without a challenger). */
  onlineTasks: number;
  trainedModel: Schemas['Model'];
  versions: VersionReport[];
  activations: Schemas['ModelActivationEvent'][];
}

const TERMINAL = new Set(['SUCCESS', 'FAILURE', 'REVOKED']);
const SHOWN = 10;

async function data<T>(pending: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data: body, error, response } = await pending;
  if (!response.ok || body === undefined) throw new Error(`${response.url} answered ${response.status}: ${JSON.stringify(error)}`);
  return body;
}

async function poll<T extends { status: string }>(read: () => Promise<T>): Promise<T> {
  for (;;) {
    const status = await read();
    if (TERMINAL.has(status.status)) return status;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function search(user: SimulatedUser, index: number): Schemas['UserData'] {
  return { name: `simulated traveller ${index}`, time_arrival: '2027-07-01', ...user.profile };
}

/** Runs jobs with at most `limit` in flight; stops handing out new ones once `stop()` is true. */
async function inParallel<T>(items: readonly T[], limit: number, job: (item: T, index: number) => Promise<void>, stop: () => boolean = () => false): Promise<number> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length && !stop()) {
        const index = next++;
        await job(items[index]!, index);
      }
    }),
  );
  return next;
}

const artifactOf = (client: PorticoClient, modelId: string) =>
  data(client.GET('/models/{model_id}/artifact', { params: { path: { model_id: modelId } } })) as Promise<ModelArtifact>;

/** One search through the service: the top 10 as GET /inference/results returns them. */
async function served(client: PorticoClient, traveller: SimulatedUser, index: number): Promise<{ taskId: string; ids: number[]; version: number | null }> {
  const task = await data(client.POST('/inference/start', { body: search(traveller, index) }));
  const status = await poll(() => data(client.GET('/inference/status/{task_id}', { params: { path: { task_id: task.task_id } } })));
  const results = await data(client.GET('/inference/results/{task_id}', { params: { path: { task_id: task.task_id }, query: { limit: SHOWN } } }));
  return { taskId: task.task_id, ids: results.map((result) => result.location_id), version: status.model_version };
}

/** Rankings of the evaluation set through the results route, as served. */
async function servedQuality(client: PorticoClient, users: readonly SimulatedUser[], catalogue: Catalogue, concurrency: number): Promise<RankingQuality> {
  const ranked = new Map<SimulatedUser['profile'], number[]>();
  await inParallel(users, concurrency, async (user, index) => {
    ranked.set(user.profile, (await served(client, user, 1_000_000 + index)).ids);
  });
  return evaluateRanking((profile) => ranked.get(profile) ?? [], users, catalogue);
}

/** Searches by simulated travellers who answer: the labels, and the online test's evidence. */
async function answeredSearches(
  options: SimulationOptions,
  travellers: readonly SimulatedUser[],
  catalogue: Catalogue,
  seed: number,
  stop: () => boolean,
  onDone: (picked: boolean) => void,
): Promise<number> {
  const { client } = options;
  return inParallel(
    travellers,
    options.concurrency,
    async (traveller, index) => {
      const { taskId, ids } = await served(client, traveller, index);
      const picked = pick(ids, traveller, catalogue, new Random(seed * 1_000_003 + index));
      await data(client.PUT('/inference/select', { body: { task_id: taskId, location_id: picked } }));
      onDone(picked !== -1);
    },
    stop,
  );
}

function travellersOf(userTypes: readonly UserType[], count: number, seed: number): SimulatedUser[] {
  const random = new Random(seed);
  return Array.from({ length: count }, () => sampleUser(userTypes, random));
}

export async function runSimulation(options: SimulationOptions): Promise<SimulationReport> {
  const { client } = options;
  const { userTypes } = await loadMlprodTables();
  const catalogue = buildCatalogue(await data(client.GET('/content/locations', { params: { query: { limit: 5000 } } })));
  const initial = (await data(client.GET('/models'))).items.find((model) => model.active);
  if (!initial) throw new Error('the service has no active model');
  const fresh = travellersOf(userTypes, options.evaluationUsers, options.seed + 1);

  const initialServed = await servedQuality(client, fresh, catalogue, options.concurrency);
  options.onProgress?.('evaluation searches ranked by the initial model', fresh.length);

  let picks = 0;
  let labelled = 0;
  await answeredSearches(options, travellersOf(userTypes, options.tasks, options.seed), catalogue, options.seed, () => false, (picked) => {
    if (picked) picks += 1;
    options.onProgress?.('labelled tasks', ++labelled);
  });

  const training = await data(client.POST('/train/start', { body: {} }));
  const trained = await poll(() => data(client.GET('/train/status/{task_id}', { params: { path: { task_id: training.task_id } } })));
  if (trained.status !== 'SUCCESS' || !trained.model_id) throw new Error(`training ended ${trained.status}: ${trained.error}`);
  const modelPath = { params: { path: { model_id: trained.model_id } } };

  // While the new version is the challenger, travellers keep searching and answering; the online
  // test looks at every answer. Checked between searches, so a few more may finish after it decided.
  let decided = (await data(client.GET('/models/{model_id}', modelPath))).status !== 'challenger';
  let online = 0;
  if (!decided) {
    const limit = options.onlineTasks ?? 4000;
    let checking = Promise.resolve();
    await answeredSearches(options, travellersOf(userTypes, limit, options.seed + 2), catalogue, options.seed + 2, () => decided, () => {
      online += 1;
      if (online % 25 === 0) {
        options.onProgress?.('answered tasks during the online test', online);
        checking = checking.then(async () => {
          decided ||= (await data(client.GET('/models/{model_id}', modelPath))).status !== 'challenger';
        });
      }
    });
    await checking;
  }
  const trainedModel = await data(client.GET('/models/{model_id}', modelPath));

  const finalServed = await servedQuality(client, fresh, catalogue, options.concurrency);
  const serving = (await data(client.GET('/models'))).items.find((model) => model.active)!;

  const policy: ServingPolicy = { explorationSlots: options.exploration?.slots ?? 2, explorationDecayLabels: options.exploration?.decayLabels ?? 25, limit: SHOWN, shown: SHOWN };
  const offline = async (model: Schemas['Model']): Promise<VersionReport> => {
    const artifact = await artifactOf(client, model.model_id);
    let task = 0;
    return { model, offline: evaluateRanking((user) => servedRanking({ artifact, labelsUsed: model.labels_used }, user, catalogue, policy, ++task).map((item) => item.location_id), fresh, catalogue) };
  };
  const models = (await data(client.GET('/models', { params: { query: { limit: 100 } } }))).items.reverse();
  const activations = (await data(client.GET('/models/activations', { params: { query: { limit: 100 } } }))).items.reverse();
  return {
    rows: [
      { ranking: 'random', ...evaluateRanking(randomRanking(new Random(options.seed + 3), catalogue), fresh, catalogue) },
      { ranking: `initial model (v${initial.version}), as served`, ...initialServed },
      { ranking: `serving model (v${serving.version}), as served`, ...finalServed },
    ],
    labelledTasks: labelled,
    picks,
    onlineTasks: online,
    trainedModel,
    versions: await Promise.all(models.map(offline)),
    activations,
  };
}

const f = (value: number | null | undefined, digits = 3) => (value === null || value === undefined ? '-' : value.toFixed(digits));

function print(report: SimulationReport, settings: { tasks: number; evaluationUsers: number; seed: number }, seconds: string): void {
  console.log(
    `\n${report.labelledTasks} labelled tasks (${report.picks} picks), one training run, ${report.onlineTasks} tasks answered during the online test, ` +
      `${settings.evaluationUsers} fresh travellers ranked as GET /inference/results returns them, seed ${settings.seed}, ${seconds} s\n`,
  );
  console.log('  ranking                              hit rate@10   NDCG@10');
  for (const row of report.rows) console.log(`  ${row.ranking.padEnd(37)}${row.hit_rate.toFixed(3).padStart(11)}${row.ndcg.toFixed(3).padStart(10)}`);
  const [, initial, final] = report.rows;
  console.log(`  gain over the initial model: NDCG@10 ${f(final!.ndcg - initial!.ndcg, 3)}`);

  console.log('\n  per version        offline (hold-out AUC; replayed as served: hit@10, NDCG@10)   online (tasks, answers, selection rate, hit@10, MRR)   status');
  for (const { model, offline } of report.versions) {
    const o = model.online;
    console.log(
      `  v${String(model.version).padEnd(3)} ${model.kind.padEnd(20)} AUC ${f(model.metrics?.auc)}; ${f(offline.hit_rate)}, ${f(offline.ndcg)}`.padEnd(86) +
        `${String(o.tasks).padStart(6)} ${String(o.feedback).padStart(6)}   ${f(o.selection_rate)}  ${f(o.hit_rate_at_k)}  ${f(o.mrr)}   ${model.status}`,
    );
  }
  const test = report.trainedModel.online_test;
  if (test) {
    console.log(
      `\n  online test (mSPRT on MRR): challenger v${report.trainedModel.version} ${f(test.challenger.mrr)} over ${test.challenger.feedback} answers, ` +
        `champion ${f(test.champion.mrr)} over ${test.champion.feedback}; difference ${f(test.difference)}, likelihood ratio ${f(test.likelihood_ratio, 1)} (decides at ${test.threshold}): ${test.decision}`,
    );
  } else {
    console.log(`\n  no online test: ${JSON.stringify(report.trainedModel.activation)}`);
  }
  console.log('\n  activations');
  for (const entry of report.activations) {
    console.log(`  #${entry.activation_id} v${entry.version} ${entry.change} (${entry.reason}, by ${entry.actor}; before: v${entry.previous_version ?? '-'}): ${entry.note ?? ''}`);
  }
}

async function main(): Promise<void> {
  const env = process.env;
  const settings = {
    tasks: Number(env.SIM_TASKS ?? 500),
    evaluationUsers: Number(env.SIM_EVAL_USERS ?? 1000),
    onlineTasks: Number(env.SIM_ONLINE_TASKS ?? 4000),
    seed: Number(env.SIM_SEED ?? 7),
    concurrency: Number(env.SIM_CONCURRENCY ?? 16),
    exploration: { slots: Number(env.EXPLORATION_SLOTS ?? 2), decayLabels: Number(env.EXPLORATION_DECAY_LABELS ?? 25) },
  };
  let stop = async () => {};
  let url = env.PORTICO_URL;
  let token = env.PORTICO_TOKEN ?? '';
  if (!url) {
    const dataDir = mkdtempSync(join(tmpdir(), 'portico-simulate-'));
    token = 'simulation-admin-token';
    const service = await startService(
      loadConfig({
        PORT: '0',
        DATA_DIR: dataDir,
        ADMIN_TOKEN: token,
        RATE_LIMIT_PER_MINUTE: '0',
        LOG_LEVEL: 'warn',
        AUTO_ACTIVATE: env.AUTO_ACTIVATE ?? 'online',
        ...(env.CHALLENGER_SHARE ? { CHALLENGER_SHARE: env.CHALLENGER_SHARE } : {}),
        EXPLORATION_SLOTS: String(settings.exploration.slots),
        EXPLORATION_DECAY_LABELS: String(settings.exploration.decayLabels),
      }),
      pino({ level: 'warn' }),
      () => {},
    );
    url = service.url;
    stop = async () => {
      await service.stop();
      rmSync(dataDir, { recursive: true, force: true });
    };
    process.stderr.write(`Started a fresh service at ${url} (embedded database in ${dataDir}, AUTO_ACTIVATE=${env.AUTO_ACTIVATE ?? 'online'})\n`);
  }
  try {
    const started = Date.now();
    const report = await runSimulation({
      client: createClient({ baseUrl: url, token }),
      ...settings,
      onProgress: (phase, done) => {
        if (done % 100 === 0) process.stderr.write(`  ${done} ${phase}\n`);
      },
    });
    print(report, settings, ((Date.now() - started) / 1000).toFixed(1));
  } finally {
    await stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
