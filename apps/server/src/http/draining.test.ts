import Fastify from 'fastify';
import { expect, it } from 'vitest';
import { installDrainingRefusal } from './draining';

it('answers a request that reaches a draining host with a 503 problem body, not Fastify’s own', async () => {
  let draining = false;
  const app = Fastify({ return503OnClosing: false });
  installDrainingRefusal(app, () => draining);
  app.get('/fast', async () => ({ ok: true }));
  expect((await app.inject({ method: 'GET', url: '/fast' })).statusCode).toBe(200);
  draining = true;
  const refused = await app.inject({ method: 'GET', url: '/fast' });
  expect(refused.statusCode).toBe(503);
  expect(refused.headers['retry-after']).toBe('1');
  expect(refused.headers.connection).toBe('close');
  expect(refused.json()).toMatchObject({
    status: 503,
    title: 'Service Unavailable',
    code: 'SERVICE_UNAVAILABLE',
    reason: 'shutting_down',
  });
  await app.close();
});
