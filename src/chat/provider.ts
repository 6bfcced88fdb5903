import type { ChatUsage } from '../db/schema.js';

export interface ChatTurn {
  role: 'user' | 'assistant';
  content: string;
}

export interface CompletionRequest {
  /** Undefined: the provider's default model. */
  model: string | undefined;
  messages: ChatTurn[];
  temperature: number;
  maxTokens: number;
}

export type CompletionChunk =
  | { type: 'token'; content: string }
  | { type: 'end'; model: string; finishReason: string; usage: ChatUsage | null };

/** A language model that streams an answer; both providers implement it. */
export interface ChatProvider {
  /** Streams the answer; aborting `signal` must stop the upstream request at once. */
  complete(request: CompletionRequest, signal: AbortSignal): AsyncIterable<CompletionChunk>;
}

/** The model answered with an error, or its stream broke off. */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
}

/** The model did not finish within LLM_TIMEOUT_MS. */
export class UpstreamTimeoutError extends Error {
  override readonly name = 'UpstreamTimeoutError';
}
