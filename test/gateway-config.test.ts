import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { projectRoot } from '../src/project.js';

const dir = mkdtempSync(join(tmpdir(), 'portico-models-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
};

describe('MODELS_FILE', () => {
  it('reads YAML or JSON into the public models and their upstreams, in order, with each upstream\'s own key', () => {
    const yaml = file(
      'models.yaml',
      ['models:', '  - name: fast', '    upstreams:', '      - base_url: http://a.internal/v1/', '        model: small', '        api_key_env: A_KEY', '      - base_url: https://b.internal/v1', '        model: small-b'].join('\n'),
    );
    expect(loadConfig({ MODELS_FILE: yaml, A_KEY: 'secret-a' }).gatewayModels).toEqual([
      {
        name: 'fast',
        upstreams: [
          { baseUrl: 'http://a.internal/v1', model: 'small', apiKey: 'secret-a' },
          { baseUrl: 'https://b.internal/v1', model: 'small-b', apiKey: undefined },
        ],
      },
    ]);
    const json = file('models.json', JSON.stringify({ models: [{ name: 'x', upstreams: [{ base_url: 'http://c/v1', model: 'm' }] }] }));
    expect(loadConfig({ MODELS_FILE: json }).gatewayModels?.[0]?.name).toBe('x');
  });

  it('names every problem with its place in the file', () => {
    expect(problemsOf({ MODELS_FILE: join(dir, 'missing.yaml') })[0]).toMatch(/^MODELS_FILE=.*missing\.yaml: ENOENT/);
    expect(problemsOf({ MODELS_FILE: file('broken.yaml', 'models: [') })[0]).toMatch(/^MODELS_FILE=/);
    expect(problemsOf({ MODELS_FILE: file('empty.yaml', 'models: []') })).toEqual(['MODELS_FILE: expected an object with a non-empty "models" list']);
    const bad = file(
      'bad.json',
      JSON.stringify({
        models: [
          { name: 'ok', upstreams: [{ base_url: 'ftp://x', model: '', api_key_env: 'UNSET_KEY', weight: 2 }] },
          { name: 'ok', upstreams: [] },
          { name: 'no upstreams' },
        ],
      }),
    );
    expect(problemsOf({ MODELS_FILE: bad })).toEqual([
      'MODELS_FILE models[0].upstreams[0]: unknown field "weight" (expected base_url, model, api_key_env)',
      'MODELS_FILE models[0].upstreams[0].base_url: expected an http:// or https:// URL',
      "MODELS_FILE models[0].upstreams[0].model: expected the upstream's model name",
      'MODELS_FILE models[0].upstreams[0].api_key_env: the variable UNSET_KEY is not set',
      'MODELS_FILE models[1].name: "ok" is listed twice',
      'MODELS_FILE models[2].name: expected 1 to 200 letters, digits or ._:/@- (starting with a letter or digit)',
    ]);
  });

  it('stops the service at start-up with exit status 2 and what is wrong', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: projectRoot,
      env: { ...process.env, MODELS_FILE: file('no-models.yaml', 'upstreams: []'), DATABASE_URL: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toContain('MODELS_FILE: expected an object with a non-empty "models" list');
  }, 60_000);
});

describe('the openai example (clients/openai/chat.ts)', () => {
  it('works unchanged against Portico with a Portico key', async () => {
    const { startTestService } = await import('./support/service.js');
    const service = await startTestService('pglite', { env: { DEV_MODEL_TOKEN_DELAY_MS: '0' } });
    try {
      const key = await service.createKey(['chat']);
      const child = spawn(process.execPath, ['--import', 'tsx', 'clients/openai/chat.ts'], {
        cwd: projectRoot,
        env: { ...process.env, PORTICO_URL: service.url, PORTICO_TOKEN: key.token },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(stdout).toContain("This is portico-dev-echo, Portico's built-in development model");
      expect(stdout).toMatch(/\[portico-dev-echo: \d+ tokens\]/);
    } finally {
      await service.stop();
    }
  }, 120_000);
});
