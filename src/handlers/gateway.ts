import type { Completion, CompletionResult, Gateway } from '../gateway/gateway.js';
import { isServerFault, openAiErrorBody, toProblem } from '../http/errors.js';
import type { Handlers, Reply } from '../http/operations.js';
import { toChatCompletion, toModel, toModelList, toUsageChunk } from '../presenters/gateway.js';
import type { Chunk } from '../gateway/chunks.js';

/** The result of a completion whose chunks ended without an error. */
function finished(completion: Completion): CompletionResult {
  if (!completion.result) throw new Error(`completion ${completion.id} ended without a result`);
  return completion.result;
}

export function gatewayHandlers(gateway: Gateway) {
  return {
    listGatewayModels: async (_input, { principal }): Promise<Reply<'listGatewayModels'>> => ({
      status: 200,
      body: toModelList(gateway.models(principal), gateway.loadedAt),
    }),

    getGatewayModel: async ({ path }, { principal }): Promise<Reply<'getGatewayModel'>> => {
      gateway.check(principal, path.model);
      return { status: 200, body: toModel(path.model, gateway.loadedAt) };
    },

    createChatCompletion: async ({ body }, ctx): Promise<Reply<'createChatCompletion'>> => {
      const { model, stream, ...request } = body;
      const completion = await gateway.open(ctx.principal, model, request, 'v1');
      const chunks = completion.chunks(ctx.signal);
      if (stream !== true) {
        const collected: Chunk[] = [];
        for await (const chunk of chunks) collected.push(chunk);
        return { status: 200, body: toChatCompletion(completion, collected, finished(completion)) };
      }
      // The first token decides the status: until then, a failure is an ordinary error answer.
      const first = await chunks.next();
      const includeUsage = typeof request.stream_options === 'object' && request.stream_options?.include_usage === true;
      return {
        status: 200,
        stream: async (writer) => {
          try {
            if (!first.done) await writer.send({ data: first.value });
            for await (const chunk of chunks) await writer.send({ data: chunk });
            if (writer.signal.aborted) return;
            if (includeUsage) await writer.send({ data: toUsageChunk(completion, finished(completion)) });
            await writer.send({ data: '[DONE]', raw: true });
          } catch (error) {
            if (writer.signal.aborted) return;
            // Tokens have flowed: the client must see that the answer is incomplete, never a clean end.
            const problem = toProblem(error);
            if (isServerFault(problem) && problem.kind === 'internal') ctx.log.error({ err: error }, 'completion stream failed');
            await writer.send({ data: openAiErrorBody(problem) });
          } finally {
            // Ends the completion (and its upstream request) if the loop stopped early.
            await chunks.return();
          }
        },
      };
    },
  } satisfies Handlers;
}
