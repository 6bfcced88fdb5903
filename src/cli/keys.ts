import { parseArgs } from 'node:util';
import pino from 'pino';
import { ApiKeyService } from '../auth/api-key-service.js';
import type { Scope } from '../auth/principal.js';
import { ConfigError, loadConfig } from '../config.js';
import { ApiKeyRepository } from '../db/api-keys.js';
import { openDatabase } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import { toApiKey } from '../handlers/api-keys.js';

const SCOPES: readonly Scope[] = ['events:read', 'events:write', 'inference:run', 'inference:read', 'models:train', 'models:manage', 'chat', 'admin'];

const USAGE = `Usage: npm run keys -- <command>

  create --name NAME --scopes a,b [--owner OWNER] [--expires 30d|12h|2027-01-31] [--rate-limit N]
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
  const unknown = scopes.filter((scope) => !(SCOPES as readonly string[]).includes(scope));
  if (scopes.length === 0 || unknown.length > 0) {
    throw new UsageError(unknown.length > 0 ? `unknown scope: ${unknown.join(', ')}` : '--scopes is required');
  }
  return scopes as Scope[];
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
    switch (command) {
      case 'create': {
        if (!values.name) throw new UsageError('--name is required');
        const rateLimit = values['rate-limit'] === undefined ? undefined : Number(values['rate-limit']);
        if (rateLimit !== undefined && !(Number.isInteger(rateLimit) && rateLimit >= 0)) throw new UsageError('--rate-limit: expected an integer >= 0');
        const { row, token } = await keys.create(
          {
            name: values.name,
            scopes: parseScopes(values.scopes),
            owner: values.owner,
            expiresAt: values.expires === undefined ? undefined : parseExpiry(values.expires),
            rateLimitPerMinute: rateLimit,
          },
          'cli',
        );
        process.stdout.write(`${JSON.stringify(toApiKey(row), null, 2)}\n\nToken (shown once, store it now):\n${token}\n`);
        return;
      }
      case 'list': {
        const rows = await keys.repository.list({ owner: values.owner, limit: 1000 });
        const lines = rows.map((row) => {
          const key = toApiKey(row);
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
