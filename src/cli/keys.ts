import { parseArgs } from 'node:util';
import pino from 'pino';
import { ApiKeyService } from '../auth/api-key-service.js';
import { isScope, type Scope, SCOPES } from '../auth/principal.js';
import { ConfigError, loadConfig } from '../config.js';
import { ApiKeyRepository } from '../db/api-keys.js';
import { openDatabase } from '../db/database.js';
import { UsageRepository } from '../db/usage.js';
import { KeyUsageReader } from '../gateway/key-usage.js';
import { migrateToLatest } from '../db/migrate.js';
import { SchemaValidator } from '../http/schemas.js';
import { loadSpec } from '../http/spec.js';
import { toApiKey } from '../presenters/api-keys.js';

const USAGE = `Usage: npm run keys -- <command>

  create --name NAME --scopes a,b [--owner OWNER] [--expires 30d|12h|2027-01-31] [--rate-limit N]
         [--models fast,large] [--token-budget N [--budget-period day|week|month]] [--tokens-per-minute N]
  list [--owner OWNER]
  revoke KEY_ID

Scopes: ${SCOPES.join(', ')}. Uses DATABASE_URL (or DATA_DIR for the embedded database).`;

class UsageError extends Error {}

/** `30d`, `12h`, `45m` from now, or an absolute date. */
export function parseExpiry(value: string, now = Date.now()): Date {
  const relative = /^(\d+)([dhm])$/.exec(value);
  const units = { d: 86_400_000, h: 3_600_000, m: 60_000 } as const;
  const date = relative ? new Date(now + Number(relative[1]) * units[relative[2] as keyof typeof units]) : new Date(value);
  if (Number.isNaN(date.getTime()) || date.getTime() <= now) throw new UsageError(`--expires ${value}: expected a future date or a duration such as 30d`);
  return date;
}

function parseScopes(value: string | undefined): Scope[] {
  const scopes = (value ?? '').split(',').map((scope) => scope.trim()).filter(Boolean);
  const unknown = scopes.filter((scope) => !isScope(scope));
  if (scopes.length === 0 || unknown.length > 0) {
    throw new UsageError(unknown.length > 0 ? `unknown scope: ${unknown.join(', ')}` : '--scopes is required');
  }
  return scopes.filter(isScope);
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      scopes: { type: 'string' },
      owner: { type: 'string' },
      expires: { type: 'string' },
      'rate-limit': { type: 'string' },
      models: { type: 'string' },
      'token-budget': { type: 'string' },
      'budget-period': { type: 'string' },
      'tokens-per-minute': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) throw new UsageError('');

  const config = loadConfig();
  const database = await openDatabase(config, pino({ level: 'warn' }));
  try {
    await migrateToLatest(database.db, database.schema);
    const keys = new ApiKeyService(new ApiKeyRepository(database));
    const usage = new KeyUsageReader(new UsageRepository(database));
    switch (command) {
      case 'create': {
        if (!values.name) throw new UsageError('--name is required');
        const number = (flag: string | undefined) => (flag === undefined ? undefined : Number(flag));
        // The same rules (bounds, enums, defaults) as POST /admin/api-keys: the spec's ApiKeyCreate.
        const checked = new SchemaValidator(loadSpec()).body('createApiKey', {
          name: values.name,
          scopes: parseScopes(values.scopes),
          ...(values.owner === undefined ? {} : { owner: values.owner }),
          ...(values['rate-limit'] === undefined ? {} : { rate_limit_per_minute: number(values['rate-limit']) }),
          ...(values.models === undefined ? {} : { models: values.models.split(',').map((model) => model.trim()) }),
          ...(values['token-budget'] === undefined ? {} : { token_budget: number(values['token-budget']) }),
          ...(values['budget-period'] === undefined ? {} : { budget_period: values['budget-period'] }),
          ...(values['tokens-per-minute'] === undefined ? {} : { tokens_per_minute: number(values['tokens-per-minute']) }),
        });
        const flagOf = (pointer: string) => {
          const field = pointer.slice(1).split('/')[0] ?? '';
          return field === 'rate_limit_per_minute' ? 'rate-limit' : field.replaceAll('_', '-');
        };
        if (!checked.ok) throw new UsageError(checked.errors.map((error) => `--${flagOf(error.pointer)}: ${error.message}`).join('\n'));
        const body = checked.body;
        const { row, token } = await keys.create(
          {
            name: body.name,
            scopes: body.scopes,
            owner: body.owner,
            expiresAt: values.expires === undefined ? undefined : parseExpiry(values.expires),
            rateLimitPerMinute: body.rate_limit_per_minute,
            models: body.models,
            tokenBudget: body.token_budget === undefined ? undefined : { tokens: body.token_budget, period: body.budget_period },
            tokensPerMinute: body.tokens_per_minute,
          },
          'cli',
        );
        process.stdout.write(`${JSON.stringify(toApiKey(row, (await usage.of([row])).get(row.id)!), null, 2)}\n\nToken (shown once, store it now):\n${token}\n`);
        return;
      }
      case 'list': {
        const rows = await keys.repository.list({ owner: values.owner, limit: 1000 });
        const periods = await usage.of(rows);
        const lines = rows.map((row) => {
          const key = toApiKey(row, periods.get(row.id)!);
          return [key.key_id, key.status, key.owner, key.name, key.scopes.join(','), key.token_hint, key.expires_at ?? '-'].join('\t');
        });
        process.stdout.write(['key_id\tstatus\towner\tname\tscopes\ttoken\texpires_at', ...lines].join('\n') + '\n');
        return;
      }
      case 'revoke': {
        const keyId = rest[0];
        if (!keyId) throw new UsageError('revoke needs a KEY_ID');
        const row = await keys.repository.revoke(keyId);
        if (!row) throw new UsageError(`no key with id ${keyId}`);
        process.stdout.write(`Revoked ${row.id} (${row.name}).\n`);
        return;
      }
      default:
        throw new UsageError(`unknown command: ${command}`);
    }
  } finally {
    await database.close();
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`${error.message ? `${error.message}\n\n` : ''}${USAGE}\n`);
    process.exit(2);
  }
  process.stderr.write(`${error instanceof ConfigError || (error instanceof Error && error.name === 'DataDirInUseError') ? error.message : error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
