export type { ChatStreamEvent, ChatStreamInput, ChatStreamOptions } from './chat-stream';
export {
  createPersonasClient,
  type PersonasClient,
  type PersonasClientOptions,
  type PersonasTRPCClient,
} from './client';
export {
  PersonasError,
  type PersonasErrorCode,
  type PersonasErrorOptions,
  type PersonasIssue,
} from './errors';
export { paginate } from './paginate';
export type { PersonasRouter, RouterInputs, RouterOutputs } from './router';
export { readServerSentEvents, type SseMessage } from './sse';
