// The official openai package, unchanged, pointed at Portico. PORTICO_TOKEN=ptk_... npx tsx clients/openai/chat.ts
import OpenAI from 'openai';

const client = new OpenAI({ baseURL: `${process.env.PORTICO_URL ?? 'http://127.0.0.1:8000'}/v1`, apiKey: process.env.PORTICO_TOKEN });
const model = process.env.PORTICO_MODEL ?? (await client.models.list()).data[0]!.id;
const messages = [{ role: 'user' as const, content: 'Suggest a lake resort for a family of four.' }];
const stream = await client.chat.completions.create({ model, messages, stream: true, stream_options: { include_usage: true } });
for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta.content ?? (chunk.usage ? `\n[${model}: ${chunk.usage.total_tokens} tokens]\n` : ''));
