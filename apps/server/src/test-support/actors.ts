import type { Role } from '@personas/contracts';
import { restClient } from './rest-client';
import type { TestApp } from './test-app';

export interface Actor {
  id: string;
  email: string;
  token: string;
  role: Role;
}

let sequence = 0;

/** Registers a user and, via the admin, gives them `role`: a real account with a real token. */
export async function createActor(
  t: TestApp,
  adminToken: string,
  role: Role,
  label: string = role,
): Promise<Actor> {
  const api = restClient(t.app.http);
  sequence += 1;
  const email = `${label}-${sequence}-${Date.now()}@example.com`;
  const reg = await api<{ user_id: string; token: string }>('POST', '/auth/register', {
    body: { email, password: 'actor-password' },
  });
  if (reg.status !== 200) throw new Error(`register failed: ${JSON.stringify(reg.body)}`);
  if (role !== 'user') {
    const res = await api('PUT', `/users/${reg.body.user_id}/role`, {
      token: adminToken,
      body: { role },
    });
    if (res.status !== 200) throw new Error(`role change failed: ${JSON.stringify(res.body)}`);
  }
  return { id: reg.body.user_id, email, token: reg.body.token, role };
}

export const TEST_ADMIN = { email: 'admin@example.com', password: 'admin-password-1' };

/** The environment that makes a test app create TEST_ADMIN at start. */
export const TEST_ADMIN_ENV = {
  ADMIN_EMAIL: TEST_ADMIN.email,
  ADMIN_PASSWORD: TEST_ADMIN.password,
};

/** Logs in as the ADMIN_EMAIL account a test app was started with. */
export async function adminActor(t: TestApp): Promise<Actor> {
  const api = restClient(t.app.http);
  const res = await api<{ user_id: string; token: string }>('POST', '/auth/login', {
    body: TEST_ADMIN,
  });
  if (res.status !== 200) throw new Error('admin login failed: start the app with TEST_ADMIN');
  return { id: res.body.user_id, email: TEST_ADMIN.email, token: res.body.token, role: 'admin' };
}
