/** Streams a chat answer, printing tokens as they arrive. Needs the chat scope. Usage: chat.ts [message] */
import { streamChat } from '../src/index.js';
import { client } from './client.js';

const message = process.argv.slice(2).join(' ') || 'Suggest a lake resort for a family of four.';
for await (const frame of streamChat(client, { message })) {
  if (frame.type === 'token') process.stdout.write(frame.content);
  else if (frame.type === 'done') console.log(`\n[${frame.model}, ${frame.usage.total_tokens} tokens, ${frame.finish_reason}]`);
  else {
    console.error(`\n${frame.code ?? 'error'}: ${frame.message}`);
    process.exitCode = 1;
  }
}
