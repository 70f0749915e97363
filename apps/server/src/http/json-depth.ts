import type { FastifyInstance } from 'fastify';
import { errorBody } from './error-body';

/** Deeper than any request of the contract nests, far shallower than what overflows a stack. */
export const MAX_JSON_DEPTH = 64;

/**
 * True when the JSON text nests arrays and objects deeper than `maxDepth`. A linear scan that
 * skips strings, so it never recurses and stops at the first bracket too many: the check that
 * keeps a body of 5,000 nested arrays from reaching a recursive walk (the REST adapter's
 * coercion, zod) and overflowing the stack.
 */
export function jsonNestsDeeperThan(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  return false;
}

function tooDeep(maxDepth: number) {
  return Object.assign(new Error(`JSON body nests deeper than ${maxDepth} levels`), {
    statusCode: 400,
    code: 'FST_ERR_JSON_TOO_DEEP',
  });
}

/**
 * Every JSON body is checked for depth before it is parsed: the host's own JSON parser (REST,
 * the SSE route) checks the text, and a hook checks the bodies the tRPC plugin keeps as text to
 * parse itself. Both answer 400 in the error shape.
 */
export function installJsonDepthBound(app: FastifyInstance, maxDepth = MAX_JSON_DEPTH): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (jsonNestsDeeperThan(body as string, maxDepth)) {
      done(tooDeep(maxDepth), undefined);
      return;
    }
    parseJson(request, body as string, done);
  });
  app.addHook('preValidation', async (request, reply) => {
    if (typeof request.body === 'string' && jsonNestsDeeperThan(request.body, maxDepth)) {
      const detail = `JSON body nests deeper than ${maxDepth} levels`;
      return reply.code(400).send(errorBody('BAD_REQUEST', detail));
    }
  });
}
