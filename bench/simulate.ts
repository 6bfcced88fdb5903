/**
 * `make simulate`: seed 003's traffic generator played against the service through the SDK.
 *
 * Simulated travellers (user.tsv) search (POST /inference/start), look at the top 10 results and
 * pick one by seed 003's user model (or -1); then the service trains a new model on those labels.
 * Finally the initial model, the trained model and a random ranking are compared on fresh
 * travellers, offline, with the models' own artifacts (GET /models/{id}/artifact) and the same
 * scoring code the service uses: hit rate@10 and NDCG@10 with the traveller's appeal as relevance.
 *
 * Against a running service: PORTICO_URL and PORTICO_TOKEN (an admin token). Without PORTICO_URL a
 * fresh service with an embedded database is started for the run. SIM_TASKS (500),
 * SIM_EVAL_USERS (1000), SIM_SEED (7) and SIM_CONCURRENCY (16) tune it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createClient, type PorticoClient, type Schemas } from '../clients/typescript/src/index.js';
import { loadConfig } from '../src/config.js';
import { buildCatalogue, type Catalogue } from '../src/ml/catalogue.js';
import { rankCatalogue } from '../src/ml/model.js';
import { Random } from '../src/ml/random.js';
import { evaluateRanking, pick, randomRanking, sampleUser, type RankingQuality, type SimulatedUser } from '../src/ml/simulation.js';
import { loadMlprodTables } from '../src/ml/tables.js';
import type { ModelArtifact } from '../src/ml/types.js';
import { startService } from '../src/service.js';

export interface SimulationOptions {
  client: PorticoClient;
  tasks: number;
  evaluationUsers: number;
  seed: number;
  concurrency: number;
  onProgress?: (done: number) => void;
}

export interface SimulationReport {
  rows: ({ ranking: string } & RankingQuality)[];
  labelledTasks: number;
  picks: number;
  trainedModel: Schemas['Model'];
}

const TERMINAL = new Set(['SUCCESS', 'FAILURE', 'REVOKED']);

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

/** Runs jobs with at most `limit` in flight. */
async function inParallel<T>(items: readonly T[], limit: number, job: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        await job(items[index]!, index);
      }
    }),
  );
}

const artifactOf = (client: PorticoClient, modelId: string) =>
  data(client.GET('/models/{model_id}/artifact', { params: { path: { model_id: modelId } } })) as Promise<ModelArtifact>;

const rankWith = (artifact: ModelArtifact, catalogue: Catalogue) => (user: SimulatedUser['profile']) =>
  rankCatalogue(artifact, user, catalogue, 10).map((item) => item.location_id);

export async function runSimulation(options: SimulationOptions): Promise<SimulationReport> {
  const { client } = options;
  const { userTypes } = await loadMlprodTables();
  const catalogue = buildCatalogue(await data(client.GET('/content/locations', { params: { query: { limit: 5000 } } })));
  const initial = (await data(client.GET('/models'))).items.find((model) => model.active);
  if (!initial) throw new Error('the service has no active model');

  const random = new Random(options.seed);
  const travellers = Array.from({ length: options.tasks }, () => sampleUser(userTypes, random));
  let picks = 0;
  let done = 0;
  await inParallel(travellers, options.concurrency, async (traveller, index) => {
    const task = await data(client.POST('/inference/start', { body: search(traveller, index) }));
    const path = { params: { path: { task_id: task.task_id } } };
    await poll(() => data(client.GET('/inference/status/{task_id}', path)));
    const results = await data(client.GET('/inference/results/{task_id}', { params: { path: { task_id: task.task_id }, query: { limit: 10 } } }));
    const picked = pick(results.map((result) => result.location_id), traveller, catalogue, new Random(options.seed * 1_000_003 + index));
    if (picked !== -1) picks += 1;
    await data(client.PUT('/inference/select', { body: { task_id: task.task_id, location_id: picked } }));
    options.onProgress?.(++done);
  });

  const training = await data(client.POST('/train/start', { body: {} }));
  const trained = await poll(() => data(client.GET('/train/status/{task_id}', { params: { path: { task_id: training.task_id } } })));
  if (trained.status !== 'SUCCESS' || !trained.model_id) throw new Error(`training ended ${trained.status}: ${trained.error}`);
  const trainedModel = await data(client.GET('/models/{model_id}', { params: { path: { model_id: trained.model_id } } }));

  const evaluation = new Random(options.seed + 1);
  const fresh = Array.from({ length: options.evaluationUsers }, () => sampleUser(userTypes, evaluation));
  const [initialArtifact, trainedArtifact] = await Promise.all([artifactOf(client, initial.model_id), artifactOf(client, trained.model_id)]);
  return {
    rows: [
      { ranking: 'random', ...evaluateRanking(randomRanking(new Random(options.seed + 2), catalogue), fresh, catalogue) },
      { ranking: `initial model (v${initial.version})`, ...evaluateRanking(rankWith(initialArtifact, catalogue), fresh, catalogue) },
      { ranking: `trained model (v${trainedModel.version})`, ...evaluateRanking(rankWith(trainedArtifact, catalogue), fresh, catalogue) },
    ],
    labelledTasks: options.tasks,
    picks,
    trainedModel,
  };
}

async function main(): Promise<void> {
  const env = process.env;
  const settings = {
    tasks: Number(env.SIM_TASKS ?? 500),
    evaluationUsers: Number(env.SIM_EVAL_USERS ?? 1000),
    seed: Number(env.SIM_SEED ?? 7),
    concurrency: Number(env.SIM_CONCURRENCY ?? 16),
  };
  let stop = async () => {};
  let url = env.PORTICO_URL;
  let token = env.PORTICO_TOKEN ?? '';
  if (!url) {
    const dataDir = mkdtempSync(join(tmpdir(), 'portico-simulate-'));
    token = 'simulation-admin-token';
    const service = await startService(
      loadConfig({ PORT: '0', DATA_DIR: dataDir, ADMIN_TOKEN: token, RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn' }),
      pino({ level: 'warn' }),
      () => {},
    );
    url = service.url;
    stop = async () => {
      await service.stop();
      rmSync(dataDir, { recursive: true, force: true });
    };
    process.stderr.write(`Started a fresh service at ${url} (embedded database in ${dataDir})\n`);
  }
  try {
    const started = Date.now();
    const report = await runSimulation({
      client: createClient({ baseUrl: url, token }),
      ...settings,
      onProgress: (done) => {
        if (done % 100 === 0) process.stderr.write(`  ${done}/${settings.tasks} tasks labelled\n`);
      },
    });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`\n${settings.tasks} labelled tasks (${report.picks} picks), one training run, ${settings.evaluationUsers} fresh travellers, seed ${settings.seed}, ${seconds} s\n`);
    console.log('  ranking                   hit rate@10   NDCG@10');
    for (const row of report.rows) console.log(`  ${row.ranking.padEnd(26)}${row.hit_rate.toFixed(3).padStart(11)}${row.ndcg.toFixed(3).padStart(10)}`);
    const metrics = report.trainedModel.metrics;
    if (metrics) {
      console.log(`\n  trained model hold-out: AUC ${metrics.auc.toFixed(3)}, log loss ${metrics.log_loss.toFixed(3)}, accuracy ${metrics.accuracy.toFixed(3)}, F1 ${metrics.f1.toFixed(3)} (${metrics.holdout_examples} examples)`);
    }
    console.log(`  activation: ${JSON.stringify(report.trainedModel.activation)}`);
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
