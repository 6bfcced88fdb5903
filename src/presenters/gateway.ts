import type { Chunk } from '../gateway/chunks.js';
import { choiceOf, contentOf } from '../gateway/chunks.js';
import type { Completion, CompletionResult } from '../gateway/gateway.js';
import type { SchemaChatCompletion, SchemaChatCompletionChunk, SchemaGatewayModel, SchemaGatewayModelList } from '../generated/api.js';

export function toModel(id: string, created: number): SchemaGatewayModel {
  return { id, object: 'model', created, owned_by: 'portico' };
}

export function toModelList(models: readonly string[], created: number): SchemaGatewayModelList {
  return { object: 'list', data: models.map((id) => toModel(id, created)) };
}

interface ToolCall {
  id?: string;
  type?: string;
  function: { name: string; arguments: string };
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Tool-call pieces merged by their index, as OpenAI streams them: id, name, then arguments bit by bit. */
function mergeToolCalls(calls: Map<number, ToolCall>, chunk: Chunk): void {
  const delta = choiceOf(chunk)?.delta;
  if (!isObject(delta) || !Array.isArray(delta.tool_calls)) return;
  for (const piece of delta.tool_calls as unknown[]) {
    if (!isObject(piece)) continue;
    const index = typeof piece.index === 'number' ? piece.index : calls.size;
    const call = calls.get(index) ?? { function: { name: '', arguments: '' } };
    if (typeof piece.id === 'string') call.id = piece.id;
    if (typeof piece.type === 'string') call.type = piece.type;
    const fn = piece.function;
    if (isObject(fn)) {
      if (typeof fn.name === 'string') call.function.name += fn.name;
      if (typeof fn.arguments === 'string') call.function.arguments += fn.arguments;
    }
    calls.set(index, call);
  }
}

/** A non-streamed answer: the chunks' pieces as one `chat.completion`. */
export function toChatCompletion(completion: Completion, chunks: readonly Chunk[], result: CompletionResult): SchemaChatCompletion {
  let content = '';
  const calls = new Map<number, ToolCall>();
  for (const chunk of chunks) {
    content += contentOf(chunk);
    mergeToolCalls(calls, chunk);
  }
  const toolCalls = [...calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => ({ type: 'function', ...call }));
  return {
    id: completion.id,
    object: 'chat.completion',
    created: completion.created,
    model: completion.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: content === '' && toolCalls.length > 0 ? null : content, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) },
        finish_reason: result.finishReason ?? 'stop',
        logprobs: null,
      },
    ],
    usage: result.usage,
  };
}

/** The last chunk of a stream whose client set `stream_options.include_usage`. */
export function toUsageChunk(completion: Completion, result: CompletionResult): SchemaChatCompletionChunk {
  return { id: completion.id, object: 'chat.completion.chunk', created: completion.created, model: completion.model, choices: [], usage: result.usage };
}
