import { EventSourceParserStream } from 'eventsource-parser/stream';
import type { ChatUsage } from '../db/schema.js';
import { type ChatProvider, type CompletionChunk, type CompletionRequest, UpstreamError, UpstreamTimeoutError } from './provider.js';

interface CompletionStreamChunk {
  model?: string;
  choices?: { delta?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: ChatUsage | null;
}

export interface OpenAiProviderOptions {
  baseUrl: string;
  apiKey: string | undefined;
  defaultModel: string;
  timeoutMs: number;
}

/**
 * Any server speaking OpenAI's chat completions protocol (OpenAI, vLLM, Ollama, llama.cpp):
 * `POST {LLM_BASE_URL}/chat/completions` with `stream: true`, whose server-sent events are parsed
 * with eventsource-parser and forwarded token by token as they arrive.
 */
export class OpenAiProvider implements ChatProvider {
  constructor(private readonly options: OpenAiProviderOptions) {}

  async *complete(request: CompletionRequest, signal: AbortSignal): AsyncIterable<CompletionChunk> {
    const model = request.model ?? this.options.defaultModel;
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const combined = AbortSignal.any([signal, timeout]);
    const timedOut = () => new UpstreamTimeoutError(`The model did not answer within ${this.options.timeoutMs} ms.`);
    try {
      const response = await fetch(`${this.options.baseUrl}/chat/completions`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream',
          ...(this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {}),
        },
        body: JSON.stringify({
          model,
          messages: request.messages,
          temperature: request.temperature,
          max_tokens: request.maxTokens,
          stream: true,
          stream_options: { include_usage: true },
        }),
        signal: combined,
      });
      if (!response.ok || !response.body) {
        const text = (await response.text().catch(() => '')).slice(0, 300);
        throw new UpstreamError(`The model answered ${response.status}${text ? `: ${text}` : ''}.`);
      }
      let finishReason = 'stop';
      let usage: ChatUsage | null = null;
      let answeredModel = model;
      let done = false;
      const reader = response.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream()).getReader();
      // Cancelling the reader ends a pending read at once, whatever fetch does with the signal.
      const cancel = () => void reader.cancel().catch(() => undefined);
      combined.addEventListener('abort', cancel, { once: true });
      try {
        for (;;) {
          const { value: event, done: ended } = await reader.read();
          if (ended || combined.aborted) break;
          if (event.data === '[DONE]') {
            done = true;
            break;
          }
          let chunk: CompletionStreamChunk;
          try {
            chunk = JSON.parse(event.data) as CompletionStreamChunk;
          } catch {
            throw new UpstreamError('The model sent a frame that is not JSON.');
          }
          answeredModel = chunk.model ?? answeredModel;
          usage = chunk.usage ?? usage;
          const choice = chunk.choices?.[0];
          if (choice?.finish_reason) finishReason = choice.finish_reason;
          const content = choice?.delta?.content;
          if (content) yield { type: 'token', content };
        }
      } finally {
        combined.removeEventListener('abort', cancel);
        cancel();
      }
      if (combined.aborted) throw combined.reason;
      if (!done) throw new UpstreamError('The model stream ended before [DONE].');
      yield { type: 'end', model: answeredModel, finishReason, usage };
    } catch (error) {
      if (timeout.aborted && !signal.aborted) throw timedOut();
      if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new DOMException('The client went away', 'AbortError');
      if (error instanceof UpstreamError) throw error;
      throw new UpstreamError(`The model could not be reached: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
