/**
 * Service `auth`: creates, lists, verifies and revokes app API keys. A revocation is
 * broadcast (`auth.keyRevoked`) so every gateway copy drops the key from its cache at once
 * instead of trusting it until the cache entry expires.
 */
import type { Context, ServiceSchema } from 'moleculer';
import { Events, Schemas, Services, type KeyCreateParams, type KeyIdParams, type KeyVerifyParams } from '../../contracts/index.js';
import { broadcast } from '../../fabric/index.js';
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
      listKeys: {
        handler: async () => ({ keys: await keys.list() }),
      },
      revokeKey: {
        params: Schemas.KeyIdParams,
        handler: async (ctx: Context<KeyIdParams>) => {
          const info = await keys.revoke(ctx.params.keyId);
          // Also for a key revoked before: a gateway that missed the first event catches up.
          broadcast(ctx, Events.keyRevoked, { keyId: info.keyId, appId: info.appId });
          return info;
        },
      },
    },
  };
}
