import type { SchemaChatCompletionMessage, SchemaChatCompletionRequest, SchemaCompletionUsage } from '../generated/api.js';

/** A chunk as an upstream sent it: OpenAI's `chat.completion.chunk`, parsed but not trusted. */
export type Chunk = Record<string, unknown>;

/** What is sent upstream: the client's request without its model (each upstream names its own). */
export type CompletionBody = Pick<SchemaChatCompletionRequest, 'messages' | 'max_tokens' | 'max_completion_tokens' | 'stream_options'> & { [field: string]: unknown };

export type Message = SchemaChatCompletionMessage;
export type Usage = SchemaCompletionUsage;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A message's text: its string content, or the text of its content parts. */
export function messageText(message: Message | undefined): string {
  const content = message?.content;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => (typeof part.text === 'string' ? part.text : '')).join('');
}

export function maxTokensOf(body: CompletionBody): number | undefined {
  return body.max_completion_tokens ?? body.max_tokens ?? undefined;
}

/** A rough count for what no upstream reported: about four characters per token, at least one per piece. */
export function estimateTokens(characters: number): number {
  return Math.ceil(characters / 4);
}

export function estimatePrompt(messages: readonly Message[]): number {
  return messages.reduce((sum, message) => sum + estimateTokens(messageText(message).length), 0);
}

/** The one choice of a chunk, when it has one. */
export function choiceOf(chunk: Chunk): Record<string, unknown> | undefined {
  const choices = chunk.choices;
  const first: unknown = Array.isArray(choices) ? choices[0] : undefined;
  return isObject(first) ? first : undefined;
}

/** The text a chunk adds to the answer's content. */
export function contentOf(chunk: Chunk): string {
  const delta = choiceOf(chunk)?.delta;
  return isObject(delta) && typeof delta.content === 'string' ? delta.content : '';
}

/** The characters of answer a chunk carries: content, refusal and tool-call pieces. */
export function deliveredCharacters(chunk: Chunk): number {
  const delta = choiceOf(chunk)?.delta;
  if (!isObject(delta)) return 0;
  let count = typeof delta.content === 'string' ? delta.content.length : 0;
  if (typeof delta.refusal === 'string') count += delta.refusal.length;
  if (Array.isArray(delta.tool_calls)) count += JSON.stringify(delta.tool_calls).length;
  return count;
}

/** Whether a chunk is part of the answer itself (not only the opening role): the first token. */
export function isToken(chunk: Chunk): boolean {
  const choice = choiceOf(chunk);
  return deliveredCharacters(chunk) > 0 || (choice?.finish_reason !== undefined && choice.finish_reason !== null);
}

/** The usage a chunk reports, when it is a well-formed one. */
export function usageOf(chunk: Chunk): Usage | undefined {
  const usage = chunk.usage;
  if (!isObject(usage)) return undefined;
  const { prompt_tokens: prompt, completion_tokens: completion } = usage;
  if (!Number.isSafeInteger(prompt) || !Number.isSafeInteger(completion) || Number(prompt) < 0 || Number(completion) < 0) return undefined;
  return { prompt_tokens: Number(prompt), completion_tokens: Number(completion), total_tokens: Number(prompt) + Number(completion) };
}
