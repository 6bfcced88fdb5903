import { setTimeout as sleep } from 'node:timers/promises';
import { type Chunk, type CompletionBody, maxTokensOf, messageText } from './chunks.js';
import type { Upstream } from './upstream.js';

/** The name the development model answers under, so nobody mistakes it for a real model. */
export const DEV_MODEL = 'portico-dev-echo';

const words = (text: string) => text.split(/(?<=\s)/).filter((token) => token !== '');

/**
 * The built-in stand-in used when neither MODELS_FILE nor LLM_BASE_URL is set: it streams a fixed,
 * deterministic reply word by word (with a pause between words) as OpenAI chunks, with usage
 * counted in words, so that the whole gateway can be used and tested without a model. It is not a
 * language model and says so.
 */
export class DevelopmentModel implements Upstream {
  readonly label = 'development';
  constructor(private readonly tokenDelayMs: number) {}

  async *stream(body: CompletionBody, signal: AbortSignal): AsyncIterable<Chunk> {
    const messages = body.messages;
    const last = messageText(messages.at(-1));
    const reply = words(
      `This is ${DEV_MODEL}, Portico's built-in development model, not a real language model. ` +
        `Your message had ${words(last).length} words and this conversation ${messages.length} messages. ` +
        'Set LLM_BASE_URL or MODELS_FILE to get real answers.',
    );
    const tokens = reply.slice(0, maxTokensOf(body) ?? reply.length);
    const base = { id: 'dev', object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: DEV_MODEL };
    yield { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] };
    for (const token of tokens) {
      if (this.tokenDelayMs > 0) await sleep(this.tokenDelayMs, undefined, { signal });
      signal.throwIfAborted();
      yield { ...base, choices: [{ index: 0, delta: { content: token }, finish_reason: null }] };
    }
    yield { ...base, choices: [{ index: 0, delta: {}, finish_reason: tokens.length < reply.length ? 'length' : 'stop' }] };
    const prompt = messages.reduce((sum, message) => sum + words(messageText(message)).length, 0);
    yield { ...base, choices: [], usage: { prompt_tokens: prompt, completion_tokens: tokens.length, total_tokens: prompt + tokens.length } };
  }
}
