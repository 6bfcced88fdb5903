import type { Config } from '../config.js';
import { DEV_MODEL, DevelopmentModel } from './development-model.js';
import type { RouteConfig } from './gateway.js';
import { OpenAiUpstream } from './upstream.js';

/**
 * The public models and their upstreams: MODELS_FILE when set; else LLM_BASE_URL as one model
 * (LLM_MODEL) with one upstream; else the built-in development model.
 */
export function routesFrom(config: Config): RouteConfig[] {
  if (config.gatewayModels) {
    return config.gatewayModels.map((model) => ({
      name: model.name,
      upstreams: model.upstreams.map((upstream) => ({ upstream: new OpenAiUpstream(upstream), model: upstream.model })),
    }));
  }
  if (config.llmBaseUrl) {
    const upstream = { baseUrl: config.llmBaseUrl, model: config.llmModel, apiKey: config.llmApiKey };
    return [{ name: config.llmModel, upstreams: [{ upstream: new OpenAiUpstream(upstream), model: config.llmModel }] }];
  }
  return [{ name: DEV_MODEL, upstreams: [{ upstream: new DevelopmentModel(config.devModelTokenDelayMs), model: DEV_MODEL }] }];
}
