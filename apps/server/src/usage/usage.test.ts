// Usage records, GET /usage and daily quotas, through the real HTTP stack on an injected clock.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, adminActor, createActor, TEST_ADMIN_ENV } from '../test-support/actors';
import {
  type FakeOpenAiServer,
  sendChatCompletion,
  sendJson,
  startFakeOpenAiServer,
  streamChatCompletion,
} from '../test-support/fake-openai-server';
import { startTestApp, type TestApp } from '../test-support/test-app';

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}
interface Report {
  from: string;
  to: string;
  totals: Usage & { calls: number };
  groups: (Usage & { calls: number; key: string })[];
}

let t: TestApp;
let admin: Actor;
let personaId: string;
/** The server's clock: the test moves it across midnight UTC. */
let now = new Date('2026-12-07T22:00:00Z');

beforeAll(async () => {
  t = await startTestApp(
    { ...TEST_ADMIN_ENV, CHAT_RATE_LIMIT_PER_MINUTE: '10000' },
    { clock: () => now },
  );
  admin = await adminActor(t);
  const built = await t.api<{ persona_id: string }>('POST', '/personas/build', {
    token: admin.token,
    body: { persona_name: 'Counter', system_prompt: 'You count.' },
  });
  personaId = built.body.persona_id;
});
afterAll(async () => {
  await t?.[Symbol.asyncDispose]();
});

async function chat(token: string, content = 'How many tokens is this?') {
  return t.api<{ usage: Usage; message_history_id: string }>(
    'POST',
    `/personas/${personaId}/chat`,
    {
      token,
      body: { content },
    },
  );
}

describe('usage', () => {
  it('totals equal the sum of the usage the chat responses returned, by day and persona', async () => {
    const user = await createActor(t, admin.token, 'user');
    const answers: Usage[] = [];
    for (const content of ['One question', 'A second, longer question about things', 'Third']) {
      const answer = await chat(user.token, content);
      expect(answer.status).toBe(200);
      answers.push(answer.body.usage);
    }
    const sum = (pick: (u: Usage) => number) => answers.reduce((n, u) => n + pick(u), 0);
    const report = await t.api<Report>('GET', '/usage?group_by=persona', { token: user.token });
    expect(report.status).toBe(200);
    expect(report.body.totals).toEqual({
      prompt_tokens: sum((u) => u.prompt_tokens),
      completion_tokens: sum((u) => u.completion_tokens),
      total_tokens: sum((u) => u.prompt_tokens + u.completion_tokens),
      calls: 3,
    });
    expect(report.body.groups).toEqual([{ key: personaId, ...report.body.totals }]);
    const byDay = await t.api<Report>('GET', '/usage?group_by=day', { token: user.token });
    expect(byDay.body.groups.map((g) => g.key)).toEqual(['2026-12-07']);
    // A range that ends before today counts nothing.
    const before = await t.api<Report>('GET', '/usage?from=2026-11-01&to=2026-12-07', {
      token: user.token,
    });
    expect(before.body.totals.calls).toBe(0);
  });

  it("is the caller's own; another user's is for admins only", async () => {
    const user = await createActor(t, admin.token, 'user');
    const other = await createActor(t, admin.token, 'user');
    await chat(other.token);
    const refused = await t.api('GET', `/usage?user_id=${other.id}`, { token: user.token });
    expect(refused.status).toBe(403);
    const mine = await t.api<Report>('GET', '/usage', { token: user.token });
    expect(mine.body.totals.calls).toBe(0);
    const asAdmin = await t.api<Report>('GET', `/usage?user_id=${other.id}`, {
      token: admin.token,
    });
    expect(asAdmin.body.totals.calls).toBe(1);
    const everyone = await t.api<Report>('GET', '/usage?group_by=user', { token: admin.token });
    expect(everyone.body.groups.map((g) => g.key)).toContain(other.id);
  });

  it('refuses a range that is backwards or too long', async () => {
    for (const query of ['from=2026-12-07&to=2026-12-01', 'from=2024-01-01&to=2026-01-01']) {
      expect((await t.api('GET', `/usage?${query}`, { token: admin.token })).status).toBe(400);
    }
  });
});

