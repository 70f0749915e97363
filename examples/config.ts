/** What every example needs: where the server is, who is calling, which persona, and a question. */
export function readExampleConfig() {
  // PERSONAS_TOKEN is a session token (from /api/auth/login) or an API key: both are bearer tokens.
  const { PERSONAS_URL, PERSONAS_TOKEN, PERSONA_ID } = process.env;
  if (!PERSONAS_TOKEN || !PERSONA_ID) {
    throw new Error('Set PERSONAS_TOKEN and PERSONA_ID (and PERSONAS_URL, default :3000)');
  }
  return {
    url: PERSONAS_URL ?? 'http://127.0.0.1:3000',
    token: PERSONAS_TOKEN,
    personaId: PERSONA_ID,
    content: process.argv[2] ?? 'Hello! What do you know?',
  };
}
