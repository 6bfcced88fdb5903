import { setTimeout as sleep } from 'node:timers/promises';
import type { ChatProvider, CompletionChunk, CompletionRequest } from './provider.js';

/** The name the development model answers under, so nobody mistakes it for a real model. */
export const DEV_MODEL = 'portico-dev-echo';

const words = (text: string) => text.split(/(?<=\s)/).filter((token) => token !== '');

/**
 * The built-in stand-in used when no LLM_BASE_URL is set: it streams a fixed, deterministic reply
 * word by word (with a pause between words), so that the whole streaming path can be used and
 * tested without a model. It is not a language model and says so.
 */
export class DevelopmentProvider implements ChatProvider {
  constructor(private readonly tokenDelayMs: number) {}

  async *complete(request: CompletionRequest, signal: AbortSignal): AsyncIterable<CompletionChunk> {
    const last = request.messages.at(-1)?.content ?? '';
    const reply = words(
      `This is ${DEV_MODEL}, Portico's built-in development model, not a real language model. ` +
        `Your message had ${words(last).length} words and this conversation ${request.messages.length} messages. ` +
        'Set LLM_BASE_URL to an OpenAI-compatible server to get real answers.',
    );
    const tokens = reply.slice(0, request.maxTokens);
    for (const token of tokens) {
      if (this.tokenDelayMs > 0) await sleep(this.tokenDelayMs, undefined, { signal });
      signal.throwIfAborted();
      yield { type: 'token', content: token };
    }
    const prompt = request.messages.reduce((sum, message) => sum + words(message.content).length, 0);
    yield {
      type: 'end',
      model: DEV_MODEL,
      finishReason: tokens.length < reply.length ? 'length' : 'stop',
      usage: { prompt_tokens: prompt, completion_tokens: tokens.length, total_tokens: prompt + tokens.length },
    };
  }
}
