/** The bootstrap admin the e2e servers start with (ADMIN_EMAIL / ADMIN_PASSWORD). */
export const ADMIN = { email: 'admin@example.com', password: 'admin-password-e2e' };

export const adminEnv = (): Record<string, string> => ({
  ADMIN_EMAIL: ADMIN.email,
  ADMIN_PASSWORD: ADMIN.password,
});

export const PASSWORD = 'correct-horse-battery';

/** Two documents whose wording the questions below share (the offline embedder matches words). */
export const TEA_GUIDE = {
  file_name: 'tea.md',
  doc_path: 'guides/tea.md',
  content_type: 'text/markdown' as const,
  content: [
    '# Brewing green tea',
    '',
    'Green tea is brewed with water at 80 degrees Celsius for two to three minutes. Boiling water makes green tea bitter.',
    '',
    '# Brewing black tea',
    '',
    'Black tea is brewed with boiling water for four to five minutes. Milk and sugar are optional.',
    '',
  ].join('\n'),
};

export const COFFEE_NOTES = {
  file_name: 'coffee.txt',
  doc_path: 'notes/coffee.txt',
  content_type: 'text/plain' as const,
  content:
    'Espresso is pressed through finely ground coffee at nine bars of pressure in about thirty seconds.',
};

/** Shares "green tea is brewed" with the tea guide: cosine ≈ 0.47 against the default 0.3. */
export const QUESTION = 'How long is green tea brewed?';
export const FOLLOW_UP = 'At what temperature is green tea brewed?';
/** Shares no word with either document: the best candidate comes back with success false. */
export const OFF_TOPIC = 'Who won the chess championship in Reykjavik?';

export const PERSONA = {
  persona_name: 'Tea sommelier',
  description: 'Knows how to brew tea',
  system_prompt: 'You are a tea sommelier. Answer briefly and name your source.',
  temperature: 0.2,
};