describe('usage of a hosted model', () => {
  let fake: FakeOpenAiServer;
  let hosted: TestApp;
  let boss: Actor;
  let persona: string;
  let failNext = false;

  beforeAll(async () => {
    fake = await startFakeOpenAiServer((req, res) => {
      if (failNext) return sendJson(res, 500, { error: { message: 'upstream broke' } });
      if (req.body.stream) return streamChatCompletion(res, ['Streamed ', 'answer.']);
      sendChatCompletion(res, 'Plain answer.', { prompt_tokens: 42, completion_tokens: 3 });
    });
    hosted = await startTestApp({
      ...TEST_ADMIN_ENV,
      LLM_PROVIDER: 'huggingface',
      HF_ENDPOINT_URL: fake.url,
      HF_TOKEN: 'test-token',
    });
    boss = await adminActor(hosted);
    const built = await hosted.api<{ persona_id: string }>('POST', '/personas/build', {
      token: boss.token,
      body: { persona_name: 'Hosted' },
    });
    persona = built.body.persona_id;
  });
  afterAll(async () => {
    await hosted?.[Symbol.asyncDispose]();
    await fake?.close();
  });

  it('records what the provider reported, streamed calls, and failed calls (estimated)', async () => {
    const user = await createActor(hosted, boss.token, 'user');
    const plain = await hosted.api<{ usage: Usage }>('POST', `/personas/${persona}/chat`, {
      token: user.token,
      body: { content: 'Plainly' },
    });
    expect(plain.body.usage).toMatchObject({ prompt_tokens: 42, completion_tokens: 3 });
    const streamed = await hosted.app.http.inject({
      method: 'POST',
      url: `/api/personas/${persona}/chat/stream`,
      headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ content: 'Stream it' }),
    });
    expect(streamed.statusCode).toBe(200);
    const done = streamed.body
      .split('\n\n')
      .find((frame) => frame.startsWith('event: done'))
      ?.split('data: ')[1];
    const streamedUsage = (JSON.parse(done ?? '{}') as { usage: Usage }).usage;
    failNext = true;
    const failed = await hosted.api('POST', `/personas/${persona}/chat`, {
      token: user.token,
      body: { content: 'This one breaks' },
    });
    failNext = false;
    expect(failed.status).toBe(502);

    const report = await hosted.api<Report>('GET', '/usage', { token: user.token });
    expect(report.body.totals.calls).toBe(3);
    const known = 42 + 3 + streamedUsage.prompt_tokens + streamedUsage.completion_tokens;
    // The failed call counts its estimated prompt, and no completion.
    expect(report.body.totals.total_tokens).toBeGreaterThan(known);
    expect(report.body.totals.completion_tokens).toBe(3 + streamedUsage.completion_tokens);
  });
});

describe('quotas', () => {
  it('stop the next chat once the day is used up, and reset when the UTC day turns', async () => {
    now = new Date('2026-12-08T23:00:00Z');
    const user = await createActor(t, admin.token, 'user');
    const first = await chat(user.token);
    const used = first.body.usage.prompt_tokens + first.body.usage.completion_tokens;
    const set = await t.api('PUT', `/users/${user.id}/quota`, {
      token: admin.token,
      body: { daily_token_limit: used + 1 },
    });
    expect(set.status).toBe(200);
    const me = await t.api<{ quota: { remaining_today: number } }>('GET', '/auth/me', {
      token: user.token,
    });
    expect(me.body.quota).toEqual({
      daily_token_limit: used + 1,
      used_today: used,
      remaining_today: 1,
    });
    // One token left: the check lets this one through (it is checked before, not predicted).
    expect((await chat(user.token)).status).toBe(200);
    const stopped = await chat(user.token);
    expect(stopped.status).toBe(429);
    expect(stopped.body).toMatchObject({ code: 'TOO_MANY_REQUESTS', reason: 'quota_exceeded' });
    // An hour to midnight UTC.
    expect(Number(stopped.headers['retry-after'])).toBe(3600);

    now = new Date('2026-12-09T00:00:01Z');
    expect((await chat(user.token)).status).toBe(200);
  });

  it('refuses a limit larger than the column holds with a 400, and keeps the largest it holds', async () => {
    const user = await createActor(t, admin.token, 'user');
    const tooLarge = await t.api('PUT', `/users/${user.id}/quota`, {
      token: admin.token,
      body: { daily_token_limit: 2_147_483_648 },
    });
    // It was a database error ("integer out of range"): a 500.
    expect(tooLarge.status).toBe(400);
    expect(tooLarge.body).toMatchObject({ code: 'BAD_REQUEST' });
    const largest = await t.api('PUT', `/users/${user.id}/quota`, {
      token: admin.token,
      body: { daily_token_limit: 2_147_483_647 },
    });
    expect(largest.status).toBe(200);
    const me = await t.api<{ quota: { daily_token_limit: number } }>('GET', '/auth/me', {
      token: user.token,
    });
    expect(me.body.quota.daily_token_limit).toBe(2_147_483_647);
  });

  it('the default comes from USER_DAILY_TOKEN_LIMIT; null puts a user back on it', async () => {
    const limited = await startTestApp({ ...TEST_ADMIN_ENV, USER_DAILY_TOKEN_LIMIT: '0' });
    try {
      const boss = await adminActor(limited);
      const user = await createActor(limited, boss.token, 'user');
      const built = await limited.api<{ persona_id: string }>('POST', '/personas/build', {
        token: boss.token,
        body: { persona_name: 'Limited' },
      });
      const ask = () =>
        limited.api('POST', `/personas/${built.body.persona_id}/chat`, {
          token: user.token,
          body: { content: 'Hello' },
        });
      expect((await ask()).status).toBe(429);
      await limited.api('PUT', `/users/${user.id}/quota`, {
        token: boss.token,
        body: { daily_token_limit: 1_000_000 },
      });
      expect((await ask()).status).toBe(200);
      await limited.api('PUT', `/users/${user.id}/quota`, {
        token: boss.token,
        body: { daily_token_limit: null },
      });
      expect((await ask()).status).toBe(429);
    } finally {
      await limited[Symbol.asyncDispose]();
    }
  });
});
