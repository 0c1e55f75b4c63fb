/**
 * Broker middleware: validates each local action's params against its TypeBox schema
 * (the `params` key of the action definition) and rejects with `VALIDATION_FAILED`.
 * Compiled once per action with TypeBox's JIT compiler, so the check is cheap.
 */
import type { Middleware } from 'moleculer';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Kind, type TSchema } from '@sinclair/typebox';
import { MeridianError } from '../contracts/index.js';

function isTypeBox(schema: unknown): schema is TSchema {
  return typeof schema === 'object' && schema !== null && Kind in schema;
}

/** Formats the first few schema violations as `path: message`. */
export function describeViolations(errors: Iterable<{ path: string; message: string }>, max = 3): string[] {
  const out: string[] = [];
  for (const e of errors) {
    out.push(`${e.path || '/'}: ${e.message}`);
    if (out.length >= max) break;
  }
  return out;
}

export function TypeBoxValidation(): Middleware {
  return {
    name: 'TypeBoxValidation',
    localAction(handler: (ctx: any) => Promise<unknown>, action: { name: string; params?: unknown }) {
      if (!isTypeBox(action.params)) return handler;
      const check = TypeCompiler.Compile(action.params);
      return function validate(ctx: { params: unknown }) {
        if (check.Check(ctx.params ?? {})) return handler(ctx);
        const details = describeViolations(check.Errors(ctx.params ?? {}));
        // The message can reach an HTTP client: it names the fields, never the internal action.
        return Promise.reject(new MeridianError('VALIDATION_FAILED', `Invalid parameters: ${details.join('; ')}`, { violations: details }));
      };
    },
  } as unknown as Middleware;
}
