/** Service `auth`: creates and verifies app API keys. */
import type { Context, ServiceSchema } from 'moleculer';
import { Schemas, Services, type KeyCreateParams, type KeyVerifyParams } from '../../contracts/index.js';
import type { ApiKeyStore } from './ApiKeyStore.js';

export function createAuthService({ keys }: { keys: ApiKeyStore }): ServiceSchema {
  return {
    name: Services.auth,
    actions: {
      createKey: {
        params: Schemas.KeyCreateParams,
        handler: (ctx: Context<KeyCreateParams>) => keys.create(ctx.params.appId, ctx.params.label),
      },
      verifyKey: {
        params: Schemas.KeyVerifyParams,
        handler: (ctx: Context<KeyVerifyParams>) => keys.verify(ctx.params.key),
      },
    },
  };
}
