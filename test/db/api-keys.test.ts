import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyId, generateToken, hashToken, tokenHint } from '../../src/auth/tokens.js';
import { API_KEY_CHANGES, ApiKeyRepository } from '../../src/db/api-keys.js';
import type { NewApiKey } from '../../src/db/schema.js';
import { NotificationRecorder, openTestDatabase, type TestDatabase } from '../support/database.js';
import { engines } from '../support/service.js';

/** A key row as the key service makes one, and its token. */
function newKey(overrides: Partial<NewApiKey> = {}): { key: NewApiKey; token: string } {
  const token = generateToken();
  return {
    token,
    key: { id: generateKeyId(), name: 'test', owner: 'acme', scopes: ['events:read'], token_hash: hashToken(token), token_hint: tokenHint(token), origin: 'api', rate_limit_per_minute: null, expires_at: null, ...overrides },
  };
}

describe.each(engines())('ApiKeyRepository on %s', (engine) => {
  let test: TestDatabase;
  let keys: ApiKeyRepository;
  let changes: NotificationRecorder;
  beforeAll(async () => {
    test = await openTestDatabase(engine);
    keys = new ApiKeyRepository(test.database);
    changes = await NotificationRecorder.listen(test.database, API_KEY_CHANGES);
  });
  afterAll(async () => {
    await changes?.stop();
    await test?.close();
  });

  it('finds a key by the hash of its token, whatever its state', async () => {
    const { key, token } = newKey();
    const created = await keys.create(key);
    expect(Buffer.from(created.token_hash).equals(hashToken(token))).toBe(true);
    expect(await keys.findByTokenHash(hashToken(token))).toEqual(created);
    await keys.revoke(created.id);
    expect((await keys.findByTokenHash(hashToken(token)))?.revoked_at).toEqual(expect.any(Date));
    expect(await keys.findByTokenHash(hashToken(generateToken()))).toBeUndefined();
  });

  it('revokes once, keeping the first time, and tells every process', async () => {
    const created = await keys.create(newKey().key);
    await changes.drain();
    const revoked = await keys.revoke(created.id);
    expect(revoked).toMatchObject({ id: created.id, revoked_at: expect.any(Date) });
    expect(await changes.drain()).toEqual([created.id]);
    expect((await keys.revoke(created.id))?.revoked_at).toEqual(revoked!.revoked_at);
    await changes.drain();
    expect(await keys.revoke(generateKeyId())).toBeUndefined();
    expect(await changes.drain()).toEqual([]);
  });

  it('lists newest first, per owner, before a position', async () => {
    const owner = `owner-${generateKeyId()}`;
    const created = [];
    for (let index = 0; index < 3; index++) created.push(await keys.create(newKey({ owner, name: `k${index}` }).key));
    const names = async (query: { limit: number; beforeSeq?: string }) => (await keys.list({ owner, ...query })).map((row) => row.name);
    expect(await names({ limit: 10 })).toEqual(['k2', 'k1', 'k0']);
    expect(await names({ limit: 2 })).toEqual(['k2', 'k1']);
    expect(await names({ limit: 10, beforeSeq: created[1]!.seq })).toEqual(['k0']);
  });

  it('records the latest use of each key, never moving it back', async () => {
    const [a, b] = [await keys.create(newKey().key), await keys.create(newKey().key)];
    const at = (iso: string) => new Date(iso);
    await keys.touchLastUsed(new Map([[a.id, at('2030-01-01T00:00:10Z')], [b.id, at('2030-01-01T00:00:05Z')]]));
    await keys.touchLastUsed(new Map([[a.id, at('2030-01-01T00:00:01Z')]]));
    await keys.touchLastUsed(new Map());
    expect((await keys.get(a.id))?.last_used_at).toEqual(at('2030-01-01T00:00:10Z'));
    expect((await keys.get(b.id))?.last_used_at).toEqual(at('2030-01-01T00:00:05Z'));
  });

  it('makes ADMIN_TOKEN the admin key: created, unchanged, then replaced so the old token stops working', async () => {
    const adminKey = (token: string) => () => newKey({ name: 'admin', owner: 'admin', scopes: ['admin'], origin: 'admin_token', token_hash: hashToken(token), token_hint: tokenHint(token) }).key;
    const [oldToken, newToken] = [generateToken(), generateToken()];
    expect(await keys.setAdminToken(hashToken(oldToken), adminKey(oldToken))).toBe('created');
    const original = await keys.findByTokenHash(hashToken(oldToken));
    expect(await keys.setAdminToken(hashToken(oldToken), adminKey(oldToken))).toBe('unchanged');
    await changes.drain();

    expect(await keys.setAdminToken(hashToken(newToken), adminKey(newToken))).toBe('updated');
    expect(await keys.findByTokenHash(hashToken(oldToken))).toBeUndefined();
    expect(await keys.findByTokenHash(hashToken(newToken))).toMatchObject({ id: original!.id, scopes: ['admin'], expires_at: null });
    expect(await changes.drain()).toEqual([original!.id]);

    // A working admin key exists, so none is created; once it is revoked, one is.
    expect(await keys.ensureAdminKey(adminKey(generateToken()))).toBe(false);
    await keys.revoke(original!.id);
    expect(await keys.ensureAdminKey(adminKey(generateToken()))).toBe(true);
    expect(await keys.ensureAdminKey(adminKey(generateToken()))).toBe(false);
  });
});
