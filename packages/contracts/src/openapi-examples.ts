import type { TextDocumentUpload } from './collections/document-schemas';
import type { RouterInputs } from './root';

/**
 * Examples for path and query parameters, by name (a name means the same on every route). Ids
 * cannot be known before the server made them: their examples show the form, and the
 * description says where a real one comes from. Collection names are the ones the request
 * examples create, so a reader trying the routes from /docs in order gets answers, not 404s.
 */
export const PARAMETER_EXAMPLES: Record<
  string,
  { example: unknown; description: string; deprecated?: true }
> = {
  persona_id: {
    example: '3f0c6a52-8d1e-4b7a-9c2f-6e5d4b3a2c10',
    description: 'A persona id, from `POST /personas/build` or `GET /personas`',
  },
  name: {
    example: 'tea-guides',
    description: 'A collection name, as created with `POST /collections`',
  },
  document_id: {
    example: '9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d',
    description: 'A document id, from `POST /collections/{name}/documents` or its list',
  },
  id: {
    example: '5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9',
    description: 'A message history id, from a chat answer (`message_history_id`)',
  },
  user_id: {
    example: '7b8c9d0e-1f2a-4b3c-8d4e-5f6a7b8c9d0e',
    description: 'A user id, from `GET /users` (or `user_id` in a login answer)',
  },
  api_key_id: {
    example: '2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f',
    description: 'An API key id, from `POST /auth/api-keys` or `GET /auth/api-keys`',
  },
  limit: { example: 20, description: 'How many items at most (1–200, default 50)' },
  // No example for `cursor`: only a previous page's `next_cursor` is one.
  offset: {
    example: 0,
    description: 'Deprecated (use `cursor`): how many items to skip',
    deprecated: true,
  },
};

type Inputs = RouterInputs;

/**
 * One request body per operation that takes one, by procedure name, typed by the procedure's
 * input (less what travels in the path), so an example that no longer fits fails to compile.
 * In the order they succeed on a fresh server: register and log in (then an admin makes Ada a
 * builder), create the collection, add the document, search it, build the persona, chat.
 */
export const REQUEST_EXAMPLES = {
  'auth.register': {
    email: 'ada@example.com',
    password: 'correct horse battery',
    name: 'Ada',
  } satisfies Inputs['auth']['register'],
  'auth.login': {
    email: 'ada@example.com',
    password: 'correct horse battery',
  } satisfies Inputs['auth']['login'],
  'auth.createApiKey': {
    name: 'ci',
    expires_in_days: 30,
    scopes: ['chat'],
  } satisfies Inputs['auth']['createApiKey'],
  'users.setRole': { role: 'builder' } satisfies Omit<Inputs['users']['setRole'], 'user_id'>,
  'users.setQuota': { daily_token_limit: 200_000 } satisfies Omit<
    Inputs['users']['setQuota'],
    'user_id'
  >,
  'collections.create': {
    name: 'tea-guides',
    description: 'How to brew tea',
    visibility: 'shared',
  } satisfies Inputs['collections']['create'],
  'collections.addDocument': {
    file_name: 'green-tea.md',
    doc_path: 'guides/green-tea.md',
    content:
      '# Brewing green tea\n\nGreen tea is brewed with water at 80 degrees Celsius for two to three minutes. Boiling water makes green tea bitter.\n',
    content_type: 'text/markdown',
    attributes: { lang: 'en', topic: 'green tea' },
  } satisfies TextDocumentUpload,
  'collections.search': {
    query: 'How long is green tea brewed?',
    top_k: 3,
    metric: 'cosine',
    mode: 'hybrid',
  } satisfies Omit<Inputs['collections']['search'], 'name'>,
  'personas.build': {
    persona_name: 'Tea sommelier',
    description: 'Knows how to brew tea',
    system_prompt: 'You are a tea sommelier. Answer briefly and name your source.',
    temperature: 0.2,
    visibility: 'public',
    rag: { db_collections: ['tea-guides'], top_k: 3 },
  } satisfies Inputs['personas']['build'],
  'personas.update': {
    description: 'Knows how to brew green and black tea',
    temperature: 0.3,
  } satisfies Omit<Inputs['personas']['update'], 'persona_id'>,
  // Without `message_history_id` a new conversation starts (an id from an earlier answer
  // continues that one).
  'chat.send': {
    content: 'How long is green tea brewed?',
  } satisfies Omit<Inputs['chat']['send'], 'persona_id'>,
  'chat.updateHistory': {
    title: 'Brewing green tea',
    description: 'Times and temperatures',
  } satisfies Omit<Inputs['chat']['updateHistory'], 'id'>,
} as const;
